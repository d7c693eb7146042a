"""The read models of the plans service: the projections the kit runs after each command (in
its transaction, never committing), and the queries the routes need.

`ASSESSMENTS` and `PLANS` pair each decider with its projection, so the tables and the event
store never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from oneplan_events.decider import Aggregate
from oneplan_events.store import RecordedEvent
from oneplan_plans.adapters.tables import AssessmentRow, ChildFactsRow, ClockRow, PlanRow
from oneplan_plans.domain.assessment import ASSESSMENT, Assessment
from oneplan_plans.domain.clock import (
    DUE_SOON_DAYS,
    ClockKind,
    ClockStatus,
    assessment_clocks,
    status_of,
)
from oneplan_plans.domain.commands import AssessmentCommand, PlanCommand
from oneplan_plans.domain.plan import PLAN, Plan

__all__ = [
    "ASSESSMENTS",
    "PLANS",
    "assessment_for_advice_request",
    "assessments_of_child",
    "child_facts",
    "clock_worklist",
    "plans_of_child",
    "project_assessment",
    "project_plan",
    "upsert_child_facts",
]


async def project_assessment(
    session: AsyncSession, assessment: Assessment | None, recorded: Sequence[RecordedEvent]
) -> None:
    """Bring the assessment's row and its clock rows to `assessment`."""
    if assessment is None:
        return
    await session.merge(
        AssessmentRow(
            assessment_id=assessment.assessment_id,
            child_id=assessment.child_id,
            received_on=assessment.received_on,
            requested_by=assessment.requested_by,
            stage=assessment.stage.value,
            plan_id=assessment.plan_id,
            version=assessment.version,
        )
    )
    await session.execute(
        delete(ClockRow).where(ClockRow.assessment_id == assessment.assessment_id)
    )
    # The dates and how they were computed do not depend on the day they are read.
    clocks = assessment_clocks(assessment.timeline(), assessment.received_on)
    session.add_all(
        ClockRow(
            assessment_id=assessment.assessment_id,
            clock_key=clock.name.value
            if clock.advice_request_id is None
            else f"advice:{clock.advice_request_id}",
            child_id=assessment.child_id,
            name=clock.name.value,
            kind=clock.kind.value,
            label=clock.label,
            regulation=clock.regulation,
            agency=clock.agency,
            advice_request_id=clock.advice_request_id,
            starts_on=clock.starts_on,
            statutory_due_on=clock.statutory_due_on,
            due_on=clock.due_on,
            met_on=clock.met_on,
            how=clock.how,
            position=position,
        )
        for position, clock in enumerate(clocks)
    )
    await session.flush()


async def project_plan(
    session: AsyncSession, plan: Plan | None, recorded: Sequence[RecordedEvent]
) -> None:
    """Bring the plan's row to `plan`."""
    if plan is None:
        return
    setting = plan.setting
    await session.merge(
        PlanRow(
            plan_id=plan.plan_id,
            child_id=plan.child_id,
            assessment_id=plan.assessment_id,
            issued_on=plan.issued_on,
            setting_name=setting.name if setting else None,
            setting_urn=setting.urn if setting else None,
            setting_type=setting.type.value if setting and setting.type else None,
            start_date=plan.start_date,
            next_review_due_on=plan.next_review_due_on,
            amended_on=plan.amended_on,
            amendments=plan.amendments,
            last_reviewed_on=plan.last_reviewed_on,
            reviews=plan.reviews,
            ceasing=plan.ceasing,
            appeal_by=plan.appeal_by,
            version=plan.version,
        )
    )


ASSESSMENTS: Aggregate[Assessment | None, AssessmentCommand] = Aggregate(
    ASSESSMENT, project_assessment
)
"""Assessments as the kit runs them: the decider and its projection."""

PLANS: Aggregate[Plan | None, PlanCommand] = Aggregate(PLAN, project_plan)
"""Plans as the kit runs them."""


