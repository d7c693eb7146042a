"""A transport case as a decider: `decide` (state + command -> events) and `evolve` (state +
event -> state), run by the kit (`CASE`).

One case per child (`case_id_for(child_id)`), so a redelivered or repeated plan event finds
the case it opened and never opens a second. Both functions are pure: dates and the instant
are arguments, and nothing here touches a database or the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final, assert_never
from uuid import UUID, uuid5

from oneplan_events.catalogue import Event, PlanSection
from oneplan_transport.domain.calendar import CalendarNotKnown, add_working_days
from oneplan_transport.domain.calendar import working_days_between as count_working_days
from oneplan_transport.domain.commands import (
    ApplyPlanAmendment,
    CancelArrangement,
    ChangeArrangement,
    Command,
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
from oneplan_transport.domain.eligibility import assess
from oneplan_transport.events import (
    CONTRIBUTIONS,
    DATA_CLASS,
    VEHICLE_MODES,
    ArrangementCancelled,
    ArrangementChanged,
    ArrangementDetails,
    ArrangementMade,
    CaseOpened,
    CaseReopened,
    CaseSetting,
    EligibilityDecided,
    EligibilityGround,
    EligibilityOutcome,
    PlacementChanged,
    ReopenReason,
    ReviewRequested,
    RiskAssessmentRecorded,
    TrainingOutcome,
    TravelTrainingConcluded,
    TravelTrainingReferred,
    TravelTrainingSessionRecorded,
)

__all__ = [
    "CASE",
    "REVIEW_WORKING_DAYS",
    "Arrangement",
    "ArrangementBeforeEligibility",
    "ArrangementExists",
    "Case",
    "CaseDecider",
    "CaseNotFound",
    "CaseStatus",
    "Decision",
    "DecisionStands",
    "DomainError",
    "NoArrangement",
    "NoDecision",
    "NoTraining",
    "ReviewPending",
    "TimesMakeNoSense",
    "Training",
    "TrainingInProgress",
    "case_id_for",
    "decide",
    "evolve",
    "same_setting",
]

_CASE_NAMESPACE: Final = UUID("5d0b8f8e-2f7c-4c1e-9a53-6f1f4b7a2c10")
REVIEW_WORKING_DAYS: Final = 20
"""A family may ask for a review within 20 working days of the decision (DfE guidance)."""
AGENCY: Final = "transport"


def case_id_for(child_id: UUID) -> UUID:
    """The child's one transport case."""
    return uuid5(_CASE_NAMESPACE, f"case:{child_id}")


class DomainError(Exception):
    """A command the rules refuse; nothing is recorded."""


class CaseNotFound(DomainError):
    """No transport case has this id."""


class DecisionStands(DomainError):
    """A decision stands: a move, a new setting or a review request reopens it."""


class NoDecision(DomainError):
    """The case has no decision to review."""


class ReviewPending(DomainError):
    """A review request awaits the authority's new decision."""


class ArrangementBeforeEligibility(DomainError):
    """Transport is arranged only for a child decided eligible."""


class ArrangementExists(DomainError):
    """The case has a current arrangement: change or cancel it."""


class NoArrangement(DomainError):
    """The case has no current arrangement."""


