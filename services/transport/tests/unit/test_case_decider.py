"""The case decider in given-events / when-command / then-events form: no database, no NATS."""

from __future__ import annotations

from datetime import date, time
from typing import Any
from uuid import UUID, uuid4, uuid5

import pytest

from oneplan_events.catalogue import PlanSection
from oneplan_testkit.deciders import DEFAULT_NOW, DeciderSpec, Decision
from oneplan_transport.domain.commands import (
    ApplyPlanAmendment,
    CancelArrangement,
    ChangeArrangement,
    ConcludeTravelTraining,
    DecideEligibility,
    MakeArrangement,
    OpenCaseFromPlan,
    RecordRiskAssessment,
    RecordTrainingSession,
    ReferTravelTraining,
    ReopenForAddressChange,
    RequestReview,
)
from oneplan_transport.domain.model import (
    CASE,
    ArrangementBeforeEligibility,
    ArrangementExists,
    CaseNotFound,
    CaseStatus,
    DecisionStands,
    NoArrangement,
    NoDecision,
    NoTraining,
    ReviewPending,
    TimesMakeNoSense,
    TrainingInProgress,
    case_id_for,
)
from oneplan_transport.events import (
    CONTRIBUTIONS,
    ArrangementDetails,
    ArrangementMade,
    CaseOpened,
    CaseReopened,
    CaseSetting,
    EligibilityDecided,
    EligibilityFacts,
    EligibilityGround,
    EligibilityOutcome,
    Mode,
    PlacementChanged,
    ReopenReason,
    ReviewRequested,
    RiskAssessmentRecorded,
    TrainingOutcome,
    TravelTrainingConcluded,
    TravelTrainingReferred,
    TravelTrainingSessionRecorded,
)

CHILD = UUID("0b6f3c1e-8d55-4a57-9d55-1f3f7b1f0c11")
CASE_ID = case_id_for(CHILD)
PLAN = UUID("7a0d3b52-8e4f-4f55-9c1a-2f4b6c8d0e12")
BROOK = CaseSetting(name="Brook Green School", urn="123456", type="state_special")
RIVER = CaseSetting(name="Riverside Academy", urn="654321", type="mainstream")
ISSUED = date(2026, 9, 1)
START = date(2026, 9, 21)
DECIDED_ON = date(2026, 9, 14)
SEVEN = date(2019, 5, 1)


def opened(setting: CaseSetting = BROOK) -> CaseOpened:
    return CaseOpened(
        case_id=CASE_ID,
        child_id=CHILD,
        plan_id=PLAN,
        plan_issued_on=ISSUED,
        setting=setting,
        start_date=START,
        opened_at=DEFAULT_NOW,
    )


def issue(setting: CaseSetting | None = BROOK) -> OpenCaseFromPlan:
    return OpenCaseFromPlan(CASE_ID, CHILD, PLAN, ISSUED, setting, START)


def amend(setting: CaseSetting | None, start: date | None = None) -> ApplyPlanAmendment:
    return ApplyPlanAmendment(CASE_ID, CHILD, PLAN, date(2026, 10, 5), setting, start)


def decide_on(miles: float = 2.5, decided_on: date = DECIDED_ON) -> DecideEligibility:
    return DecideEligibility(
        decision_id=UUID("00000000-0000-4000-8000-000000000001"),
        facts=EligibilityFacts(distance_miles=miles),
        decided_on=decided_on,
        decided_by="officer-1",
        date_of_birth=SEVEN,
        compulsory_school_age_ends_on=date(2035, 6, 29),
        target_working_days=10,
    )


def decided(miles: float = 2.5) -> EligibilityDecided:
    [event] = decided_events(DeciderSpec(CASE).given(opened()).when(decide_on(miles)))
    return event  # type: ignore[no-any-return]


