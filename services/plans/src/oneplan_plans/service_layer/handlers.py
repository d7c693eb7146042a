"""Use cases of the plans service that need more than one record's decider: what the children
events said about the child (the year group, the story, the age for reviews), or two records
in one transaction (the final plan ends the assessment and starts the plan). Handlers never
commit: the entrypoint's command (or the consumer's delivery) commits once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from uuid import UUID

from oneplan_events.decider import Outcome
from oneplan_events.uow import UnitOfWork
from oneplan_events.vocabulary import PlanSection
from oneplan_plans.adapters import repository
from oneplan_plans.adapters.repository import ASSESSMENTS, PLANS
from oneplan_plans.domain.assessment import Assessment, Stage
from oneplan_plans.domain.calendar import school_year
from oneplan_plans.domain.clock import next_review_due
from oneplan_plans.domain.commands import (
    AmendPlan,
    CompleteAssessment,
    IssueDraft,
    IssuePlan,
    ReceiveAdvice,
    RecordReview,
    RequestAdvice,
)
from oneplan_plans.domain.errors import NotRecorded, StepOutOfOrder
from oneplan_plans.domain.plan import Plan
from oneplan_plans.events import AdviceType, ReviewOutcome, Setting

__all__ = [
    "amend_plan",
    "issue_draft",
    "issue_final_plan",
    "receive_advice_from_agency",
    "record_review",
    "request_advice",
    "section_a_from_story",
]

# The parts of the child's story ("all about me") that section A (views, interests and
# aspirations) is drafted from, in the order the plan shows them.
_SECTION_A_PARTS = (
    ("like_and_admire", "What people like and admire about me"),
    ("important_now", "What is important to me now"),
    ("important_future", "What is important to me for the future"),
    ("aspirations", "My aspirations"),
    ("communication", "How I communicate"),
    ("what_helps", "What helps me"),
)
_SECTION_A_LIMIT = 4000


def section_a_from_story(story: Mapping[str, Any] | None) -> str | None:
    """Section A drafted from the child's own words (None: the story says nothing yet)."""
    if not story:
        return None
    lines = []
    for key, title in _SECTION_A_PARTS:
        part = story.get(key)
        if isinstance(part, Mapping) and isinstance(part.get("text"), str):
            lines.append(f"{title}: {part['text']}")
    text = "\n".join(lines)
    return text[:_SECTION_A_LIMIT] or None


async def _assessment(uow: UnitOfWork, assessment_id: UUID) -> Assessment:
    state, _ = await uow.load(ASSESSMENTS, assessment_id)
    if state is None:
        raise NotRecorded(f"no assessment {assessment_id}")
    return state


async def request_advice(
    uow: UnitOfWork,
    assessment_id: UUID,
    advice_request_id: UUID,
    *,
    agency: str,
    advice_type: AdviceType,
    requested_on: date,
    question: str | None,
    expected_version: int | None,
) -> Outcome[Assessment | None]:
    """Ask an agency for advice; the child's year group (from children events) decides
    whether preparing-for-adulthood advice may be sought yet."""
    state = await _assessment(uow, assessment_id)
    facts = await repository.child_facts(uow.session, state.child_id)
    year = school_year(facts.date_of_birth, requested_on) if facts is not None else None
    command = RequestAdvice(
        advice_request_id, agency, advice_type, requested_on, question, school_year=year
    )
    return await uow.execute(ASSESSMENTS, assessment_id, command, expected_version=expected_version)


async def issue_draft(
    uow: UnitOfWork,
    assessment_id: UUID,
    plan_id: UUID,
    *,
    issued_on: date,
    sections: Mapping[PlanSection, str],
    issued_by: str,
    expected_version: int | None,
) -> Outcome[Assessment | None]:
    """Send the draft plan; section A comes from the child's story unless given."""
    state = await _assessment(uow, assessment_id)
    drafted = dict(sections)
    if PlanSection.A not in drafted:
        facts = await repository.child_facts(uow.session, state.child_id)
        section_a = section_a_from_story(facts.story if facts else None)
        if section_a is not None:
            drafted[PlanSection.A] = section_a
    command = IssueDraft(plan_id, issued_on, drafted, issued_by)
    return await uow.execute(ASSESSMENTS, assessment_id, command, expected_version=expected_version)


