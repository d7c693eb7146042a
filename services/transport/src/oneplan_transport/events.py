"""The transport service's event catalogue: what it publishes, and its readers of what it
consumes.

Published (`oneplan.transport.<aggregate>.<past tense>`, data class `transport`): a case's
life (opened from a plan, its placement changed by an amended plan, reopened by a move), the
eligibility decision and the family's review request, risk assessments, arrangements and
independent travel training, plus the generic contributions to the shared plan and the
disclosure event. `docs/asyncapi.yaml` is generated from this catalogue (`./oneplan generate`).

Read (tolerant `ForeignEvent` readers of just the fields transport needs, never the
publishers' code): the plans service's `plan.issued` and `plan.amended` as the cross-service
contract defines them, and the children service's `child.registered` and `details.changed`
(the child's date of birth decides the walking distance; `address_changed` reopens a decision).
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated, Final
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from oneplan_events.catalogue import (
    Catalogue,
    DataClass,
    Event,
    ForeignEvent,
    register_contribution_events,
    register_disclosure_event,
)
from oneplan_events.types import BoundedDate, LongText, Name, PlainText, ShortText

__all__ = [
    "CATALOGUE",
    "CONTRIBUTIONS",
    "DATA_CLASS",
    "VEHICLE_MODES",
    "Actor",
    "ArrangementCancelled",
    "ArrangementChanged",
    "ArrangementDetails",
    "ArrangementMade",
    "CaseOpened",
    "CaseReopened",
    "CaseSetting",
    "ChildDetailsChangedFacts",
    "ChildFacts",
    "ChildRegisteredFacts",
    "EligibilityDecided",
    "EligibilityFacts",
    "EligibilityGround",
    "EligibilityOutcome",
    "Mode",
    "PlacementChanged",
    "PlanAmendedFacts",
    "PlanIssuedFacts",
    "PlanSetting",
    "ReopenReason",
    "ReviewRequested",
    "RiskAssessmentRecorded",
    "TrainingOutcome",
    "TransportDisclosureRecorded",
    "TravelTrainingConcluded",
    "TravelTrainingReferred",
    "TravelTrainingSessionRecorded",
]

CATALOGUE = Catalogue("transport")
"""Every event the transport service publishes (and the readers of those it consumes)."""

DATA_CLASS: Final = DataClass.TRANSPORT
"""The class of information this service records: another agency needs a permit for it."""

Actor = Annotated[str, Field(min_length=1, max_length=255, description="a token's sub")]
"""Who did it: the practitioner's (or family member's) token subject."""

_Urn = Annotated[str, Field(pattern=r"^[0-9]{6}$", description="the DfE URN, 6 digits")]
_ForeignText = Annotated[str, PlainText(max_length=1000)]
_Reason = Annotated[str, PlainText(max_length=5000)]


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- what transport reads from the plans and children services -------------------------


class PlanSetting(BaseModel):
    """The setting a plan names (section I), as the plans service sends it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: _ForeignText
    urn: _Urn | None = None
    type: Annotated[str, PlainText(max_length=100)] | None = None


@CATALOGUE.reads(
    "oneplan.plans.plan.issued",
    DataClass.EDUCATION,
    summary="A final EHC plan was issued: a plan naming a setting opens a transport case.",
)
class PlanIssuedFacts(ForeignEvent):
    """What transport needs of an issued plan (unknown fields are ignored)."""

    plan_id: UUID
    child_id: UUID
    issued_on: date
    assessment_id: UUID | None = None
    setting: PlanSetting | None = None
    start_date: date | None = None


@CATALOGUE.reads(
    "oneplan.plans.plan.amended",
    DataClass.EDUCATION,
    summary="A plan was amended: a new setting reopens the transport decision.",
)
class PlanAmendedFacts(ForeignEvent):
    """What transport needs of an amended plan."""

    plan_id: UUID
    child_id: UUID
    amended_on: date
    setting: PlanSetting | None = None
    start_date: date | None = None
    changed_sections: tuple[str, ...] = ()


class ChildFacts(ForeignEvent):
    """Every children event repeats the child's age facts."""

    child_id: UUID
    date_of_birth: date
    compulsory_school_age_ends_on: date


@CATALOGUE.reads(
    "oneplan.children.child.registered",
    DataClass.IDENTITY,
    summary="A child's record was created: transport keeps the date of birth.",
)
class ChildRegisteredFacts(ChildFacts):
    """A new child's age facts."""


@CATALOGUE.reads(
    "oneplan.children.details.changed",
    DataClass.IDENTITY,
    summary="A child's details changed: a move (`address_changed`) reopens a decision.",
)
class ChildDetailsChangedFacts(ChildFacts):
    """A child's details changed; `address_changed` says the family moved."""

    address_changed: bool = False


# --- cases --------------------------------------------------------------------------------


