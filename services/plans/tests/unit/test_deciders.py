"""The assessment and plan deciders in given / when / then form: no database, no NATS."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest

from oneplan_events.vocabulary import PlanSection
from oneplan_plans.domain.assessment import ASSESSMENT, Stage
from oneplan_plans.domain.clock import ExceptionKind
from oneplan_plans.domain.commands import (
    AmendPlan,
    CompleteAssessment,
    DecideNotToIssue,
    DecideToAssess,
    IssueDraft,
    IssuePlan,
    ReceiveAdvice,
    RecordComments,
    RecordException,
    RecordMediationCertificate,
    RecordReview,
    RequestAdvice,
    RequestAssessment,
    ReuseAdvice,
)
from oneplan_plans.domain.errors import AlreadyRecorded, NotRecorded, RulesBroken, StepOutOfOrder
from oneplan_plans.domain.plan import PLAN
from oneplan_plans.events import (
    AdviceReceived,
    AdviceRequested,
    AdviceReused,
    AdviceType,
    AssessmentAgreed,
    AssessmentCompleted,
    AssessmentDeclined,
    AssessmentRequested,
    DraftCommented,
    DraftIssued,
    ExceptionRecorded,
    MediationCertificateRecorded,
    PlanAmended,
    PlanDeclined,
    PlanIssued,
    Requester,
    ReviewOutcome,
    ReviewRecorded,
    Setting,
    SettingType,
)
from oneplan_testkit.deciders import DeciderSpec

ASSESSMENT_ID = UUID("5d1b7a52-0b7e-4a43-8f3b-1d0e2f4a6b01")
CHILD = UUID("0b6f3c1e-8d55-4a57-9d55-1f3f7b1f0c11")
PLAN_ID = UUID("7e2c9d14-3a5b-4c6d-8e9f-0a1b2c3d4e5f")
REQUEST = UUID("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")
CASEWORKER = "caseworker-1"
NOW = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)  # "today" is 1 September 2026
SECTIONS = {PlanSection.B: "Needs.", PlanSection.E: "Outcomes.", PlanSection.F: "Provision."}
SCHOOL = Setting(name="Example Primary School", urn="123456", type=SettingType.MAINSTREAM)

requested = AssessmentRequested(
    assessment_id=ASSESSMENT_ID,
    child_id=CHILD,
    received_on=date(2026, 3, 2),
    requested_by=Requester.PARENT,
    child_views="I want to stay with my friends.",
    recorded_by=CASEWORKER,
)
agreed = AssessmentAgreed(
    assessment_id=ASSESSMENT_ID,
    child_id=CHILD,
    decided_on=date(2026, 4, 1),
    reasons="Evidence of needs.",
    decided_by="manager-1",
)
advice_requested = AdviceRequested(
    assessment_id=ASSESSMENT_ID,
    advice_request_id=REQUEST,
    child_id=CHILD,
    agency="health",
    advice_type=AdviceType.HEALTH,
    requested_on=date(2026, 4, 2),
    due_on=date(2026, 5, 14),
)
advice_received = AdviceReceived(
    assessment_id=ASSESSMENT_ID,
    advice_request_id=REQUEST,
    child_id=CHILD,
    agency="health",
    received_on=date(2026, 5, 20),
    late_by_days=6,
)
draft = DraftIssued(
    assessment_id=ASSESSMENT_ID,
    plan_id=PLAN_ID,
    child_id=CHILD,
    issued_on=date(2026, 6, 1),
    comments_due_on=date(2026, 6, 16),
    sections=SECTIONS,
    issued_by=CASEWORKER,
)


def spec() -> DeciderSpec:  # type: ignore[type-arg]
    return DeciderSpec(ASSESSMENT)


def test_a_request_is_recorded_with_its_received_date_and_the_childs_words() -> None:
    command = RequestAssessment(
        ASSESSMENT_ID,
        CHILD,
        date(2026, 3, 2),
        Requester.PARENT,
        CASEWORKER,
        child_views="I want to stay with my friends.",
    )
    spec().when(command, now=NOW).then(requested)


def test_a_request_received_in_the_future_is_refused() -> None:
    command = RequestAssessment(
        ASSESSMENT_ID, CHILD, date(2026, 9, 2), Requester.SCHOOL, CASEWORKER
    )
    error = spec().when(command, now=NOW).then_raises(RulesBroken, match="received_on")
    assert isinstance(error, RulesBroken)
    assert [b.field for b in error.broken] == ["received_on"]


def test_a_request_is_recorded_once() -> None:
    command = RequestAssessment(
        ASSESSMENT_ID, CHILD, date(2026, 3, 2), Requester.PARENT, CASEWORKER
    )
    spec().given(requested).when(command, now=NOW).then_raises(AlreadyRecorded)


def test_agreeing_to_assess() -> None:
    command = DecideToAssess(True, date(2026, 4, 1), "Evidence of needs.", "manager-1")
    state = spec().given(requested).when(command, now=NOW).then_state()
    assert state is not None
    assert state.stage is Stage.ASSESSING


def test_declining_computes_the_appeal_deadline_from_the_letter() -> None:
    command = DecideToAssess(
        False,
        date(2026, 4, 1),
        "Needs met at SEN support.",
        "manager-1",
        letter_sent_on=date(2026, 4, 2),
    )
    spec().given(requested).when(command, now=NOW).then(
        AssessmentDeclined(
            assessment_id=ASSESSMENT_ID,
            child_id=CHILD,
            decided_on=date(2026, 4, 1),
            letter_sent_on=date(2026, 4, 2),
            reasons="Needs met at SEN support.",
            appeal_by=date(2026, 6, 2),
            decided_by="manager-1",
        )
    )


def test_a_decline_without_its_letter_and_a_decision_before_the_request_name_every_field() -> None:
    command = DecideToAssess(False, date(2026, 3, 1), "No.", "manager-1")
    error = spec().given(requested).when(command, now=NOW).then_raises(RulesBroken)
    assert isinstance(error, RulesBroken)
    assert [b.field for b in error.broken] == ["decided_on", "letter_sent_on"]


def test_a_second_decision_is_a_step_out_of_order() -> None:
    command = DecideToAssess(True, date(2026, 4, 1), "Again.", "manager-1")
    spec().given(requested, agreed).when(command, now=NOW).then_raises(
        StepOutOfOrder, match="assessing"
    )


def test_a_command_on_an_assessment_never_requested_is_not_found() -> None:
    command = DecideToAssess(True, date(2026, 4, 1), "Yes.", "manager-1")
    spec().when(command, now=NOW).then_raises(NotRecorded)


def test_a_mediation_certificate_can_move_the_appeal_deadline() -> None:
    declined = AssessmentDeclined(
        assessment_id=ASSESSMENT_ID,
        child_id=CHILD,
        decided_on=date(2026, 4, 1),
        letter_sent_on=date(2026, 4, 2),
        reasons="No.",
        appeal_by=date(2026, 6, 2),
        decided_by="manager-1",
    )
    command = RecordMediationCertificate(date(2026, 5, 20), CASEWORKER)
    spec().given(requested, declined).when(command, now=NOW).then(
        MediationCertificateRecorded(
            assessment_id=ASSESSMENT_ID,
            child_id=CHILD,
            issued_on=date(2026, 5, 20),
            appeal_by=date(2026, 6, 20),
            recorded_by=CASEWORKER,
        )
    )
    spec().given(requested, agreed).when(command, now=NOW).then_raises(StepOutOfOrder)


def test_advice_is_asked_for_after_the_decision_and_due_in_6_weeks() -> None:
    command = RequestAdvice(REQUEST, "health", AdviceType.HEALTH, date(2026, 4, 2))
    spec().given(requested, agreed).when(command, now=NOW).then(advice_requested)
    spec().given(requested).when(command, now=NOW).then_raises(StepOutOfOrder, match="requested")


def test_preparing_for_adulthood_advice_waits_for_year_9() -> None:
    command = RequestAdvice(
        REQUEST, "send", AdviceType.PREPARING_FOR_ADULTHOOD, date(2026, 4, 2), school_year=8
    )
    spec().given(requested, agreed).when(command, now=NOW).then_raises(RulesBroken, match="Year 9")
    year9 = RequestAdvice(
        REQUEST, "send", AdviceType.PREPARING_FOR_ADULTHOOD, date(2026, 4, 2), school_year=9
    )
    assert spec().given(requested, agreed).when(year9, now=NOW).then_state() is not None


def test_late_advice_says_by_how_long() -> None:
    command = ReceiveAdvice(REQUEST, date(2026, 5, 20))
    spec().given(requested, agreed, advice_requested).when(command, now=NOW).then(advice_received)


def test_advice_received_twice_is_a_conflict_but_an_agencys_repeat_is_nothing() -> None:
    given = spec().given(requested, agreed, advice_requested, advice_received)
    given.when(ReceiveAdvice(REQUEST, date(2026, 5, 21)), now=NOW).then_raises(AlreadyRecorded)
    repeat = ReceiveAdvice(REQUEST, date(2026, 5, 21), uuid4(), from_agency=True)
    given.when(repeat, now=NOW).then_nothing()


def test_advice_for_an_unknown_request_or_before_it_was_asked_is_refused() -> None:
    given = spec().given(requested, agreed, advice_requested)
    given.when(ReceiveAdvice(uuid4(), date(2026, 5, 20)), now=NOW).then_raises(NotRecorded)
    given.when(ReceiveAdvice(REQUEST, date(2026, 4, 1)), now=NOW).then_raises(
        RulesBroken, match="asked for"
    )


def reuse(**agreements: bool) -> ReuseAdvice:
    agreed_by = {"authority": True, "author": True, "family": True} | agreements
    return ReuseAdvice(
        REQUEST,
        "educational_psychology",
        AdviceType.EDUCATIONAL_PSYCHOLOGY,
        date(2025, 11, 1),
        "Dr A. Example",
        "EP report for the SEN support review",
        agreed_by["authority"],
        agreed_by["author"],
        agreed_by["family"],
        date(2026, 4, 3),
        CASEWORKER,
    )


def test_advice_is_reused_only_with_all_three_agreements() -> None:
    spec().given(requested, agreed).when(reuse(), now=NOW).then(
        AdviceReused(
            assessment_id=ASSESSMENT_ID,
            advice_request_id=REQUEST,
            child_id=CHILD,
            agency="educational_psychology",
            advice_type=AdviceType.EDUCATIONAL_PSYCHOLOGY,
            given_on=date(2025, 11, 1),
            author="Dr A. Example",
            description="EP report for the SEN support review",
            agreed_by_authority=True,
            agreed_by_author=True,
            agreed_by_family=True,
            reused_on=date(2026, 4, 3),
            recorded_by=CASEWORKER,
        )
    )
    error = (
        spec()
        .given(requested, agreed)
        .when(reuse(author=False, family=False), now=NOW)
        .then_raises(RulesBroken)
    )
    assert isinstance(error, RulesBroken)
    assert [b.field for b in error.broken] == ["agreed_by_author", "agreed_by_family"]


def exception_command(kind: ExceptionKind, starts: date, ends: date) -> RecordException:
    return RecordException(uuid4(), kind, starts, ends, "Letter from the school.", CASEWORKER)


def test_a_closure_or_absence_is_an_exception_only_for_4_weeks_or_more() -> None:
    given = spec().given(requested, agreed)
    short = exception_command(ExceptionKind.ABSENCE_FROM_AREA, date(2026, 5, 1), date(2026, 5, 27))
    given.when(short, now=NOW).then_raises(RulesBroken, match="27 day")
    four_weeks = exception_command(
        ExceptionKind.ABSENCE_FROM_AREA, date(2026, 5, 1), date(2026, 5, 28)
    )
    [event] = given.when(four_weeks, now=NOW).events
    assert isinstance(event, ExceptionRecorded)
    assert (event.kind, event.starts_on, event.ends_on, event.evidence) == (
        ExceptionKind.ABSENCE_FROM_AREA,
        date(2026, 5, 1),
        date(2026, 5, 28),
        "Letter from the school.",
    )
    brief = exception_command(
        ExceptionKind.EXCEPTIONAL_PERSONAL_CIRCUMSTANCES, date(2026, 5, 1), date(2026, 5, 3)
    )
    assert given.when(brief, now=NOW).then_state() is not None


def test_an_exception_ending_before_the_request_or_backwards_is_refused() -> None:
    given = spec().given(requested, agreed)
    before = exception_command(
        ExceptionKind.EXCEPTIONAL_PERSONAL_CIRCUMSTANCES, date(2026, 1, 1), date(2026, 2, 1)
    )
    given.when(before, now=NOW).then_raises(RulesBroken, match="before the request")
    backwards = exception_command(
        ExceptionKind.EXCEPTIONAL_PERSONAL_CIRCUMSTANCES, date(2026, 5, 3), date(2026, 5, 1)
    )
    given.when(backwards, now=NOW).then_raises(RulesBroken, match="before starts_on")


def test_a_draft_needs_b_e_f_and_every_advice_asked_for() -> None:
    command = IssueDraft(PLAN_ID, date(2026, 6, 1), SECTIONS, CASEWORKER)
    spec().given(requested, agreed, advice_requested, advice_received).when(command, now=NOW).then(
        draft
    )
    awaited = spec().given(requested, agreed, advice_requested).when(command, now=NOW)
    awaited.then_raises(RulesBroken, match="still awaited from health")
    spec().given(requested, agreed).when(command, now=NOW).then_raises(
        RulesBroken, match="Regulation 6(1)"
    )
    partial = IssueDraft(PLAN_ID, date(2026, 6, 1), {PlanSection.B: "Needs."}, CASEWORKER)
    given = spec().given(requested, agreed, advice_requested, advice_received)
    given.when(partial, now=NOW).then_raises(RulesBroken, match="sections E, F")


def test_a_decision_not_to_issue_carries_appeal_rights() -> None:
    command = DecideNotToIssue(
        date(2026, 6, 10), date(2026, 6, 11), "Needs can be met.", "manager-1"
    )
    spec().given(requested, agreed).when(command, now=NOW).then(
        PlanDeclined(
            assessment_id=ASSESSMENT_ID,
            child_id=CHILD,
            decided_on=date(2026, 6, 10),
            letter_sent_on=date(2026, 6, 11),
            reasons="Needs can be met.",
            appeal_by=date(2026, 8, 11),
            decided_by="manager-1",
        )
    )
    given = spec().given(requested, agreed, advice_requested, advice_received, draft)
    given.when(command, now=NOW).then_raises(StepOutOfOrder)


def test_the_final_plan_waits_for_the_15_days_unless_the_family_has_commented() -> None:
    given = (requested, agreed, advice_requested, advice_received, draft)
    early = CompleteAssessment(date(2026, 6, 10), SECTIONS, "manager-1")
    spec().given(*given).when(early, now=NOW).then_raises(RulesBroken, match="2026-06-16")
    commented = DraftCommented(
        assessment_id=ASSESSMENT_ID,
        child_id=CHILD,
        received_on=date(2026, 6, 8),
        comments="We agree.",
        setting_requested=SCHOOL,
        recorded_by=CASEWORKER,
    )
    spec().given(*given, commented).when(early, now=NOW).then(
        AssessmentCompleted(
            assessment_id=ASSESSMENT_ID,
            plan_id=PLAN_ID,
            child_id=CHILD,
            completed_on=date(2026, 6, 10),
            sections=SECTIONS,
            issued_by="manager-1",
        )
    )
    on_time = CompleteAssessment(date(2026, 6, 16), SECTIONS, "manager-1")
    state = spec().given(*given).when(on_time, now=NOW).then_state()
    assert state is not None
    assert (state.stage, state.final_issued_on) == (Stage.COMPLETED, date(2026, 6, 16))


def test_a_final_plan_before_the_decision_to_assess_is_out_of_order() -> None:
    command = CompleteAssessment(date(2026, 6, 16), SECTIONS, "manager-1")
    spec().given(requested).when(command, now=NOW).then_raises(StepOutOfOrder, match="draft_issued")


def test_comments_need_something_said_and_a_draft() -> None:
    given = spec().given(requested, agreed, advice_requested, advice_received, draft)
    given.when(RecordComments(date(2026, 6, 5), CASEWORKER), now=NOW).then_raises(
        RulesBroken, match="comments"
    )
    spec().given(requested, agreed).when(
        RecordComments(date(2026, 6, 5), CASEWORKER, "Fine."), now=NOW
    ).then_raises(StepOutOfOrder)


@pytest.mark.parametrize("day", [date(2026, 9, 2), date(2027, 1, 1)])
def test_steps_dated_in_the_future_are_refused(day: date) -> None:
    command = RequestAdvice(REQUEST, "health", AdviceType.HEALTH, day)
    spec().given(requested, agreed).when(command, now=NOW).then_raises(RulesBroken, match="future")


# -- the plan ------------------------------------------------------------------------------

issued = PlanIssued(
    plan_id=PLAN_ID,
    assessment_id=ASSESSMENT_ID,
    child_id=CHILD,
    issued_on=date(2026, 6, 16),
    setting=SCHOOL,
    start_date=date(2026, 9, 1),
    next_review_due_on=date(2027, 6, 16),
)


def test_a_plan_is_issued_once() -> None:
    command = IssuePlan(
        PLAN_ID,
        ASSESSMENT_ID,
        CHILD,
        date(2026, 6, 16),
        SCHOOL,
        date(2026, 9, 1),
        date(2027, 6, 16),
    )
    DeciderSpec(PLAN).when(command, now=NOW).then(issued)
    DeciderSpec(PLAN).given(issued).when(command, now=NOW).then_raises(AlreadyRecorded)


def test_an_amendment_with_a_new_placement_names_section_i() -> None:
    special = Setting(name="Example Special School", urn="654321", type=SettingType.STATE_SPECIAL)
    command = AmendPlan(
        date(2026, 8, 1),
        (PlanSection.I, PlanSection.F),
        "manager-1",
        special,
        date(2026, 9, 1),
        notice_on=date(2026, 7, 1),
    )
    DeciderSpec(PLAN).given(issued).when(command, now=NOW).then(
        PlanAmended(
            plan_id=PLAN_ID,
            child_id=CHILD,
            amended_on=date(2026, 8, 1),
            setting=special,
            start_date=date(2026, 9, 1),
            changed_sections=[PlanSection.I, PlanSection.F],
            notice_on=date(2026, 7, 1),
            amended_by="manager-1",
        )
    )
    no_setting = AmendPlan(date(2026, 8, 1), (PlanSection.I,), "manager-1")
    DeciderSpec(PLAN).given(issued).when(no_setting, now=NOW).then_raises(
        RulesBroken, match="setting"
    )
    before = AmendPlan(date(2026, 6, 1), (PlanSection.F,), "manager-1")
    DeciderSpec(PLAN).given(issued).when(before, now=NOW).then_raises(
        RulesBroken, match="last change"
    )
    DeciderSpec(PLAN).when(before, now=NOW).then_raises(NotRecorded)


def test_the_state_follows_the_amendments() -> None:
    special = Setting(name="Example Special School", type=SettingType.STATE_SPECIAL)
    command = AmendPlan(date(2026, 8, 1), (PlanSection.I,), "manager-1", special)
    plan = DeciderSpec(PLAN).given(issued).when(command, now=NOW).then_state()
    assert plan is not None
    assert (plan.setting, plan.amendments, plan.version) == (special, 1, 2)


def review(outcome: ReviewOutcome = ReviewOutcome.MAINTAIN, **changes: object) -> RecordReview:
    fields: dict[str, object] = {
        "meeting_on": date(2026, 8, 10),
        "decided_on": date(2026, 8, 20),
        "outcome": outcome,
        "preparing_for_adulthood": False,
        "recorded_by": "manager-1",
        "next_review_due_on": date(2027, 8, 10),
        "school_year": 5,
    } | changes
    return RecordReview(**fields)  # type: ignore[arg-type]


def test_a_review_sets_the_next_and_its_decision_is_due_in_4_weeks() -> None:
    [event] = DeciderSpec(PLAN).given(issued).when(review(), now=NOW).events
    assert isinstance(event, ReviewRecorded)
    assert (event.decision_due_on, event.next_review_due_on, event.appeal_by) == (
        date(2026, 9, 7),
        date(2027, 8, 10),
        None,
    )


def test_from_year_9_a_review_covers_preparing_for_adulthood() -> None:
    spec = DeciderSpec(PLAN).given(issued)
    spec.when(review(school_year=9), now=NOW).then_raises(RulesBroken, match="Year 9")
    covered = spec.when(review(school_year=9, preparing_for_adulthood=True), now=NOW)
    assert covered.then_state() is not None


def test_a_decision_to_cease_carries_appeal_rights_and_ends_the_reviews() -> None:
    [ceased] = DeciderSpec(PLAN).given(issued).when(review(ReviewOutcome.CEASE), now=NOW).events
    assert isinstance(ceased, ReviewRecorded)
    assert (ceased.appeal_by, ceased.next_review_due_on) == (date(2026, 10, 20), None)
    again = review(meeting_on=date(2026, 8, 25), decided_on=date(2026, 8, 26))
    DeciderSpec(PLAN).given(issued, ceased).when(again, now=NOW).then_raises(StepOutOfOrder)


def test_a_review_before_the_plan_or_decided_before_its_meeting_is_refused() -> None:
    early = review(meeting_on=date(2026, 6, 1), decided_on=date(2026, 5, 1))
    error = DeciderSpec(PLAN).given(issued).when(early, now=NOW).then_raises(RulesBroken)
    assert isinstance(error, RulesBroken)
    assert [b.field for b in error.broken] == ["meeting_on", "decided_on"]