def details(**changes: Any) -> ArrangementDetails:
    values: dict[str, Any] = {
        "modes": (Mode.TAXI, Mode.PASSENGER_ASSISTANT),
        "operator": "Shire Cars",
        "pick_up_time": time(8, 5),
        "drop_off_time": time(8, 40),
        "starts_on": START,
    }
    return ArrangementDetails(**(values | changes))


def arranged() -> ArrangementMade:
    return ArrangementMade(
        case_id=CASE_ID,
        child_id=CHILD,
        arrangement_id=UUID("00000000-0000-4000-8000-000000000002"),
        details=details(),
        made_on=DECIDED_ON,
        made_by="officer-1",
    )


def decided_events(decision: Decision[Any]) -> list[Any]:
    """The events a command decided, for assertions on some of their fields."""
    if decision.error is not None:
        raise AssertionError(f"the command was refused: {decision.error!r}") from decision.error
    return list(decision.events)


# --- cases opened by reactions ---------------------------------------------------------


def test_a_plan_naming_a_setting_opens_a_case_awaiting_eligibility() -> None:
    decision = DeciderSpec(CASE).when(issue())
    decision.then(opened())
    case = decision.then_state()
    assert case is not None
    assert case.status is CaseStatus.AWAITING_ELIGIBILITY


def test_a_plan_naming_no_setting_opens_nothing() -> None:
    DeciderSpec(CASE).when(issue(setting=None)).then_nothing()


def test_the_same_plan_again_never_opens_a_second_case() -> None:
    DeciderSpec(CASE).given(opened()).when(issue()).then_nothing()


def test_one_case_per_child_whatever_the_plan() -> None:
    assert case_id_for(CHILD) == CASE_ID != case_id_for(uuid4())


def test_an_amended_plan_with_a_new_setting_reopens_a_standing_decision() -> None:
    spec = DeciderSpec(CASE).given(opened(), decided())
    decision = spec.when(amend(RIVER))
    decision.then(
        PlacementChanged(
            case_id=CASE_ID,
            child_id=CHILD,
            plan_id=PLAN,
            amended_on=date(2026, 10, 5),
            setting=RIVER,
            start_date=START,
            setting_changed=True,
            decision_reopened=True,
        )
    )
    case = decision.then_state()
    assert case is not None
    assert (case.status, case.decision, case.setting) == (
        CaseStatus.AWAITING_ELIGIBILITY,
        None,
        RIVER,
    )


def test_an_amended_start_date_alone_keeps_the_decision() -> None:
    decision = DeciderSpec(CASE).given(opened(), decided()).when(amend(BROOK, date(2026, 11, 2)))
    [changed] = decided_events(decision)
    assert isinstance(changed, PlacementChanged)
    assert (changed.setting_changed, changed.decision_reopened) == (False, False)
    case = decision.then_state()
    assert case is not None
    assert case.decision is not None
    assert case.start_date == date(2026, 11, 2)


def test_an_amendment_that_changes_nothing_transport_needs_decides_nothing() -> None:
    DeciderSpec(CASE).given(opened()).when(amend(None)).then_nothing()
    DeciderSpec(CASE).given(opened()).when(amend(BROOK)).then_nothing()


def test_the_same_school_renamed_is_noted_without_reopening_the_decision() -> None:
    renamed = BROOK.model_copy(update={"name": "Brook Green Special School"})
    spec = DeciderSpec(CASE).given(opened(), decided())
    [changed] = decided_events(spec.when(amend(renamed)))
    assert isinstance(changed, PlacementChanged)
    assert (changed.setting, changed.setting_changed, changed.decision_reopened) == (
        renamed,
        False,
        False,
    )


def test_an_amended_plan_for_a_child_with_no_case_opens_one() -> None:
    [event] = decided_events(DeciderSpec(CASE).when(amend(RIVER)))
    assert isinstance(event, CaseOpened)
    assert event.setting == RIVER