class CaseSetting(_Value):
    """The setting the child travels to (from the plan)."""

    name: ShortText
    urn: _Urn | None = None
    type: Annotated[str, PlainText(max_length=100)] | None = None


@CATALOGUE.register(
    "oneplan.transport.case.opened",
    DATA_CLASS,
    summary="A transport case was opened from an issued EHC plan naming a setting; it awaits "
    "the eligibility decision.",
)
class CaseOpened(Event):
    """A transport case opened (one per child: `case_id` is derived from `child_id`)."""

    case_id: UUID
    child_id: UUID
    plan_id: UUID
    plan_issued_on: BoundedDate
    setting: CaseSetting
    start_date: BoundedDate | None = None
    opened_at: datetime


@CATALOGUE.register(
    "oneplan.transport.case.placement_changed",
    DATA_CLASS,
    summary="An amended plan changed the setting or the start date; a new setting reopens the "
    "eligibility decision (`decision_reopened`).",
)
class PlacementChanged(Event):
    """The plan's setting or start date changed."""

    case_id: UUID
    child_id: UUID
    plan_id: UUID
    amended_on: BoundedDate
    setting: CaseSetting
    start_date: BoundedDate | None = None
    setting_changed: bool
    decision_reopened: bool


class ReopenReason(StrEnum):
    """Why a decision was set aside."""

    ADDRESS_CHANGED = "address_changed"


@CATALOGUE.register(
    "oneplan.transport.case.reopened",
    DATA_CLASS,
    summary="The child moved: the eligibility decision is reopened (distances change).",
)
class CaseReopened(Event):
    """The standing decision was set aside: the case awaits a new one."""

    case_id: UUID
    child_id: UUID
    reason: ReopenReason
    reopened_at: datetime


# --- eligibility --------------------------------------------------------------------------


class EligibilityFacts(_Value):
    """The facts the team entered, with the distance it measured (no maps service)."""

    distance_miles: Annotated[float, Field(ge=0, le=500)]
    school_is_nearest_suitable: bool = True
    among_three_nearest_suitable: bool = False
    sen_disability_or_mobility_prevents_walking: bool = False
    sen_disability_or_mobility_details: LongText | None = None
    route_unsafe: bool = False
    route_unsafe_details: LongText | None = None
    low_income: bool = False
    discretionary_reason: LongText | None = None


class EligibilityGround(StrEnum):
    """Why a child is eligible (Education Act 1996 s508B, Schedule 35B)."""

    BEYOND_WALKING_DISTANCE = "beyond_walking_distance"
    SEN_DISABILITY_OR_MOBILITY = "sen_disability_or_mobility"
    UNSAFE_ROUTE = "unsafe_route"
    EXTENDED_RIGHTS_LOW_INCOME = "extended_rights_low_income"
    DISCRETIONARY = "discretionary"


class EligibilityOutcome(StrEnum):
    """The decision."""

    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"


@CATALOGUE.register(
    "oneplan.transport.eligibility.decided",
    DATA_CLASS,
    summary="The eligibility decision with its grounds and reasons, the walking distance "
    "applied, the working days since the plan's issue against the target, and the date by "
    "which the family may ask for a review.",
)
class EligibilityDecided(Event):
    """The team decided eligibility from the facts it entered."""

    case_id: UUID
    child_id: UUID
    decision_id: UUID
    outcome: EligibilityOutcome
    grounds: tuple[EligibilityGround, ...]
    reasons: tuple[_Reason, ...] = Field(min_length=1)
    facts: EligibilityFacts
    age_on_decision: int = Field(ge=0, le=30)
    walking_distance_miles: int
    decided_on: BoundedDate
    decided_by: Actor
    plan_issued_on: BoundedDate
    working_days_from_issue: int | None
    target_working_days: int
    within_target: bool | None
    review_request_by: BoundedDate
    reassess_on: BoundedDate | None = None
    on_review: bool = False
    first_decision: bool = Field(
        default=True,
        description="the case's first decision: the one timed from the plan's issue in reports",
    )


@CATALOGUE.register(
    "oneplan.transport.review.requested",
    DATA_CLASS,
    summary="The family asked for a review of the eligibility decision (stage one).",
)
class ReviewRequested(Event):
    """The family asked the authority to review its decision."""

    case_id: UUID
    child_id: UUID
    decision_id: UUID
    requested_on: BoundedDate
    requested_by: Actor
    grounds: LongText
    within_time: bool


# --- risk assessments --------------------------------------------------------------------


