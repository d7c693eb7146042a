"""The read models of the referrals service: the projections the kit runs after each command
(in its transaction), and the queries the routes need. Nothing here commits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Date, Integer, Uuid, and_, bindparam, case, func, or_, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from oneplan_events.decider import Aggregate
from oneplan_events.store import RecordedEvent
from oneplan_referrals.adapters.tables import (
    AdviceTaskRow,
    ChildStoryRow,
    ClinicalNoteRow,
    DirectoryServiceRow,
    KnownChildRow,
    ReferralRow,
)
from oneplan_referrals.domain.advice import ADVICE, AdviceTask
from oneplan_referrals.domain.commands import AdviceCommand, DirectoryCommand, ReferralCommand
from oneplan_referrals.domain.directory import Directory
from oneplan_referrals.domain.listing import LISTING, ListedService
from oneplan_referrals.domain.referral import (
    REFERRAL,
    Appointment,
    AppointmentStatus,
    Referral,
    ReferralStatus,
)
from oneplan_referrals.domain.waits import (
    BANDS,
    EIGHTEEN_WEEKS,
    WARNING,
    WaitingFigures,
    booked_dates,
    first_seen_on,
)
from oneplan_referrals.events import CancelledBy, DirectoryEntry, DischargeOutcome, Urgency

__all__ = [
    "ADVICE_TASKS",
    "DIRECTORY",
    "REFERRALS",
    "WaitingRow",
    "add_clinical_note",
    "advice_task_row",
    "advice_tasks",
    "child_is_known",
    "child_story",
    "clinical_notes",
    "code_in_use",
    "count_waiting",
    "directory",
    "earlier_advice",
    "keep_story",
    "referral_columns",
    "referral_from_state",
    "referrals_of_child",
    "remember_child",
    "seen",
    "set_question",
    "state_json",
    "waiting_list",
    "waiting_report",
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


def referral_columns(referral: Referral) -> dict[str, Any]:
    """The referral's row as column values: what the projection writes."""
    booked = booked_dates(referral)
    return {
        "referral_id": referral.referral_id,
        "child_id": referral.child_id,
        "service_id": referral.service_id,
        "referrer_agency": referral.referrer_agency,
        "urgency": referral.urgency.value,
        "status": referral.status.value,
        "open": referral.status.open,
        "waiting": referral.status.open and not seen(referral),
        "received_on": referral.received_on,
        "breach_on": referral.received_on + EIGHTEEN_WEEKS,
        "first_seen_on": first_seen_on(referral),
        "earliest_booked_on": booked[0] if booked else None,
        "booked_dates": " ".join(on.isoformat() for on in booked),
        "state": state_json(referral),
        "version": referral.version,
    }


async def project_referral(
    session: AsyncSession, referral: Referral | None, recorded: Sequence[RecordedEvent]
) -> None:
    """Bring the referral's row to `referral` (in the command's transaction)."""
    if referral is not None:
        await session.merge(ReferralRow(**referral_columns(referral)))


REFERRALS: Aggregate[Referral | None, ReferralCommand] = Aggregate(REFERRAL, project_referral)
"""Referrals as the kit runs them: the decider and its projection."""


@dataclass(frozen=True, slots=True)
class WaitingRow:
    """One referral of the waiting list as its row's columns hold it (no state decoded)."""

    referral_id: UUID
    child_id: UUID
    service_id: UUID
    service_name: str | None
    referrer_agency: str
    urgency: str
    status: str
    received_on: date
    booked: list[date]


def _waiting_rows(rows: Sequence[Any]) -> list[WaitingRow]:
    return [
        WaitingRow(
            row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
            [date.fromisoformat(on) for on in row[8].split()],
        )
        for row in rows
    ]  # fmt: skip