def test_a_move_reopens_a_standing_decision_and_nothing_else() -> None:
    reopen = ReopenForAddressChange(CASE_ID)
    DeciderSpec(CASE).when(reopen).then_nothing()
    DeciderSpec(CASE).given(opened()).when(reopen).then_nothing()
    decision = DeciderSpec(CASE).given(opened(), decided()).when(reopen)
    decision.then(
        CaseReopened(
            case_id=CASE_ID,
            child_id=CHILD,
            reason=ReopenReason.ADDRESS_CHANGED,
            reopened_at=DEFAULT_NOW,
        )
    )
    case = decision.then_state()
    assert case is not None
    assert case.status is CaseStatus.AWAITING_ELIGIBILITY


# --- eligibility and review ------------------------------------------------------------


def test_the_decision_records_reasons_time_to_decide_and_the_review_deadline() -> None:
    event = decided()
    assert (event.outcome, event.grounds) == (
        EligibilityOutcome.ELIGIBLE,
        (EligibilityGround.BEYOND_WALKING_DISTANCE,),
    )
    assert (event.age_on_decision, event.walking_distance_miles) == (7, 2)
    assert (event.working_days_from_issue, event.within_target) == (9, True)
    # 20 working days after Monday 14 September 2026.
    assert event.review_request_by == date(2026, 10, 12)
    assert event.reassess_on == date(2027, 5, 1)
    assert event.plan_issued_on == ISSUED
    assert not event.on_review
    assert event.first_decision


def test_a_decision_after_the_target_says_so() -> None:
    late = decide_on(decided_on=date(2026, 9, 28))
    [event] = decided_events(DeciderSpec(CASE).given(opened()).when(late))
    assert (event.working_days_from_issue, event.within_target) == (19, False)


def test_a_decision_where_the_calendar_is_unknown_is_recorded_without_a_count() -> None:
    beyond = decide_on(decided_on=date(2029, 1, 8))
    [event] = decided_events(DeciderSpec(CASE).given(opened()).when(beyond))
    assert (event.working_days_from_issue, event.within_target) == (None, None)
    assert event.review_request_by == date(2029, 2, 5)


def test_a_standing_decision_is_not_decided_again() -> None:
    spec = DeciderSpec(CASE).given(opened(), decided())
    spec.when(decide_on()).then_raises(DecisionStands, match="reopens it")


def test_no_decision_on_a_case_that_does_not_exist() -> None:
    DeciderSpec(CASE).when(decide_on()).then_raises(CaseNotFound)


def test_the_family_asks_for_a_review_and_the_new_decision_answers_it() -> None:
    request = RequestReview(date(2026, 9, 20), "parent-1", "The route crosses the A38.")
    spec = DeciderSpec(CASE).given(opened(), decided(miles=1.5))
    [review] = decided_events(spec.when(request))
    assert isinstance(review, ReviewRequested)
    assert review.within_time
    under_review = DeciderSpec(CASE).given(opened(), decided(1.5), review)
    under_review.when(request).then_raises(ReviewPending)
    state = under_review.when(decide_on(miles=2.5)).then_state()
    assert state is not None
    assert state.status is CaseStatus.AWAITING_ARRANGEMENT
    [answer] = decided_events(under_review.when(decide_on(miles=2.5)))
    assert answer.on_review
    assert not answer.first_decision  # not timed from the plan's issue in reports


def test_a_late_review_request_is_recorded_as_late() -> None:
    request = RequestReview(date(2026, 10, 13), "parent-1", "We moved the appointment.")
    spec = DeciderSpec(CASE).given(opened(), decided())
    [review] = decided_events(spec.when(request))
    assert not review.within_time


def test_no_review_without_a_decision() -> None:
    request = RequestReview(date(2026, 9, 20), "parent-1", "Please look again.")
    DeciderSpec(CASE).given(opened()).when(request).then_raises(NoDecision)


# --- risk assessments ------------------------------------------------------------------