@CATALOGUE.register(
    "oneplan.transport.risk_assessment.recorded",
    DATA_CLASS,
    summary="A travel risk assessment: hazards, medical needs, behaviour support, seating and "
    "equipment, escort, reviewer and review date (the Board counts these).",
)
class RiskAssessmentRecorded(Event):
    """A risk assessment of the child's journey."""

    case_id: UUID
    child_id: UUID
    risk_assessment_id: UUID
    assessed_on: BoundedDate
    hazards: tuple[ShortText, ...] = Field(min_length=1, max_length=30)
    medical_needs: LongText | None = None
    medical_handling: LongText | None = None
    behaviour_support: LongText | None = None
    seating_and_equipment: LongText | None = None
    escort_needed: bool
    reviewer: Name
    review_due_on: BoundedDate
    recorded_by: Actor


# --- arrangements ------------------------------------------------------------------------


class Mode(StrEnum):
    """How the child travels."""

    TAXI = "taxi"
    MINIBUS = "minibus"
    PASSENGER_ASSISTANT = "passenger_assistant"
    ESCORT = "escort"
    PERSONAL_TRANSPORT_BUDGET = "personal_transport_budget"
    BUS_PASS = "bus_pass"  # noqa: S105 - a travel pass, not a secret
    INDEPENDENT_TRAVEL = "independent_travel"


VEHICLE_MODES: Final = frozenset({Mode.TAXI, Mode.MINIBUS})
"""Modes the authority runs to a timetable: they need pick-up and drop-off times."""


class ArrangementDetails(_Value):
    """What the arrangement is."""

    modes: tuple[Mode, ...] = Field(min_length=1, max_length=len(Mode))
    operator: ShortText | None = None
    pick_up_time: time | None = None
    drop_off_time: time | None = None
    starts_on: BoundedDate


@CATALOGUE.register(
    "oneplan.transport.arrangement.made",
    DATA_CLASS,
    summary="Transport was arranged: modes, operator, pick-up and drop-off times, start date.",
)
class ArrangementMade(Event):
    """An arrangement for an eligible child."""

    case_id: UUID
    child_id: UUID
    arrangement_id: UUID
    details: ArrangementDetails
    made_on: BoundedDate
    made_by: Actor


@CATALOGUE.register(
    "oneplan.transport.arrangement.changed",
    DATA_CLASS,
    summary="The current arrangement changed (its new details replace the old from "
    "`details.starts_on`).",
)
class ArrangementChanged(Event):
    """The arrangement's details changed."""

    case_id: UUID
    child_id: UUID
    arrangement_id: UUID
    details: ArrangementDetails
    reason: LongText
    changed_on: BoundedDate
    changed_by: Actor


@CATALOGUE.register(
    "oneplan.transport.arrangement.cancelled",
    DATA_CLASS,
    summary="The current arrangement was cancelled from `cancelled_from`.",
)
class ArrangementCancelled(Event):
    """The arrangement ends."""

    case_id: UUID
    child_id: UUID
    arrangement_id: UUID
    cancelled_from: BoundedDate
    reason: LongText
    cancelled_by: Actor


# --- independent travel training ----------------------------------------------------------


@CATALOGUE.register(
    "oneplan.transport.travel_training.referred",
    DATA_CLASS,
    summary="The young person was referred for independent travel training.",
)
class TravelTrainingReferred(Event):
    """A referral for independent travel training."""

    case_id: UUID
    child_id: UUID
    training_id: UUID
    referred_on: BoundedDate
    goal: LongText
    referred_by: Actor


@CATALOGUE.register(
    "oneplan.transport.travel_training.session_recorded",
    DATA_CLASS,
    summary="A session of independent travel training took place.",
)
class TravelTrainingSessionRecorded(Event):
    """One training session."""

    case_id: UUID
    child_id: UUID
    training_id: UUID
    session_on: BoundedDate
    trainer: Name
    notes: LongText | None = None
    recorded_by: Actor


class TrainingOutcome(StrEnum):
    """How independent travel training ended."""

    COMPLETED_SUCCESSFULLY = "completed_successfully"
    COMPLETED_PARTLY = "completed_partly"
    WITHDRAWN = "withdrawn"


@CATALOGUE.register(
    "oneplan.transport.travel_training.concluded",
    DATA_CLASS,
    summary="Independent travel training ended: completed successfully, partly, or withdrawn "
    "(the Board counts completions; a completion is a preparing-for-adulthood contribution).",
)
class TravelTrainingConcluded(Event):
    """The training ended with `outcome`."""

    case_id: UUID
    child_id: UUID
    training_id: UUID
    outcome: TrainingOutcome
    concluded_on: BoundedDate
    sessions: int = Field(ge=0)
    notes: LongText | None = None
    concluded_by: Actor


CONTRIBUTIONS = register_contribution_events("transport", CATALOGUE)
"""`oneplan.transport.contribution.submitted|revised|withdrawn`: risk assessments (section K)
and travel training completions (section E, preparing for adulthood) in the shared plan."""

TransportDisclosureRecorded = register_disclosure_event("transport", CATALOGUE)
"""`oneplan.transport.disclosure.recorded`: published when another agency is shown this
service's data (`SharingDep.record`); the consent service adds it to the family's log."""
