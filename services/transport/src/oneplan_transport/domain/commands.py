"""The commands of a transport case: imperatives holding validated values.

Reactions to the plans and children services' events build the first three; the team's
requests (and a family's review request) build the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from oneplan_transport.events import (
    ArrangementDetails,
    CaseSetting,
    EligibilityFacts,
    TrainingOutcome,
)

__all__ = [
    "ApplyPlanAmendment",
    "CancelArrangement",
    "ChangeArrangement",
    "Command",
    "ConcludeTravelTraining",
    "DecideEligibility",
    "MakeArrangement",
    "OpenCaseFromPlan",
    "RecordRiskAssessment",
    "RecordTrainingSession",
    "ReferTravelTraining",
    "ReopenForAddressChange",
    "RequestReview",
]


@dataclass(frozen=True)
class OpenCaseFromPlan:
    """An issued plan: open the child's case when it names a setting."""

    case_id: UUID
    child_id: UUID
    plan_id: UUID
    issued_on: date
    setting: CaseSetting | None
    start_date: date | None


@dataclass(frozen=True)
class ApplyPlanAmendment:
    """An amended plan: a new setting reopens the decision (a case opens if there is none)."""

    case_id: UUID
    child_id: UUID
    plan_id: UUID
    amended_on: date
    setting: CaseSetting | None
    start_date: date | None


@dataclass(frozen=True)
class ReopenForAddressChange:
    """The child moved: a standing decision is set aside."""

    case_id: UUID


@dataclass(frozen=True)
class DecideEligibility:
    """Decide eligibility on `decided_on` from the facts entered and the child's age facts."""

    decision_id: UUID
    facts: EligibilityFacts
    decided_on: date
    decided_by: str
    date_of_birth: date
    compulsory_school_age_ends_on: date
    target_working_days: int


@dataclass(frozen=True)
class RequestReview:
    """The family asks for the decision to be reviewed."""

    requested_on: date
    requested_by: str
    grounds: str


@dataclass(frozen=True)
class RecordRiskAssessment:
    """Record a travel risk assessment."""

    risk_assessment_id: UUID
    assessed_on: date
    hazards: tuple[str, ...]
    medical_needs: str | None
    medical_handling: str | None
    behaviour_support: str | None
    seating_and_equipment: str | None
    escort_needed: bool
    reviewer: str
    review_due_on: date
    recorded_by: str


@dataclass(frozen=True)
class MakeArrangement:
    """Arrange transport for an eligible child."""

    arrangement_id: UUID
    details: ArrangementDetails
    made_on: date
    made_by: str


@dataclass(frozen=True)
class ChangeArrangement:
    """Change the current arrangement."""

    details: ArrangementDetails
    reason: str
    changed_on: date
    changed_by: str


@dataclass(frozen=True)
class CancelArrangement:
    """Cancel the current arrangement from a day."""

    cancelled_from: date
    reason: str
    cancelled_by: str


@dataclass(frozen=True)
class ReferTravelTraining:
    """Refer the young person for independent travel training."""

    training_id: UUID
    referred_on: date
    goal: str
    referred_by: str


@dataclass(frozen=True)
class RecordTrainingSession:
    """Record a session of the current training."""

    session_on: date
    trainer: str
    notes: str | None
    recorded_by: str


@dataclass(frozen=True)
class ConcludeTravelTraining:
    """End the current training with an outcome."""

    outcome: TrainingOutcome
    concluded_on: date
    notes: str | None
    concluded_by: str


Command = (
    OpenCaseFromPlan
    | ApplyPlanAmendment
    | ReopenForAddressChange
    | DecideEligibility
    | RequestReview
    | RecordRiskAssessment
    | MakeArrangement
    | ChangeArrangement
    | CancelArrangement
    | ReferTravelTraining
    | RecordTrainingSession
    | ConcludeTravelTraining
)
"""Every command of a case."""