async def assessments_of_child(session: AsyncSession, child_id: UUID) -> Sequence[AssessmentRow]:
    """A child's assessments, oldest request first."""
    rows = await session.scalars(
        select(AssessmentRow)
        .where(AssessmentRow.child_id == child_id)
        .order_by(AssessmentRow.received_on, AssessmentRow.assessment_id)
    )
    return rows.all()


async def plans_of_child(session: AsyncSession, child_id: UUID) -> Sequence[PlanRow]:
    """A child's plans, oldest first."""
    rows = await session.scalars(
        select(PlanRow).where(PlanRow.child_id == child_id).order_by(PlanRow.issued_on)
    )
    return rows.all()


async def assessment_for_advice_request(
    session: AsyncSession, advice_request_id: UUID
) -> UUID | None:
    """The assessment that asked for this advice (None: not one of ours)."""
    result: UUID | None = await session.scalar(
        select(ClockRow.assessment_id).where(ClockRow.advice_request_id == advice_request_id)
    )
    return result


def _status_filter(status: ClockStatus, today: date) -> Any:
    soon = date.fromordinal(today.toordinal() + DUE_SOON_DAYS)
    deadline = ClockRow.kind == ClockKind.DEADLINE.value
    open_ = ClockRow.met_on.is_(None)
    match status:
        case ClockStatus.OVERDUE:
            return and_(deadline, open_, ClockRow.due_on < today)
        case ClockStatus.DUE_SOON:
            return and_(open_, ClockRow.due_on >= today, ClockRow.due_on <= soon)
        case ClockStatus.ON_TRACK:
            return and_(open_, ClockRow.due_on > soon)
        case ClockStatus.MET:
            return or_(
                and_(ClockRow.met_on.is_not(None), ClockRow.met_on <= ClockRow.due_on),
                and_(~deadline, ClockRow.met_on.is_not(None)),
                and_(~deadline, ClockRow.due_on < today),
            )
        case ClockStatus.MET_LATE:
            return and_(deadline, ClockRow.met_on > ClockRow.due_on)


async def clock_worklist(
    session: AsyncSession,
    today: date,
    *,
    status: ClockStatus | None,
    agency: str | None,
    limit: int,
) -> list[tuple[ClockRow, ClockStatus]]:
    """The clocks with `status` on `today` (every status: None), soonest due first."""
    query = select(ClockRow)
    if status is not None:
        query = query.where(_status_filter(status, today))
    if agency is not None:
        query = query.where(ClockRow.agency == agency)
    query = query.order_by(ClockRow.due_on, ClockRow.assessment_id, ClockRow.position).limit(limit)
    rows = (await session.scalars(query)).all()
    found = []
    for row in rows:
        row_status = status_of(row.due_on, row.met_on, today, ClockKind(row.kind))
        if status is None or row_status is status:
            found.append((row, row_status))
    return found


async def child_facts(session: AsyncSession, child_id: UUID) -> ChildFactsRow | None:
    """What the children events said about the child (None: nothing yet)."""
    return await session.get(ChildFactsRow, child_id)


async def upsert_child_facts(
    session: AsyncSession,
    child_id: UUID,
    date_of_birth: date,
    compulsory_school_age_ends_on: date,
    *,
    story: dict[str, Any] | None = None,
    story_revision: int | None = None,
    registered_at: datetime | None = None,
) -> None:
    """Keep the latest age facts (and the story, when the event carries one; the moment of
    registration, from the registration event)."""
    row = await session.get(ChildFactsRow, child_id)
    if row is None:
        row = ChildFactsRow(
            child_id=child_id,
            date_of_birth=date_of_birth,
            compulsory_school_age_ends_on=compulsory_school_age_ends_on,
        )
        session.add(row)
    row.date_of_birth = date_of_birth
    row.compulsory_school_age_ends_on = compulsory_school_age_ends_on
    if story is not None:
        row.story = story
        row.story_revision = story_revision
    if registered_at is not None:
        row.registered_at = registered_at
    await session.flush()
