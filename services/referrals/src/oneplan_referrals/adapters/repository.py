"""The read models of the referrals service: the projections the kit runs after each command
(in its transaction), and the queries the routes need. Nothing here commits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from oneplan_events.decider import Aggregate
from oneplan_events.store import RecordedEvent
from oneplan_referrals.adapters.tables import (
    AdviceTaskRow,
    ClinicalNoteRow,
    KnownChildRow,
    ReferralRow,
)
from oneplan_referrals.domain.advice import ADVICE, AdviceTask
from oneplan_referrals.domain.commands import AdviceCommand, ReferralCommand
from oneplan_referrals.domain.referral import (
    REFERRAL,
    Appointment,
    AppointmentStatus,
    Referral,
    ReferralStatus,
)
from oneplan_referrals.events import CancelledBy, DischargeOutcome, Urgency

__all__ = [
    "ADVICE_TASKS",
    "REFERRALS",
    "add_clinical_note",
    "advice_task_row",
    "advice_tasks",
    "all_referrals",
    "child_is_known",
    "clinical_notes",
    "count_referrals",
    "earlier_advice",
    "referral_from_state",
    "referrals_of_child",
    "remember_child",
    "seen",
    "set_question",
    "state_json",
    "waiting_list",
]


# -- referrals --------------------------------------------------------------------------------


def state_json(referral: Referral) -> dict[str, Any]:
    """The referral's state as the row's JSON."""

    def plain(value: Any) -> Any:
        if isinstance(value, UUID | date):
            return str(value)
        if isinstance(value, tuple | list):
            return [plain(item) for item in value]
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        return value

    return {key: plain(value) for key, value in dataclasses.asdict(referral).items()}


def _day(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(value)


def referral_from_state(state: dict[str, Any]) -> Referral:
    """A referral from its row's JSON state."""
    appointments = tuple(
        Appointment(
            appointment_id=UUID(a["appointment_id"]),
            booked_on=date.fromisoformat(a["booked_on"]),
            appointment_on=date.fromisoformat(a["appointment_on"]),
            status=AppointmentStatus(a["status"]),
            cancelled_by=CancelledBy(a["cancelled_by"]) if a["cancelled_by"] else None,
            cancelled_on=_day(a["cancelled_on"]),
        )
        for a in state["appointments"]
    )
    return Referral(
        referral_id=UUID(state["referral_id"]),
        child_id=UUID(state["child_id"]),
        service_id=UUID(state["service_id"]),
        referrer_agency=state["referrer_agency"],
        urgency=Urgency(state["urgency"]),
        received_on=date.fromisoformat(state["received_on"]),
        status=ReferralStatus(state["status"]),
        redirected_from=tuple(UUID(s) for s in state["redirected_from"]),
        accepted_on=_day(state["accepted_on"]),
        closed_on=_day(state["closed_on"]),
        outcome=DischargeOutcome(state["outcome"]) if state["outcome"] else None,
        signposted_to=tuple(UUID(s) for s in state["signposted_to"]),
        appointments=appointments,
        version=state["version"],
    )


def seen(referral: Referral) -> bool:
    """Whether the child attended an appointment of the referral (off the waiting list)."""
    return any(a.status is AppointmentStatus.ATTENDED for a in referral.appointments)


async def project_referral(
    session: AsyncSession, referral: Referral | None, recorded: Sequence[RecordedEvent]
) -> None:
    """Bring the referral's row to `referral` (in the command's transaction)."""
    if referral is None:
        return
    await session.merge(
        ReferralRow(
            referral_id=referral.referral_id,
            child_id=referral.child_id,
            service_id=referral.service_id,
            status=referral.status.value,
            open=referral.status.open,
            waiting=referral.status.open and not seen(referral),
            received_on=referral.received_on,
            state=state_json(referral),
            version=referral.version,
        )
    )


REFERRALS: Aggregate[Referral | None, ReferralCommand] = Aggregate(REFERRAL, project_referral)
"""Referrals as the kit runs them: the decider and its projection."""


async def waiting_list(
    session: AsyncSession, *, service_id: UUID | None = None, limit: int, offset: int = 0
) -> list[dict[str, Any]]:
    """A page of the waiting list as the rows' JSON states (no ORM objects: the worklist's
    hot path), longest waiting first."""
    query = select(ReferralRow.state).where(ReferralRow.waiting.is_(True))
    if service_id is not None:
        query = query.where(ReferralRow.service_id == service_id)
    query = query.order_by(ReferralRow.received_on, ReferralRow.referral_id)
    return list((await session.execute(query.limit(limit).offset(offset))).scalars())


async def all_referrals(
    session: AsyncSession, *, service_id: UUID | None = None
) -> Sequence[ReferralRow]:
    """Every referral (one service's when asked), oldest first: what the report counts."""
    query = select(ReferralRow)
    if service_id is not None:
        query = query.where(ReferralRow.service_id == service_id)
    return (await session.scalars(query.order_by(ReferralRow.received_on))).all()


