"""The read models of the transport service: the projection the kit runs after each case
command, the child facts the children service's events bring, and the queries.

`CASES` pairs the decider with `project_case`: the kit appends the events, evolves the case and
calls the projection in the same transaction, so the worklist and the event store never
disagree.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import case, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from oneplan_events.decider import Aggregate
from oneplan_events.store import RecordedEvent
from oneplan_transport.adapters.tables import CaseRow, ChildFactsRow, DecisionRow
from oneplan_transport.domain.commands import Command
from oneplan_transport.domain.model import CASE, Case, CaseStatus
from oneplan_transport.events import EligibilityDecided

__all__ = [
    "CASES",
    "child_facts",
    "first_decisions_between",
    "project_case",
    "upsert_child_facts",
    "worklist",
]


async def project_case(
    session: AsyncSession, state: Case | None, recorded: Sequence[RecordedEvent]
) -> None:
    """Bring the case's worklist row to `state` (in the command's transaction; never commits)."""
    if state is None:
        return
    row = {
        "case_id": state.case_id,
        "child_id": state.child_id,
        "status": state.status.value,
        "setting_name": state.setting.name,
        "setting_urn": state.setting.urn,
        "start_date": state.start_date,
        "plan_issued_on": state.plan_issued_on,
        "has_arrangement": state.arrangement is not None,
        "decided_on": state.decision.decided_on if state.decision is not None else None,
        "opened_at": state.opened_at,
        "version": state.version,
    }
    # One upsert statement, built once per dialect (a burst of plans opens thousands of
    # cases: no SELECT first, no statement compiled per event).
    await session.execute(_case_upsert(session.get_bind().dialect.name), row)
    for item in recorded:
        if isinstance(item.event, EligibilityDecided):
            session.add(_decision_row(item.event))


def _decision_row(event: EligibilityDecided) -> DecisionRow:
    return DecisionRow(
        decision_id=event.decision_id,
        case_id=event.case_id,
        decided_on=event.decided_on,
        plan_issued_on=event.plan_issued_on,
        outcome=event.outcome.value,
        working_days_from_issue=event.working_days_from_issue,
        target_working_days=event.target_working_days,
        within_target=event.within_target,
        first_decision=event.first_decision,
        on_review=event.on_review,
    )


@functools.cache
def _case_upsert(dialect_name: str) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(CaseRow)
    columns = [column.name for column in CaseRow.__table__.columns if column.name != "case_id"]
    return statement.on_conflict_do_update(
        index_elements=[CaseRow.case_id],
        set_={name: statement.excluded[name] for name in columns},
    )


CASES: Aggregate[Case | None, Command] = Aggregate(CASE, project_case)
"""Transport cases as the kit runs them: the decider and its projection."""


async def worklist(
    session: AsyncSession, statuses: Sequence[CaseStatus], limit: int, offset: int
) -> Sequence[CaseRow]:
    """Cases by urgency: those with no arrangement first, then the nearest start date (no
    start date last), then the longest open."""
    query = select(CaseRow)
    if statuses:
        query = query.where(CaseRow.status.in_([status.value for status in statuses]))
    no_start = case((CaseRow.start_date.is_(None), 1), else_=0)
    rows = await session.scalars(
        query.order_by(
            CaseRow.has_arrangement,
            no_start,
            CaseRow.start_date,
            CaseRow.opened_at,
            CaseRow.case_id,
        )
        .limit(limit)
        .offset(offset)
    )
    return rows.all()


async def upsert_child_facts(
    session: AsyncSession, child_id: UUID, date_of_birth: date, ends_on: date
) -> None:
    """Keep the child's latest age facts (in the consumer's transaction)."""
    row = await session.get(ChildFactsRow, child_id)
    if row is None:
        session.add(
            ChildFactsRow(
                child_id=child_id,
                date_of_birth=date_of_birth,
                compulsory_school_age_ends_on=ends_on,
            )
        )
    else:
        row.date_of_birth = date_of_birth
        row.compulsory_school_age_ends_on = ends_on


async def child_facts(session: AsyncSession, child_id: UUID) -> ChildFactsRow | None:
    """What the children service told of the child's age, if anything."""
    return await session.get(ChildFactsRow, child_id)


async def first_decisions_between(
    session: AsyncSession, start: date, end: date
) -> list[tuple[int | None, bool | None]]:
    """Each case's first decision made from `start` to `end` (inclusive): its working days
    from the plan's issue and whether that was within its target."""
    rows = await session.execute(
        select(DecisionRow.working_days_from_issue, DecisionRow.within_target).where(
            DecisionRow.first_decision.is_(True),
            DecisionRow.decided_on >= start,
            DecisionRow.decided_on <= end,
        )
    )
    return [(days, within) for days, within in rows]