def _waiting_select(*extra: Any) -> Any:
    return select(
        ReferralRow.referral_id,
        ReferralRow.child_id,
        ReferralRow.service_id,
        DirectoryServiceRow.name,
        ReferralRow.referrer_agency,
        ReferralRow.urgency,
        ReferralRow.status,
        ReferralRow.received_on,
        ReferralRow.booked_dates,
        *extra,
    ).outerjoin(DirectoryServiceRow, DirectoryServiceRow.service_id == ReferralRow.service_id)


def _waiting(service_id: UUID | None) -> list[Any]:
    # The bare column, as the partial indexes' predicates are written (`waiting`, `waiting = 1`).
    where: list[Any] = [ReferralRow.waiting]
    if service_id is not None:
        where.append(ReferralRow.service_id == service_id)
    return where


def _waiting_list_query(by_service: bool, after: bool) -> Any:
    where: list[Any] = [ReferralRow.waiting]
    if by_service:
        where.append(ReferralRow.service_id == bindparam("service_id", type_=Uuid()))
    total = select(func.count()).select_from(ReferralRow).where(*where).scalar_subquery()
    if after:
        position = tuple_(bindparam("after_on", type_=Date()), bindparam("after_id", type_=Uuid()))
        where.append(tuple_(ReferralRow.received_on, ReferralRow.referral_id) > position)
    return (
        _waiting_select(total.label("total"))
        .where(*where)
        .order_by(ReferralRow.received_on, ReferralRow.referral_id)
        .limit(bindparam("limit", type_=Integer()))
    )


# Built once: the worklist is the service's busiest read.
_WAITING_LIST = {
    (by_service, after): _waiting_list_query(by_service, after)
    for by_service in (False, True)
    for after in (False, True)
}


async def waiting_list(
    session: AsyncSession,
    *,
    service_id: UUID | None = None,
    limit: int,
    after: tuple[date, UUID] | None = None,
) -> tuple[list[WaitingRow], int | None]:
    """A page of the waiting list, longest waiting first, after the keyset ``after``
    (received_on, referral_id), and the list's length, in one round trip (None when the
    page is empty: ask :func:`count_waiting`). Columns only, the service's name joined."""
    query = _WAITING_LIST[(service_id is not None, after is not None)]
    params: dict[str, Any] = {"limit": limit, "service_id": service_id}
    if after is not None:
        params["after_on"], params["after_id"] = after
    # Core rows (columns only): no ORM identity work for a page of plain values.
    connection = await session.connection()
    rows = (await connection.execute(query, params)).all()
    return _waiting_rows(rows), (int(rows[0][9]) if rows else None)


async def count_waiting(session: AsyncSession, *, service_id: UUID | None = None) -> int:
    """How many referrals are on the waiting list (one service's when asked)."""
    query = select(func.count()).select_from(ReferralRow).where(*_waiting(service_id))
    return int((await session.execute(query)).scalar_one())