async def count_referrals(
    session: AsyncSession, *, waiting_only: bool, service_id: UUID | None = None
) -> int:
    """How many referrals (only the waiting list's when asked)."""
    query = select(func.count()).select_from(ReferralRow)
    if waiting_only:
        query = query.where(ReferralRow.waiting.is_(True))
    if service_id is not None:
        query = query.where(ReferralRow.service_id == service_id)
    return int((await session.execute(query)).scalar_one())


async def referrals_of_child(session: AsyncSession, child_id: UUID) -> Sequence[ReferralRow]:
    """A child's referrals, oldest first."""
    rows = await session.scalars(
        select(ReferralRow)
        .where(ReferralRow.child_id == child_id)
        .order_by(ReferralRow.received_on, ReferralRow.referral_id)
    )
    return rows.all()


async def add_clinical_note(
    session: AsyncSession,
    referral: Referral,
    kind: str,
    text: str,
    written_by: str,
    written_at: datetime,
) -> None:
    """Keep a piece of clinical narrative about the referral (never published)."""
    session.add(
        ClinicalNoteRow(
            note_id=uuid4(),
            referral_id=referral.referral_id,
            child_id=referral.child_id,
            kind=kind,
            text=text,
            written_by=written_by,
            written_at=written_at,
        )
    )


async def clinical_notes(session: AsyncSession, referral_id: UUID) -> Sequence[ClinicalNoteRow]:
    """The referral's clinical narrative, oldest first."""
    rows = await session.scalars(
        select(ClinicalNoteRow)
        .where(ClinicalNoteRow.referral_id == referral_id)
        .order_by(ClinicalNoteRow.written_at, ClinicalNoteRow.note_id)
    )
    return rows.all()


# -- children ---------------------------------------------------------------------------------


async def remember_child(session: AsyncSession, child_id: UUID, date_of_birth: date) -> None:
    """Record (or refresh) a child the children service registered."""
    await session.merge(KnownChildRow(child_id=child_id, date_of_birth=date_of_birth))


async def child_is_known(session: AsyncSession, child_id: UUID) -> bool:
    """Whether the children service registered this child."""
    return await session.get(KnownChildRow, child_id) is not None


# -- health advice ----------------------------------------------------------------------------


async def project_advice(
    session: AsyncSession, task: AdviceTask | None, recorded: Sequence[RecordedEvent]
) -> None:
    """Bring the advice task's row to `task`, keeping the authority's question."""
    if task is None:
        return
    row = await session.get(AdviceTaskRow, task.advice_request_id)
    if row is None:
        row = AdviceTaskRow(advice_request_id=task.advice_request_id, question=None)
        session.add(row)
    row.assessment_id = task.assessment_id
    row.child_id = task.child_id
    row.requested_on = task.requested_on
    row.due_on = task.due_on
    row.submitted_on = task.submitted_on
    row.version = task.version


ADVICE_TASKS: Aggregate[AdviceTask | None, AdviceCommand] = Aggregate(ADVICE, project_advice)
"""Health advice tasks as the kit runs them."""


async def set_question(session: AsyncSession, advice_request_id: UUID, question: str) -> None:
    """Keep what the authority asked (from its request) beside the task."""
    row = await session.get(AdviceTaskRow, advice_request_id)
    if row is not None:
        row.question = question


async def advice_task_row(session: AsyncSession, advice_request_id: UUID) -> AdviceTaskRow | None:
    """One task's row."""
    return await session.get(AdviceTaskRow, advice_request_id)


async def advice_tasks(
    session: AsyncSession, *, open_only: bool, child_id: UUID | None = None
) -> Sequence[AdviceTaskRow]:
    """Tasks, soonest due first."""
    query = select(AdviceTaskRow)
    if open_only:
        query = query.where(AdviceTaskRow.submitted_on.is_(None))
    if child_id is not None:
        query = query.where(AdviceTaskRow.child_id == child_id)
    query = query.order_by(AdviceTaskRow.due_on, AdviceTaskRow.advice_request_id)
    return (await session.scalars(query)).all()


async def earlier_advice(
    session: AsyncSession, child_id: UUID, before: UUID
) -> Sequence[AdviceTaskRow]:
    """The child's submitted health advice other than `before`, newest first: what may be
    offered for reuse (Regulation 6(4))."""
    rows = await session.scalars(
        select(AdviceTaskRow)
        .where(
            AdviceTaskRow.child_id == child_id,
            AdviceTaskRow.submitted_on.is_not(None),
            AdviceTaskRow.advice_request_id != before,
        )
        .order_by(AdviceTaskRow.submitted_on.desc(), AdviceTaskRow.advice_request_id)
    )
    return rows.all()
