"""What the transport API accepts and answers (its OpenAPI document comes from these).

Input models refuse undeclared fields and report every faulty field at once; the free text
and dates follow the one rule (`oneplan_events.types`).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from oneplan_events.types import BoundedDate, LongText, Name, NotFutureDate, ShortText
from oneplan_transport.adapters.tables import CaseRow
from oneplan_transport.domain.model import Arrangement, Case, CaseStatus, Decision, Training
from oneplan_transport.events import (
    VEHICLE_MODES,
    ArrangementDetails,
    CaseSetting,
    EligibilityFacts,
    EligibilityGround,
    EligibilityOutcome,
    Mode,
    RiskAssessmentRecorded,
    TrainingOutcome,
)

__all__ = [
    "ArrangementIn",
    "ArrangementOut",
    "CancellationIn",
    "CaseOut",
    "CaseSummary",
    "ChangeIn",
    "ChildTransportOut",
    "ConclusionIn",
    "DecisionOut",
    "DecisionTimesOut",
    "EligibilityIn",
    "ReferralIn",
    "ReviewRequestIn",
    "RiskAssessmentIn",
    "RiskAssessmentOut",
    "SessionIn",
    "TrainingOut",
    "Withheld",
    "Worklist",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _fault(message: str) -> PydanticCustomError:
    return PydanticCustomError("rule", message)


class EligibilityIn(_In):
    """The facts the team entered, with the distance it measured along the shortest walking
    route (no maps service is asked)."""

    distance_miles: Annotated[float, Field(ge=0, le=500, description="measured by the team")]
    school_is_nearest_suitable: bool = True
    among_three_nearest_suitable: bool = False
    sen_disability_or_mobility_prevents_walking: bool = False
    sen_disability_or_mobility_details: LongText | None = Field(
        default=None, validate_default=True, description="required when walking is prevented"
    )
    route_unsafe: bool = False
    route_unsafe_details: LongText | None = Field(
        default=None, validate_default=True, description="required when the route is unsafe"
    )
    low_income: bool = Field(
        default=False, description="free school meals, or the maximum Working Tax Credit"
    )
    discretionary_reason: LongText | None = None
    date_of_birth: NotFutureDate | None = Field(
        default=None,
        description="Needed only when the children service has not told transport the "
        "child's date of birth (a 422 naming this field says so); the children service's "
        "date, when known, is the one used.",
    )

    @field_validator("sen_disability_or_mobility_details")
    @classmethod
    def _say_what_prevents_walking(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("sen_disability_or_mobility_prevents_walking") and not value:
            raise _fault("say what prevents walking")
        return value

    @field_validator("route_unsafe_details")
    @classmethod
    def _say_what_makes_it_unsafe(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("route_unsafe") and not value:
            raise _fault("say what makes the route unsafe")
        return value

    def facts(self) -> EligibilityFacts:
        """The facts as the decision records them."""
        return EligibilityFacts.model_validate(self.model_dump(exclude={"date_of_birth"}))


class DecisionOut(BaseModel):
    """An eligibility decision, as the family is told it."""

    decision_id: UUID
    outcome: EligibilityOutcome
    grounds: list[EligibilityGround]
    reasons: list[str]
    decided_on: date
    working_days_from_issue: int | None
    within_target: bool | None
    review_request_by: date
    reassess_on: date | None

    @classmethod
    def of(cls, decision: Decision) -> DecisionOut:
        """The view of a decision."""
        return cls(
            decision_id=decision.decision_id,
            outcome=decision.outcome,
            grounds=list(decision.grounds),
            reasons=list(decision.reasons),
            decided_on=decision.decided_on,
            working_days_from_issue=decision.working_days_from_issue,
            within_target=decision.within_target,
            review_request_by=decision.review_request_by,
            reassess_on=decision.reassess_on,
        )


class ReviewRequestIn(_In):
    """The family's request for a review of the decision (stage one)."""

    grounds: LongText