def _in_band(today: date, low: int, high: int | None) -> Any:
    # Completed weeks in [low, high]: received in (today - (high + 1) weeks, today - low
    # weeks]; the newest band also holds anything received after today.
    received = ReferralRow.received_on
    condition = [received > today - timedelta(weeks=high + 1)] if high is not None else []
    if low:
        condition.append(received <= today - timedelta(weeks=low))
    return and_(true(), *condition)


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def waiting_report(
    session: AsyncSession, today: date, *, service_id: UUID | None = None
) -> tuple[WaitingFigures, list[WaitingRow]]:
    """The waiting report on ``today``, counted in SQL from the rows' columns (PostgreSQL
    and SQLite alike): the same figures as :func:`oneplan_referrals.domain.waits.
    waiting_figures` over the referrals themselves; and the flagged referrals' rows."""
    bands = [_count(_in_band(today, low, high)) for low, high, _ in BANDS]
    waiting_counts = (
        await session.execute(select(func.count(), *bands).where(*_waiting(service_id)))
    ).one()
    flagged = or_(
        ReferralRow.breach_on < today,
        ReferralRow.earliest_booked_on > ReferralRow.breach_on,
        and_(ReferralRow.earliest_booked_on.is_(None), ReferralRow.breach_on <= today + WARNING),
    )
    flagged_rows = _waiting_rows(
        (
            await session.execute(
                _waiting_select()
                .where(*_waiting(service_id), flagged)
                .order_by(ReferralRow.received_on, ReferralRow.referral_id)
            )
        ).all()
    )
    seen_where: list[Any] = [ReferralRow.first_seen_on.is_not(None)]
    if service_id is not None:
        seen_where.append(ReferralRow.service_id == service_id)
    seen_counts = (
        await session.execute(
            select(func.count(), _count(ReferralRow.first_seen_on <= ReferralRow.breach_on))
            .select_from(ReferralRow)
            .where(*seen_where)
        )
    ).one()
    figures = WaitingFigures(
        waiting=int(waiting_counts[0]),
        bands=tuple(
            (label, int(count))
            for (_, _, label), count in zip(BANDS, waiting_counts[1:], strict=True)
        ),
        flagged=tuple(row.referral_id for row in flagged_rows),
        first_seen=int(seen_counts[0]),
        first_seen_within_18_weeks=int(seen_counts[1]),
    )
    return figures, flagged_rows


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


# -- the directory ----------------------------------------------------------------------------


async def project_listing(
    session: AsyncSession, listed: ListedService | None, recorded: Sequence[RecordedEvent]
) -> None:
    """Bring the directory's row for the service to `listed`."""
    if listed is None:
        return
    entry = listed.entry
    await session.merge(
        DirectoryServiceRow(
            service_id=entry.id,
            code=entry.code,
            name=entry.name,
            entry=entry.model_dump(mode="json"),
            retired_on=listed.retired_on,
            version=listed.version,
        )
    )


DIRECTORY: Aggregate[ListedService | None, DirectoryCommand] = Aggregate(LISTING, project_listing)
"""The services of the directory as the kit runs them."""


async def directory(session: AsyncSession) -> Directory:
    """The directory as its records say now (retired services included, marked)."""
    query = select(DirectoryServiceRow.entry, DirectoryServiceRow.retired_on)
    rows = (await session.execute(query)).all()
    entries = [DirectoryEntry.model_validate(row[0]) for row in rows]
    retired = frozenset(e.id for e, row in zip(entries, rows, strict=True) if row[1] is not None)
    return Directory({entry.id: entry for entry in entries}, retired)


async def code_in_use(session: AsyncSession, code: str, service_id: UUID) -> bool:
    """Whether a service other than ``service_id`` has the code ``code``."""
    found = await session.scalar(
        select(DirectoryServiceRow.service_id).where(
            DirectoryServiceRow.code == code, DirectoryServiceRow.service_id != service_id
        )
    )
    return found is not None


# -- children ---------------------------------------------------------------------------------


async def remember_child(session: AsyncSession, child_id: UUID, date_of_birth: date) -> None:
    """Record (or refresh) a child the children service registered."""
    await session.merge(KnownChildRow(child_id=child_id, date_of_birth=date_of_birth))


async def child_is_known(session: AsyncSession, child_id: UUID) -> bool:
    """Whether the children service registered this child."""
    return await session.get(KnownChildRow, child_id) is not None


async def keep_story(
    session: AsyncSession, child_id: UUID, revision: int, story: dict[str, Any]
) -> bool:
    """Keep the child's story at ``revision`` unless a later one is kept already (False)."""
    row = await session.get(ChildStoryRow, child_id)
    if row is None:
        session.add(ChildStoryRow(child_id=child_id, revision=revision, story=story))
        return True
    if row.revision >= revision:
        return False
    row.revision = revision
    row.story = story
    return True


async def child_story(session: AsyncSession, child_id: UUID) -> ChildStoryRow | None:
    """The child's story as last published, if the children service published one."""
    return await session.get(ChildStoryRow, child_id)


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