def assess_risk() -> RecordRiskAssessment:
    return RecordRiskAssessment(
        risk_assessment_id=UUID("00000000-0000-4000-8000-000000000003"),
        assessed_on=date(2026, 9, 10),
        hazards=("Leaves the seat when anxious",),
        medical_needs="Epilepsy.",
        medical_handling="Buccal midazolam carried by the passenger assistant.",
        behaviour_support=None,
        seating_and_equipment="Five-point harness.",
        escort_needed=True,
        reviewer="Sam Reviewer",
        review_due_on=date(2027, 3, 10),
        recorded_by="officer-1",
    )


def test_a_risk_assessment_is_an_event_and_a_contribution_then_a_revision() -> None:
    spec = DeciderSpec(CASE).given(opened())
    recorded, submitted = decided_events(spec.when(assess_risk()))
    assert isinstance(recorded, RiskAssessmentRecorded)
    assert recorded.escort_needed
    assert isinstance(submitted, CONTRIBUTIONS.submitted)
    assert (submitted.section, submitted.data_class.value, submitted.agency) == (
        PlanSection.K,
        "transport",
        "transport",
    )
    assert "Buccal midazolam" in submitted.content
    assert "Escort" in submitted.content
    again = DeciderSpec(CASE).given(opened(), recorded, submitted).when(assess_risk())
    _, revised = decided_events(again)
    assert isinstance(revised, CONTRIBUTIONS.revised)
    assert revised.contribution_id == submitted.contribution_id
    state = again.then_state()
    assert state is not None
    assert state.risk_assessments == 2


# --- arrangements ----------------------------------------------------------------------


def make() -> MakeArrangement:
    return MakeArrangement(arranged().arrangement_id, details(), DECIDED_ON, "officer-1")


def test_an_eligible_child_gets_an_arrangement() -> None:
    decision = DeciderSpec(CASE).given(opened(), decided()).when(make())
    decision.then(arranged())
    state = decision.then_state()
    assert state is not None
    assert state.status is CaseStatus.ARRANGED


@pytest.mark.parametrize("given", ["nothing decided", "not eligible"])
def test_no_arrangement_before_eligibility(given: str) -> None:
    history = [opened()] if given == "nothing decided" else [opened(), decided(miles=1.0)]
    DeciderSpec(CASE).given(*history).when(make()).then_raises(
        ArrangementBeforeEligibility, match="decided eligible"
    )


def test_a_second_arrangement_is_a_change_not_a_new_one() -> None:
    DeciderSpec(CASE).given(opened(), decided(), arranged()).when(make()).then_raises(
        ArrangementExists
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"drop_off_time": time(8, 0)}, "drop_off_time"),
        ({"pick_up_time": None}, "pick_up_time"),
        ({"modes": (Mode.BUS_PASS,), "drop_off_time": None}, "drop_off_time"),
    ],
)
def test_times_that_make_no_sense_are_refused(changes: dict[str, Any], field: str) -> None:
    bad = MakeArrangement(uuid4(), details(**changes), DECIDED_ON, "officer-1")
    error = DeciderSpec(CASE).given(opened(), decided()).when(bad).then_raises(TimesMakeNoSense)
    assert isinstance(error, TimesMakeNoSense)
    assert error.field == field


def test_a_bus_pass_needs_no_times() -> None:
    plain = details(modes=(Mode.BUS_PASS,), pick_up_time=None, drop_off_time=None, operator=None)
    command = MakeArrangement(uuid4(), plain, DECIDED_ON, "officer-1")
    decided_events(DeciderSpec(CASE).given(opened(), decided()).when(command))


def test_the_current_arrangement_changes_and_is_cancelled() -> None:
    spec = DeciderSpec(CASE).given(opened(), decided(), arranged())
    change = ChangeArrangement(details(operator="County Minibus"), "Operator changed.", START, "o")
    changed = spec.when(change).then_state()
    assert changed is not None
    assert changed.arrangement is not None
    assert changed.arrangement.details.operator == "County Minibus"
    assert changed.arrangement.changed_on == START
    cancel = CancelArrangement(date(2026, 12, 18), "Moved out of county.", "officer-1")
    cancelled = spec.when(cancel).then_state()
    assert cancelled is not None
    assert cancelled.arrangement is None
    assert cancelled.status is CaseStatus.AWAITING_ARRANGEMENT