class RiskAssessmentIn(_In):
    """A travel risk assessment."""

    assessed_on: NotFutureDate
    hazards: list[ShortText] = Field(min_length=1, max_length=30)
    medical_needs: LongText | None = None
    medical_handling: LongText | None = Field(
        default=None, validate_default=True, description="required with medical needs"
    )
    behaviour_support: LongText | None = None
    seating_and_equipment: LongText | None = None
    escort_needed: bool
    reviewer: Name
    review_due_on: BoundedDate

    @field_validator("medical_handling")
    @classmethod
    def _say_how_needs_are_handled(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("medical_needs") and not value:
            raise _fault("say how the medical needs are handled on the way")
        return value

    @field_validator("review_due_on")
    @classmethod
    def _review_after_assessment(cls, value: date, info: ValidationInfo) -> date:
        assessed_on = info.data.get("assessed_on")
        if assessed_on is not None and value <= assessed_on:
            raise _fault("the review falls after the assessment")
        return value


class RiskAssessmentOut(BaseModel):
    """The latest risk assessment."""

    risk_assessment_id: UUID
    assessed_on: date
    hazards: list[str]
    medical_needs: str | None
    medical_handling: str | None
    behaviour_support: str | None
    seating_and_equipment: str | None
    escort_needed: bool
    reviewer: str
    review_due_on: date

    @classmethod
    def of(cls, event: RiskAssessmentRecorded) -> RiskAssessmentOut:
        """The view of the recorded assessment."""
        return cls.model_validate(event.model_dump(exclude={"case_id", "child_id", "recorded_by"}))


class ArrangementIn(_In):
    """An arrangement: vehicle modes (taxi, minibus) need both times, drop-off after pick-up
    (local times, no offset)."""

    modes: list[Mode] = Field(min_length=1, max_length=len(Mode))
    operator: ShortText | None = None
    pick_up_time: time | None = Field(default=None, validate_default=True)
    drop_off_time: time | None = Field(default=None, validate_default=True)
    starts_on: BoundedDate

    @field_validator("modes")
    @classmethod
    def _each_mode_once(cls, value: list[Mode]) -> list[Mode]:
        if len(set(value)) != len(value):
            raise _fault("each mode once")
        return value

    @field_validator("pick_up_time", "drop_off_time")
    @classmethod
    def _times_make_sense(cls, value: time | None, info: ValidationInfo) -> time | None:
        if value is not None and value.tzinfo is not None:
            raise _fault("a local time, without an offset")
        if value is None and VEHICLE_MODES.intersection(info.data.get("modes") or ()):
            raise _fault("a taxi or minibus needs both times")
        if info.field_name == "drop_off_time" and "pick_up_time" in info.data:
            pick_up = info.data["pick_up_time"]
            if (pick_up is None) != (value is None):
                raise _fault("give both times or neither")
            if pick_up is not None and value is not None and value <= pick_up:
                raise _fault("the drop-off is after the pick-up")
        return value

    def details(self) -> ArrangementDetails:
        """The arrangement as the events record it."""
        return ArrangementDetails(
            modes=tuple(self.modes),
            operator=self.operator,
            pick_up_time=self.pick_up_time,
            drop_off_time=self.drop_off_time,
            starts_on=self.starts_on,
        )


class ChangeIn(ArrangementIn):
    """The arrangement's new details, and why it changed."""

    reason: LongText


class CancellationIn(_In):
    """The end of the current arrangement."""

    cancelled_from: BoundedDate
    reason: LongText


class ArrangementOut(BaseModel):
    """The current arrangement."""

    arrangement_id: UUID
    modes: list[Mode]
    operator: str | None
    pick_up_time: time | None
    drop_off_time: time | None
    starts_on: date
    made_on: date
    changed_on: date | None

    @classmethod
    def of(cls, arrangement: Arrangement) -> ArrangementOut:
        """The view of an arrangement."""
        details = arrangement.details
        return cls(
            arrangement_id=arrangement.arrangement_id,
            modes=list(details.modes),
            operator=details.operator,
            pick_up_time=details.pick_up_time,
            drop_off_time=details.drop_off_time,
            starts_on=details.starts_on,
            made_on=arrangement.made_on,
            changed_on=arrangement.changed_on,
        )


class ReferralIn(_In):
    """A referral for independent travel training."""

    goal: LongText


class SessionIn(_In):
    """A training session that took place."""

    session_on: NotFutureDate
    trainer: Name
    notes: LongText | None = None


class ConclusionIn(_In):
    """How the training ended."""

    outcome: TrainingOutcome
    notes: LongText | None = None


class TrainingOut(BaseModel):
    """The latest independent travel training."""

    training_id: UUID
    referred_on: date
    goal: str
    sessions: int
    outcome: TrainingOutcome | None
    concluded_on: date | None

    @classmethod
    def of(cls, training: Training) -> TrainingOut:
        """The view of a training."""
        return cls(
            training_id=training.training_id,
            referred_on=training.referred_on,
            goal=training.goal,
            sessions=training.sessions,
            outcome=training.outcome,
            concluded_on=training.concluded_on,
        )


class CaseOut(BaseModel):
    """A transport case as the team sees it."""

    case_id: UUID
    child_id: UUID
    status: CaseStatus
    plan_id: UUID
    plan_issued_on: date
    setting: CaseSetting
    start_date: date | None
    opened_at: datetime
    decision: DecisionOut | None
    review_requested_on: date | None
    arrangement: ArrangementOut | None
    risk_assessment: RiskAssessmentOut | None
    risk_assessments: int
    training: TrainingOut | None
    trainings_completed: int
    needs_from_the_plan: None = Field(
        default=None,
        description="Not available yet: the plans service's shared plan read model (a later "
        "issue) will give the needs that matter for travel.",
    )

    @classmethod
    def of(cls, case: Case) -> CaseOut:
        """The view of a case."""
        return cls(
            case_id=case.case_id,
            child_id=case.child_id,
            status=case.status,
            plan_id=case.plan_id,
            plan_issued_on=case.plan_issued_on,
            setting=case.setting,
            start_date=case.start_date,
            opened_at=case.opened_at,
            decision=DecisionOut.of(case.decision) if case.decision else None,
            review_requested_on=case.review_requested_on,
            arrangement=ArrangementOut.of(case.arrangement) if case.arrangement else None,
            risk_assessment=(
                RiskAssessmentOut.of(case.risk_assessment) if case.risk_assessment else None
            ),
            risk_assessments=case.risk_assessments,
            training=TrainingOut.of(case.training) if case.training else None,
            trainings_completed=case.trainings_completed,
        )


class CaseSummary(BaseModel):
    """A worklist line."""

    case_id: UUID
    child_id: UUID
    status: CaseStatus
    setting_name: str
    setting_urn: str | None
    start_date: date | None
    plan_issued_on: date
    has_arrangement: bool
    decided_on: date | None

    @classmethod
    def of(cls, row: CaseRow) -> CaseSummary:
        """The view of a worklist row."""
        return cls(
            case_id=row.case_id,
            child_id=row.child_id,
            status=CaseStatus(row.status),
            setting_name=row.setting_name,
            setting_urn=row.setting_urn,
            start_date=row.start_date,
            plan_issued_on=row.plan_issued_on,
            has_arrangement=row.has_arrangement,
            decided_on=row.decided_on,
        )


class Worklist(BaseModel):
    """Cases by urgency: no arrangement and the nearest start date first."""

    items: list[CaseSummary]


class Withheld(BaseModel):
    """A data class the reader may not see, and why (never its content)."""

    data_class: str
    reason: str | None


class ChildTransportOut(BaseModel):
    """What the family (and, with a permit, the setting) sees: the case's status, its
    setting and start date, the decision and the current arrangement."""

    case_id: UUID | None
    status: CaseStatus | None
    setting: CaseSetting | None
    start_date: date | None
    decision: DecisionOut | None
    arrangement: ArrangementOut | None
    withheld: list[Withheld]

    @classmethod
    def of(cls, case: Case | None) -> ChildTransportOut:
        """The view of the child's case (all None: no case)."""
        if case is None:
            return cls(
                case_id=None,
                status=None,
                setting=None,
                start_date=None,
                decision=None,
                arrangement=None,
                withheld=[],
            )
        return cls(
            case_id=case.case_id,
            status=case.status,
            setting=case.setting,
            start_date=case.start_date,
            decision=DecisionOut.of(case.decision) if case.decision else None,
            arrangement=ArrangementOut.of(case.arrangement) if case.arrangement else None,
            withheld=[],
        )


class DecisionTimesOut(BaseModel):
    """Each case's first eligibility decision in the period, timed in working days from the
    plan's issue (England's bank holidays excluded) against the target in force then."""

    decided_from: date
    decided_to: date
    target_working_days: int = Field(description="the target now (each decision keeps its own)")
    decisions: int
    within_target: int
    beyond_target: int
    not_counted: int = Field(description="decided where the bank holidays were not known")
    percent_within_target: float | None
    median_working_days: float | None
    longest_working_days: int | None
