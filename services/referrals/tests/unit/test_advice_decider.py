"""The health advice task decider: opened once per request, submitted once as two health
contributions (C and G, G agreed by the commissioner) and advice.submitted."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from oneplan_events.catalogue import DataClass, PlanSection
from oneplan_referrals.domain.advice import ADVICE, provision_text
from oneplan_referrals.domain.commands import OpenAdviceTask, SubmitAdvice
from oneplan_referrals.domain.errors import AlreadyRecorded, InvalidInput, NotFound
from oneplan_referrals.events import (
    CONTRIBUTIONS,
    AdviceSubmitted,
    AdviceTaskOpened,
    Author,
    Commissioner,
)
from oneplan_testkit.deciders import DEFAULT_NOW, DeciderSpec

REQUEST = UUID("5e000000-0000-4000-8000-000000000001")
ASSESSMENT = UUID("5a000000-0000-4000-8000-000000000001")
CHILD = UUID("0b6f3c1e-8d55-4a57-9d55-1f3f7b1f0c11")
NEEDS_ID = UUID("c0000000-0000-4000-8000-00000000000c")
PROVISION_ID = UUID("c0000000-0000-4000-8000-00000000000a")
AUTHOR = Author(name="Dr Ada Example", role="community paediatrician")
COMMISSIONER = Commissioner(name="Sam Example", organisation="Example Integrated Care Board")

opened = AdviceTaskOpened(
    advice_request_id=REQUEST,
    assessment_id=ASSESSMENT,
    child_id=CHILD,
    requested_on=date(2026, 2, 2),
    due_on=date(2026, 3, 16),
)


def submit(on: date = date(2026, 3, 1), reused_from: UUID | None = None) -> SubmitAdvice:
    return SubmitAdvice(
        author=AUTHOR,
        health_needs="Needs support with sensory regulation.",
        health_provision="Occupational therapy review each term.",
        outcomes=("Takes part in PE with adjustments",),
        commissioner=COMMISSIONER,
        submitted_on=on,
        submitted_by="clinician-1",
        health_needs_id=NEEDS_ID,
        health_provision_id=PROVISION_ID,
        reused_from=reused_from,
    )


def test_a_request_opens_a_task_due_six_weeks_later() -> None:
    command = OpenAdviceTask(REQUEST, ASSESSMENT, CHILD, date(2026, 2, 2))
    DeciderSpec(ADVICE).when(command).then(opened)


def test_the_same_request_again_changes_nothing() -> None:
    command = OpenAdviceTask(REQUEST, ASSESSMENT, CHILD, date(2026, 2, 2))
    DeciderSpec(ADVICE).given(opened).when(command).then_nothing()


def test_advice_nobody_asked_for_is_not_found() -> None:
    DeciderSpec(ADVICE).when(submit()).then_raises(NotFound, match="no such advice")


def test_submitting_publishes_health_contributions_to_c_and_g_then_advice_submitted() -> None:
    author = "Dr Ada Example (community paediatrician)"
    common = {"child_id": CHILD, "data_class": DataClass.HEALTH, "agency": "health"}
    DeciderSpec(ADVICE).given(opened).when(submit()).then(
        CONTRIBUTIONS.submitted(
            contribution_id=NEEDS_ID,
            section=PlanSection.C,
            title="Health needs (health advice for the EHC needs assessment)",
            content="Needs support with sensory regulation.",
            author=author,
            **common,
        ),
        CONTRIBUTIONS.submitted(
            contribution_id=PROVISION_ID,
            section=PlanSection.G,
            title="Health provision, agreed by the responsible commissioner",
            content="Occupational therapy review each term.\n\nAgreed by the responsible "
            "commissioner: Sam Example, Example Integrated Care Board.",
            outcomes=("Takes part in PE with adjustments",),
            author=author,
            **common,
        ),
        AdviceSubmitted(
            advice_request_id=REQUEST,
            assessment_id=ASSESSMENT,
            child_id=CHILD,
            submitted_on=date(2026, 3, 1),
            author=AUTHOR,
            contribution_ids=(NEEDS_ID, PROVISION_ID),
            provision_agreed_by=COMMISSIONER,
        ),
    )


def test_advice_is_submitted_once() -> None:
    submitted = DeciderSpec(ADVICE).given(opened).when(submit()).then_state()
    assert submitted is not None
    assert submitted.submitted
    earlier = list(ADVICE.decide(ADVICE.evolve(None, opened), submit(), DEFAULT_NOW))
    DeciderSpec(ADVICE).given(opened, *earlier).when(submit()).then_raises(AlreadyRecorded)


def test_advice_before_the_request_is_refused() -> None:
    spec = DeciderSpec(ADVICE).given(opened)
    error = spec.when(submit(on=date(2026, 2, 1))).then_raises(InvalidInput)
    assert isinstance(error, InvalidInput)
    assert error.field == "submitted_on"


def test_the_state_keeps_what_a_reuse_needs_and_lateness() -> None:
    state = DeciderSpec(ADVICE).given(opened).when(submit(on=date(2026, 3, 20))).then_state()
    assert state is not None
    assert (state.health_needs, state.health_provision, state.outcomes) == (
        "Needs support with sensory regulation.",
        "Occupational therapy review each term.",
        ("Takes part in PE with adjustments",),
    )
    assert state.late_by_days() == 4
    assert provision_text("X.", COMMISSIONER).startswith("X.\n\nAgreed by")