def test_nothing_to_change_or_cancel_without_an_arrangement() -> None:
    spec = DeciderSpec(CASE).given(opened(), decided())
    spec.when(ChangeArrangement(details(), "x", START, "o")).then_raises(NoArrangement)
    spec.when(CancelArrangement(START, "x", "o")).then_raises(NoArrangement)


# --- independent travel training -------------------------------------------------------

TRAINING = UUID("00000000-0000-4000-8000-000000000004")


def referred() -> TravelTrainingReferred:
    return TravelTrainingReferred(
        case_id=CASE_ID,
        child_id=CHILD,
        training_id=TRAINING,
        referred_on=DECIDED_ON,
        goal="Take the 42 bus to college alone.",
        referred_by="officer-1",
    )


def session() -> TravelTrainingSessionRecorded:
    return TravelTrainingSessionRecorded(
        case_id=CASE_ID,
        child_id=CHILD,
        training_id=TRAINING,
        session_on=date(2026, 9, 16),
        trainer="Alex Trainer",
        recorded_by="officer-1",
    )


def conclude(outcome: TrainingOutcome) -> ConcludeTravelTraining:
    return ConcludeTravelTraining(outcome, date(2026, 11, 2), None, "officer-1")


def test_training_runs_from_referral_through_sessions_to_a_completion_in_the_plan() -> None:
    refer = ReferTravelTraining(
        TRAINING, DECIDED_ON, "Take the 42 bus to college alone.", "officer-1"
    )
    DeciderSpec(CASE).given(opened()).when(refer).then(referred())
    record = RecordTrainingSession(date(2026, 9, 16), "Alex Trainer", None, "officer-1")
    DeciderSpec(CASE).given(opened(), referred()).when(record).then(session())
    spec = DeciderSpec(CASE).given(opened(), referred(), session(), session())
    completed = spec.when(conclude(TrainingOutcome.COMPLETED_SUCCESSFULLY))
    concluded, contribution = decided_events(completed)
    assert isinstance(concluded, TravelTrainingConcluded)
    assert concluded.sessions == 2
    assert isinstance(contribution, CONTRIBUTIONS.submitted)
    assert contribution.section == PlanSection.E
    assert contribution.contribution_id == uuid5(TRAINING, "completion")
    assert "Preparing for adulthood" in contribution.outcomes[0]
    state = spec.when(conclude(TrainingOutcome.COMPLETED_SUCCESSFULLY)).then_state()
    assert state is not None
    assert state.trainings_completed == 1


def test_a_withdrawal_is_no_completion_and_adds_nothing_to_the_plan() -> None:
    spec = DeciderSpec(CASE).given(opened(), referred())
    [concluded] = decided_events(spec.when(conclude(TrainingOutcome.WITHDRAWN)))
    assert isinstance(concluded, TravelTrainingConcluded)
    state = spec.when(conclude(TrainingOutcome.WITHDRAWN)).then_state()
    assert state is not None
    assert state.trainings_completed == 0


def test_training_needs_a_referral_and_one_at_a_time() -> None:
    record = RecordTrainingSession(date(2026, 9, 16), "Alex Trainer", None, "officer-1")
    DeciderSpec(CASE).given(opened()).when(record).then_raises(NoTraining)
    DeciderSpec(CASE).given(opened()).when(conclude(TrainingOutcome.WITHDRAWN)).then_raises(
        NoTraining
    )
    refer = ReferTravelTraining(uuid4(), DECIDED_ON, "Again.", "officer-1")
    DeciderSpec(CASE).given(opened(), referred()).when(refer).then_raises(TrainingInProgress)