class TimesMakeNoSense(DomainError):
    """The arrangement's times are missing or in the wrong order."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class TrainingInProgress(DomainError):
    """Travel training is under way already."""


class NoTraining(DomainError):
    """No travel training is under way."""


class CaseStatus(StrEnum):
    """Where a case stands (derived from its events)."""

    AWAITING_ELIGIBILITY = "awaiting_eligibility"
    UNDER_REVIEW = "under_review"
    NOT_ELIGIBLE = "not_eligible"
    AWAITING_ARRANGEMENT = "awaiting_arrangement"
    ARRANGED = "arranged"


@dataclass(frozen=True)
class Decision:
    """The standing eligibility decision."""

    decision_id: UUID
    outcome: EligibilityOutcome
    grounds: tuple[EligibilityGround, ...]
    reasons: tuple[str, ...]
    decided_on: date
    working_days_from_issue: int | None
    within_target: bool | None
    review_request_by: date
    reassess_on: date | None


@dataclass(frozen=True)
class Arrangement:
    """The current arrangement."""

    arrangement_id: UUID
    details: ArrangementDetails
    made_on: date
    changed_on: date | None = None


@dataclass(frozen=True)
class Training:
    """Independent travel training (the latest referral)."""

    training_id: UUID
    referred_on: date
    goal: str
    sessions: int = 0
    outcome: TrainingOutcome | None = None
    concluded_on: date | None = None


@dataclass(frozen=True)
class Case:
    """A case after `version` events."""

    case_id: UUID
    child_id: UUID
    plan_id: UUID
    plan_issued_on: date
    setting: CaseSetting
    start_date: date | None
    opened_at: datetime
    version: int = 1
    decision: Decision | None = None
    decisions: int = 0
    review_requested_on: date | None = None
    arrangement: Arrangement | None = None
    risk_assessment: RiskAssessmentRecorded | None = None
    risk_assessments: int = 0
    training: Training | None = None
    trainings_completed: int = 0

    @property
    def status(self) -> CaseStatus:
        """Derived from the decision, a pending review and the arrangement."""
        if self.review_requested_on is not None:
            return CaseStatus.UNDER_REVIEW
        if self.decision is None:
            return CaseStatus.AWAITING_ELIGIBILITY
        if self.decision.outcome is EligibilityOutcome.NOT_ELIGIBLE:
            return CaseStatus.NOT_ELIGIBLE
        if self.arrangement is None:
            return CaseStatus.AWAITING_ARRANGEMENT
        return CaseStatus.ARRANGED


def same_setting(first: CaseSetting, second: CaseSetting) -> bool:
    """The same school: by URN when both have one, else by name."""
    if first.urn is not None and second.urn is not None:
        return first.urn == second.urn
    return first.name.casefold() == second.name.casefold()


def decide(state: Case | None, command: Command, now: datetime) -> Sequence[Event]:
    """The events that carry out `command` on `state`, or a DomainError; never any I/O."""
    match command:
        case OpenCaseFromPlan():
            return _open_from_plan(state, command, now)
        case ApplyPlanAmendment():
            return _apply_amendment(state, command, now)
        case ReopenForAddressChange():
            if state is None or state.decision is None:
                return []  # nothing decided yet: the distance is measured when deciding
            return [
                CaseReopened(
                    case_id=state.case_id,
                    child_id=state.child_id,
                    reason=ReopenReason.ADDRESS_CHANGED,
                    reopened_at=now,
                )
            ]
    case = _existing(state, command)
    match command:
        case DecideEligibility():
            return [_decide_eligibility(case, command)]
        case RequestReview():
            return [_request_review(case, command)]
        case RecordRiskAssessment():
            return _record_risk_assessment(case, command)
        case MakeArrangement() | ChangeArrangement() | CancelArrangement():
            return [_arrange(case, command)]
        case ReferTravelTraining() | RecordTrainingSession() | ConcludeTravelTraining():
            return _train(case, command)
        case _:
            assert_never(command)


def _existing(state: Case | None, command: Command) -> Case:
    if state is None:
        raise CaseNotFound("no such transport case")
    return state


def _open_from_plan(state: Case | None, command: OpenCaseFromPlan, now: datetime) -> list[Event]:
    if command.setting is None:
        return []  # a plan naming no setting gives transport nothing to travel to yet
    if state is None:
        return [
            CaseOpened(
                case_id=command.case_id,
                child_id=command.child_id,
                plan_id=command.plan_id,
                plan_issued_on=command.issued_on,
                setting=command.setting,
                start_date=command.start_date,
                opened_at=now,
            )
        ]
    # The child's case exists (the same plan again, or a plan issued anew): a change of
    # placement, never a second case.
    amendment = ApplyPlanAmendment(
        command.case_id,
        command.child_id,
        command.plan_id,
        command.issued_on,
        command.setting,
        command.start_date,
    )
    return _apply_amendment(state, amendment, now)


def _apply_amendment(state: Case | None, command: ApplyPlanAmendment, now: datetime) -> list[Event]:
    if state is None:
        opening = OpenCaseFromPlan(
            command.case_id,
            command.child_id,
            command.plan_id,
            command.amended_on,
            command.setting,
            command.start_date,
        )
        return _open_from_plan(None, opening, now)
    setting = command.setting or state.setting
    setting_changed = not same_setting(setting, state.setting)
    start_date = command.start_date if command.start_date is not None else state.start_date
    if not setting_changed and start_date == state.start_date and setting == state.setting:
        return []
    return [
        PlacementChanged(
            case_id=state.case_id,
            child_id=state.child_id,
            plan_id=command.plan_id,
            amended_on=command.amended_on,
            setting=setting,
            start_date=start_date,
            setting_changed=setting_changed,
            decision_reopened=setting_changed and state.decision is not None,
        )
    ]


def _decide_eligibility(case: Case, command: DecideEligibility) -> EligibilityDecided:
    if case.decision is not None and case.review_requested_on is None:
        raise DecisionStands(
            f"an eligibility decision of {case.decision.decided_on.isoformat()} stands: a move, "
            "a new setting or the family's review request reopens it"
        )
    outcome = assess(
        command.facts,
        date_of_birth=command.date_of_birth,
        compulsory_school_age_ends_on=command.compulsory_school_age_ends_on,
        on=command.decided_on,
        setting=case.setting.name,
    )
    try:
        working_days: int | None = count_working_days(case.plan_issued_on, command.decided_on)
    except CalendarNotKnown:
        working_days = None
    return EligibilityDecided(
        case_id=case.case_id,
        child_id=case.child_id,
        decision_id=command.decision_id,
        outcome=outcome.outcome,
        grounds=outcome.grounds,
        reasons=outcome.reasons,
        facts=command.facts,
        age_on_decision=outcome.age,
        walking_distance_miles=outcome.walking_distance_miles,
        decided_on=command.decided_on,
        decided_by=command.decided_by,
        plan_issued_on=case.plan_issued_on,
        working_days_from_issue=working_days,
        target_working_days=command.target_working_days,
        within_target=None if working_days is None else working_days <= command.target_working_days,
        review_request_by=review_deadline(command.decided_on),
        reassess_on=outcome.reassess_on,
        on_review=case.review_requested_on is not None,
        first_decision=case.decisions == 0,
    )


def review_deadline(decided_on: date) -> date:
    """20 working days after the decision; 28 days when the calendar does not know the year
    (20 working days are never fewer than four weeks)."""
    try:
        return add_working_days(decided_on, REVIEW_WORKING_DAYS)
    except CalendarNotKnown:
        return decided_on + timedelta(days=28)


def _request_review(case: Case, command: RequestReview) -> ReviewRequested:
    if case.decision is None:
        raise NoDecision("the case has no eligibility decision to review")
    if case.review_requested_on is not None:
        raise ReviewPending(
            f"a review was requested on {case.review_requested_on.isoformat()} and awaits "
            "the authority's new decision"
        )
    return ReviewRequested(
        case_id=case.case_id,
        child_id=case.child_id,
        decision_id=case.decision.decision_id,
        requested_on=command.requested_on,
        requested_by=command.requested_by,
        grounds=command.grounds,
        within_time=command.requested_on <= case.decision.review_request_by,
    )


def _record_risk_assessment(case: Case, command: RecordRiskAssessment) -> list[Event]:
    assessment = RiskAssessmentRecorded(
        case_id=case.case_id,
        child_id=case.child_id,
        risk_assessment_id=command.risk_assessment_id,
        assessed_on=command.assessed_on,
        hazards=command.hazards,
        medical_needs=command.medical_needs,
        medical_handling=command.medical_handling,
        behaviour_support=command.behaviour_support,
        seating_and_equipment=command.seating_and_equipment,
        escort_needed=command.escort_needed,
        reviewer=command.reviewer,
        review_due_on=command.review_due_on,
        recorded_by=command.recorded_by,
    )
    model = CONTRIBUTIONS.submitted if case.risk_assessment is None else CONTRIBUTIONS.revised
    contribution = model(
        contribution_id=uuid5(case.case_id, "risk_assessment"),
        child_id=case.child_id,
        section=PlanSection.K,
        data_class=DATA_CLASS,
        author=command.recorded_by,
        agency=AGENCY,
        title="Home-to-school travel risk assessment",
        content=_risk_summary(assessment),
    )
    return [assessment, contribution]


def _risk_summary(assessment: RiskAssessmentRecorded) -> str:
    parts = [
        f"Assessed on {assessment.assessed_on.isoformat()} (reviewer {assessment.reviewer}, "
        f"review due {assessment.review_due_on.isoformat()}).",
        "Hazards: " + "; ".join(assessment.hazards) + ".",
        f"Escort or passenger assistant needed: {'yes' if assessment.escort_needed else 'no'}.",
    ]
    for label, text in (
        ("Medical needs", assessment.medical_needs),
        ("How they are handled", assessment.medical_handling),
        ("Behaviour support", assessment.behaviour_support),
        ("Seating and equipment", assessment.seating_and_equipment),
    ):
        if text is not None:
            parts.append(f"{label}: {text}")
    return "\n".join(parts)


def check_times(details: ArrangementDetails) -> None:
    """Vehicle modes need both times; a drop-off comes after the pick-up."""
    pick_up, drop_off = details.pick_up_time, details.drop_off_time
    if VEHICLE_MODES.intersection(details.modes):
        for name, value in (("pick_up_time", pick_up), ("drop_off_time", drop_off)):
            if value is None:
                raise TimesMakeNoSense(f"a taxi or minibus needs a {name}", name)
    if (pick_up is None) != (drop_off is None):
        missing = "pick_up_time" if pick_up is None else "drop_off_time"
        raise TimesMakeNoSense("pick-up and drop-off times are given together", missing)
    if pick_up is not None and drop_off is not None and drop_off <= pick_up:
        raise TimesMakeNoSense("the drop-off time must be after the pick-up time", "drop_off_time")


def _arrange(case: Case, command: MakeArrangement | ChangeArrangement | CancelArrangement) -> Event:
    current = case.arrangement
    match command:
        case MakeArrangement():
            if case.decision is None or case.decision.outcome is not EligibilityOutcome.ELIGIBLE:
                raise ArrangementBeforeEligibility(
                    "transport is arranged only once the child is decided eligible (the case "
                    f"is {case.status.value})"
                )
            if current is not None:
                raise ArrangementExists("the case has a current arrangement: change or cancel it")
            check_times(command.details)
            return ArrangementMade(
                case_id=case.case_id,
                child_id=case.child_id,
                arrangement_id=command.arrangement_id,
                details=command.details,
                made_on=command.made_on,
                made_by=command.made_by,
            )
        case ChangeArrangement():
            if current is None:
                raise NoArrangement("the case has no current arrangement to change")
            check_times(command.details)
            return ArrangementChanged(
                case_id=case.case_id,
                child_id=case.child_id,
                arrangement_id=current.arrangement_id,
                details=command.details,
                reason=command.reason,
                changed_on=command.changed_on,
                changed_by=command.changed_by,
            )
        case CancelArrangement():
            if current is None:
                raise NoArrangement("the case has no current arrangement to cancel")
            return ArrangementCancelled(
                case_id=case.case_id,
                child_id=case.child_id,
                arrangement_id=current.arrangement_id,
                cancelled_from=command.cancelled_from,
                reason=command.reason,
                cancelled_by=command.cancelled_by,
            )
        case _:
            assert_never(command)


def _train(
    case: Case, command: ReferTravelTraining | RecordTrainingSession | ConcludeTravelTraining
) -> list[Event]:
    training = case.training
    under_way = training is not None and training.outcome is None
    match command:
        case ReferTravelTraining():
            if under_way:
                raise TrainingInProgress("independent travel training is under way already")
            return [
                TravelTrainingReferred(
                    case_id=case.case_id,
                    child_id=case.child_id,
                    training_id=command.training_id,
                    referred_on=command.referred_on,
                    goal=command.goal,
                    referred_by=command.referred_by,
                )
            ]
    if training is None or not under_way:
        raise NoTraining("no independent travel training is under way: refer first")
    match command:
        case RecordTrainingSession():
            return [
                TravelTrainingSessionRecorded(
                    case_id=case.case_id,
                    child_id=case.child_id,
                    training_id=training.training_id,
                    session_on=command.session_on,
                    trainer=command.trainer,
                    notes=command.notes,
                    recorded_by=command.recorded_by,
                )
            ]
        case ConcludeTravelTraining():
            concluded = TravelTrainingConcluded(
                case_id=case.case_id,
                child_id=case.child_id,
                training_id=training.training_id,
                outcome=command.outcome,
                concluded_on=command.concluded_on,
                sessions=training.sessions,
                notes=command.notes,
                concluded_by=command.concluded_by,
            )
            if command.outcome is TrainingOutcome.WITHDRAWN:
                return [concluded]
            return [concluded, _training_contribution(case, training, command)]
        case _:
            assert_never(command)


def _training_contribution(
    case: Case, training: Training, command: ConcludeTravelTraining
) -> Event:
    how = "successfully" if command.outcome is TrainingOutcome.COMPLETED_SUCCESSFULLY else "partly"
    return CONTRIBUTIONS.submitted(
        contribution_id=uuid5(training.training_id, "completion"),
        child_id=case.child_id,
        section=PlanSection.E,
        data_class=DATA_CLASS,
        author=command.concluded_by,
        agency=AGENCY,
        title="Independent travel training completed",
        content=(
            f"Completed {how} on {command.concluded_on.isoformat()} after "
            f"{training.sessions} session(s). Goal: {training.goal}"
            + (f"\n{command.notes}" if command.notes else "")
        ),
        outcomes=("Preparing for adulthood: independent travel",),
    )


def evolve(state: Case | None, event: Event) -> Case | None:
    """The case after `event`."""
    if isinstance(event, CaseOpened):
        return Case(
            case_id=event.case_id,
            child_id=event.child_id,
            plan_id=event.plan_id,
            plan_issued_on=event.plan_issued_on,
            setting=event.setting,
            start_date=event.start_date,
            opened_at=event.opened_at,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before the case was opened")
    return replace(_evolve(state, event), version=state.version + 1)


def _evolve(case: Case, event: Event) -> Case:
    match event:
        case PlacementChanged():
            decision = None if event.decision_reopened else case.decision
            return replace(
                case,
                plan_id=event.plan_id,
                setting=event.setting,
                start_date=event.start_date,
                decision=decision,
                review_requested_on=None if event.decision_reopened else case.review_requested_on,
            )
        case CaseReopened():
            return replace(case, decision=None, review_requested_on=None)
        case EligibilityDecided():
            decision = Decision(
                event.decision_id,
                event.outcome,
                event.grounds,
                event.reasons,
                event.decided_on,
                event.working_days_from_issue,
                event.within_target,
                event.review_request_by,
                event.reassess_on,
            )
            return replace(
                case, decision=decision, decisions=case.decisions + 1, review_requested_on=None
            )
        case ReviewRequested():
            return replace(case, review_requested_on=event.requested_on)
        case RiskAssessmentRecorded():
            return replace(case, risk_assessment=event, risk_assessments=case.risk_assessments + 1)
        case ArrangementMade():
            return replace(
                case, arrangement=Arrangement(event.arrangement_id, event.details, event.made_on)
            )
        case ArrangementChanged():
            assert case.arrangement is not None
            changed = replace(case.arrangement, details=event.details, changed_on=event.changed_on)
            return replace(case, arrangement=changed)
        case ArrangementCancelled():
            return replace(case, arrangement=None)
        case TravelTrainingReferred():
            training = Training(event.training_id, event.referred_on, event.goal)
            return replace(case, training=training)
        case TravelTrainingSessionRecorded():
            assert case.training is not None
            return replace(
                case, training=replace(case.training, sessions=case.training.sessions + 1)
            )
        case TravelTrainingConcluded():
            assert case.training is not None
            done = replace(case.training, outcome=event.outcome, concluded_on=event.concluded_on)
            completed = event.outcome is not TrainingOutcome.WITHDRAWN
            return replace(
                case, training=done, trainings_completed=case.trainings_completed + completed
            )
    if isinstance(event, CONTRIBUTIONS.submitted | CONTRIBUTIONS.revised):
        return case  # the shared plan's copy of what the case holds already
    raise ValueError(f"{type(event).__name__} is not an event of a transport case")


class CaseDecider:
    """A transport case for the kit: streams `case/<case id>`."""

    stream_prefix = "case"

    def initial_state(self) -> Case | None:
        """No case yet."""
        return None

    def decide(self, state: Case | None, command: Command, now: datetime) -> Sequence[Event]:
        """:func:`decide`."""
        return decide(state, command, now)

    def evolve(self, state: Case | None, event: Event) -> Case | None:
        """:func:`evolve`."""
        return evolve(state, event)


CASE = CaseDecider()
"""A transport case, as the kit runs it."""