async def issue_final_plan(
    uow: UnitOfWork,
    assessment_id: UUID,
    *,
    issued_on: date,
    setting: Setting,
    start_date: date | None,
    sections: Mapping[PlanSection, str] | None,
    issued_by: str,
    expected_version: int | None,
) -> tuple[Outcome[Assessment | None], Outcome[Plan | None]]:
    """End the assessment with the final plan and issue the plan (`plan.issued`), in one
    transaction; the first review is due 12 months on (6 under age 5)."""
    state = await _assessment(uow, assessment_id)
    if state.stage is not Stage.DRAFT_ISSUED or state.plan_id is None:
        raise StepOutOfOrder(
            f"the final plan needs the assessment to be draft_issued; it is {state.stage.value}"
        )
    final_sections = dict(state.sections) if sections is None else dict(sections)
    final_sections[PlanSection.I] = _section_i(setting)
    completed = await uow.execute(
        ASSESSMENTS,
        assessment_id,
        CompleteAssessment(issued_on, final_sections, issued_by),
        expected_version=expected_version,
    )
    facts = await repository.child_facts(uow.session, state.child_id)
    review_due, _ = next_review_due(issued_on, facts.date_of_birth if facts else None)
    issued = await uow.execute(
        PLANS,
        state.plan_id,
        IssuePlan(
            state.plan_id, assessment_id, state.child_id, issued_on, setting, start_date, review_due
        ),
    )
    return completed, issued


def _section_i(setting: Setting) -> str:
    parts = [setting.name]
    if setting.type is not None:
        parts.append(f"type: {setting.type.value}")
    if setting.urn is not None:
        parts.append(f"URN {setting.urn}")
    return "; ".join(parts)


async def amend_plan(
    uow: UnitOfWork, plan_id: UUID, command: AmendPlan, expected_version: int | None
) -> Outcome[Plan | None]:
    """Amend a final plan (`plan.amended`)."""
    return await uow.execute(PLANS, plan_id, command, expected_version=expected_version)


async def record_review(
    uow: UnitOfWork,
    plan_id: UUID,
    *,
    meeting_on: date,
    decided_on: date,
    outcome: ReviewOutcome,
    preparing_for_adulthood: bool,
    reasons: str | None,
    recorded_by: str,
    expected_version: int | None,
) -> Outcome[Plan | None]:
    """Record a review; the next one is due 12 months on (6 under age 5), and from Year 9 it
    must cover preparing for adulthood (the age facts from children events)."""
    plan, _ = await uow.load(PLANS, plan_id)
    if plan is None:
        raise NotRecorded(f"no plan {plan_id}")
    facts = await repository.child_facts(uow.session, plan.child_id)
    born = facts.date_of_birth if facts else None
    next_due, _ = next_review_due(meeting_on, born)
    command = RecordReview(
        meeting_on,
        decided_on,
        outcome,
        preparing_for_adulthood,
        recorded_by,
        next_due,
        reasons,
        school_year(born, meeting_on) if born else None,
    )
    return await uow.execute(PLANS, plan_id, command, expected_version=expected_version)


async def receive_advice_from_agency(
    uow: UnitOfWork,
    advice_request_id: UUID,
    submitted_on: date,
    source_event_id: UUID | None,
) -> bool:
    """Record advice an agency's `advice.submitted` event answered (False: not a request of
    ours, so nothing to record)."""
    assessment_id = await repository.assessment_for_advice_request(uow.session, advice_request_id)
    if assessment_id is None:
        return False
    command = ReceiveAdvice(advice_request_id, submitted_on, source_event_id, from_agency=True)
    await uow.execute(ASSESSMENTS, assessment_id, command)
    return True
