"""A final EHC plan as a decider (streams `plan/<plan id>`): issued once, then amended.

Pure: the instant is an argument. The next review date is computed by the caller from the
clock engine (`next_review_due`), because it needs the child's date of birth, which the plan's
events do not carry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import assert_never
from uuid import UUID

from oneplan_events.catalogue import Event
from oneplan_events.clock import local_date
from oneplan_events.vocabulary import PlanSection
from oneplan_plans.domain.assessment import PFA_FROM_YEAR
from oneplan_plans.domain.clock import appeal_deadline, review_decision_due
from oneplan_plans.domain.commands import AmendPlan, IssuePlan, PlanCommand, RecordReview
from oneplan_plans.domain.errors import (
    AlreadyRecorded,
    Broken,
    NotRecorded,
    RulesBroken,
    StepOutOfOrder,
)
from oneplan_plans.events import PlanAmended, PlanIssued, ReviewOutcome, ReviewRecorded, Setting

__all__ = ["PLAN", "Plan", "PlanDecider"]


@dataclass(frozen=True, slots=True)
class Plan:
    """A plan after `version` events."""

    plan_id: UUID
    assessment_id: UUID | None
    child_id: UUID
    issued_on: date
    setting: Setting | None
    start_date: date | None
    next_review_due_on: date
    version: int
    amended_on: date | None = None
    amendments: int = 0
    last_reviewed_on: date | None = None
    reviews: int = 0
    ceasing: bool = False
    appeal_by: date | None = None


def decide(state: Plan | None, command: PlanCommand, now: datetime) -> Sequence[Event]:
    """The events that carry out `command` on `state`, or a DomainError."""
    today = local_date(now)
    match command:
        case IssuePlan():
            if state is not None:
                raise AlreadyRecorded(f"plan {command.plan_id} is issued already")
            return [
                PlanIssued(
                    plan_id=command.plan_id,
                    assessment_id=command.assessment_id,
                    child_id=command.child_id,
                    issued_on=command.issued_on,
                    setting=command.setting,
                    start_date=command.start_date,
                    next_review_due_on=command.next_review_due_on,
                )
            ]
        case AmendPlan():
            return _amend(state, command, today)
        case RecordReview():
            return _review(state, command, today)
        case _:
            assert_never(command)


def _amend(state: Plan | None, c: AmendPlan, today: date) -> list[Event]:
    if state is None:
        raise NotRecorded("no such plan")
    broken: list[Broken] = []
    last = state.amended_on or state.issued_on
    if c.amended_on < last:
        broken.append(
            Broken("amended_on", f"is before the plan's last change ({last.isoformat()})")
        )
    if c.amended_on > today:
        broken.append(Broken("amended_on", f"is in the future (today is {today.isoformat()})"))
    if c.notice_on is not None and c.notice_on > c.amended_on:
        broken.append(Broken("notice_on", "the amendment notice comes before the amended plan"))
    if PlanSection.I in c.changed_sections and c.setting is None:
        broken.append(Broken("setting", "a changed section I names the setting"))
    if c.setting is not None and PlanSection.I not in c.changed_sections:
        broken.append(Broken("changed_sections", "a new setting is a change of section I"))
    if broken:
        raise RulesBroken(broken)
    return [
        PlanAmended(
            plan_id=state.plan_id,
            child_id=state.child_id,
            amended_on=c.amended_on,
            setting=c.setting,
            start_date=c.start_date,
            changed_sections=list(dict.fromkeys(c.changed_sections)),
            notice_on=c.notice_on,
            amended_by=c.amended_by,
        )
    ]


def _review(state: Plan | None, c: RecordReview, today: date) -> list[Event]:
    if state is None:
        raise NotRecorded("no such plan")
    if state.ceasing:
        raise StepOutOfOrder(
            f"the authority decided to cease plan {state.plan_id}: no more reviews"
        )
    broken: list[Broken] = []
    last = state.last_reviewed_on or state.issued_on
    if c.meeting_on < last:
        broken.append(
            Broken("meeting_on", f"is before the last review or issue ({last.isoformat()})")
        )
    if c.meeting_on > today:
        broken.append(Broken("meeting_on", f"is in the future (today is {today.isoformat()})"))
    if c.decided_on < c.meeting_on:
        broken.append(Broken("decided_on", "is before the review meeting"))
    if c.decided_on > today:
        broken.append(Broken("decided_on", f"is in the future (today is {today.isoformat()})"))
    if (
        c.school_year is not None
        and c.school_year >= PFA_FROM_YEAR
        and not c.preparing_for_adulthood
    ):
        broken.append(
            Broken(
                "preparing_for_adulthood",
                f"from Year {PFA_FROM_YEAR} every review "
                f"covers preparing for adulthood (the child is in Year {c.school_year})",
            )
        )
    if broken:
        raise RulesBroken(broken)
    ceasing = c.outcome is ReviewOutcome.CEASE
    return [
        ReviewRecorded(
            plan_id=state.plan_id,
            child_id=state.child_id,
            meeting_on=c.meeting_on,
            decided_on=c.decided_on,
            decision_due_on=review_decision_due(c.meeting_on)[0],
            outcome=c.outcome,
            reasons=c.reasons,
            preparing_for_adulthood=c.preparing_for_adulthood,
            next_review_due_on=None if ceasing else c.next_review_due_on,
            appeal_by=appeal_deadline(c.decided_on)[0] if ceasing else None,
            recorded_by=c.recorded_by,
        )
    ]


def evolve(state: Plan | None, event: Event) -> Plan | None:
    """The plan after `event`."""
    match event:
        case PlanIssued():
            return Plan(
                event.plan_id,
                event.assessment_id,
                event.child_id,
                event.issued_on,
                event.setting,
                event.start_date,
                event.next_review_due_on,
                1,
            )
        case PlanAmended() if state is not None:
            return replace(
                state,
                setting=event.setting or state.setting,
                start_date=event.start_date or state.start_date,
                amended_on=event.amended_on,
                amendments=state.amendments + 1,
                version=state.version + 1,
            )
        case ReviewRecorded() if state is not None:
            return replace(
                state,
                last_reviewed_on=event.meeting_on,
                reviews=state.reviews + 1,
                next_review_due_on=event.next_review_due_on or state.next_review_due_on,
                ceasing=event.outcome is ReviewOutcome.CEASE,
                appeal_by=event.appeal_by,
                version=state.version + 1,
            )
    raise ValueError(f"{type(event).__name__} is not an event of this plan")


class PlanDecider:
    """A plan for the kit: streams `plan/<plan id>`."""

    stream_prefix = "plan"

    def initial_state(self) -> Plan | None:
        return None

    def decide(self, state: Plan | None, command: PlanCommand, now: datetime) -> Sequence[Event]:
        return decide(state, command, now)

    def evolve(self, state: Plan | None, event: Event) -> Plan | None:
        return evolve(state, event)


PLAN = PlanDecider()
"""A plan, as the kit runs it."""
