"""Event contract of the consent service (owned by services/consent).

Every event carries `child_id`; a consent replica needs nothing but these events to decide.
Agencies are plain names (`send`, `school`, `health`, `social_care`, `transport`, `family`,
plus integrators' services) so a new agency needs no change here.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from oneplan_events.catalogue._base import CATALOGUE, DataClass, Event

__all__ = [
    "CaptureMethod",
    "ConsentCapacity",
    "ConsentExpired",
    "ConsentGiven",
    "ConsentGiver",
    "ConsentWithdrawn",
    "LawfulBasis",
    "OverrideEnded",
    "OverrideRecorded",
    "OverrideReviewed",
    "Purpose",
    "RefusalRecorded",
    "StatutoryDutyEnded",
    "StatutoryDutyRecorded",
]


class Purpose(StrEnum):
    """What the recipient will use the data for."""

    EHC_ASSESSMENT = "ehc_assessment"
    PLAN_DELIVERY = "plan_delivery"
    TRANSPORT_PLANNING = "transport_planning"
    EARLY_HELP = "early_help"
    HEALTH_CARE = "health_care"
    REVIEW = "review"


class ConsentCapacity(StrEnum):
    """In what capacity the person gave consent."""

    PARENT_WITH_PR = "parent_with_pr"
    YOUNG_PERSON = "young_person"
    GILLICK_COMPETENT_CHILD = "gillick_competent_child"
    PARENT_FOR_YOUNG_PERSON_LACKING_CAPACITY = "parent_for_young_person_lacking_capacity"


class CaptureMethod(StrEnum):
    """How the consent was captured."""

    SIGNED_FORM = "signed_form"
    PORTAL = "portal"
    VERBAL_WITH_WITNESS = "verbal_with_witness"


class LawfulBasis(StrEnum):
    """The law relied on when sharing without consent (overrides and statutory duties)."""

    CHILDREN_ACT_1989_S17 = "children_act_1989_s17"
    CHILDREN_ACT_1989_S47 = "children_act_1989_s47"
    CHILDREN_ACT_2004_S16LA = "children_act_2004_s16LA"
    CHILDREN_AND_FAMILIES_ACT_2014_S23 = "children_and_families_act_2014_s23"
    CHILDREN_AND_FAMILIES_ACT_2014_S31 = "children_and_families_act_2014_s31"
    COURT_ORDER = "court_order"
    CRIME_AND_DISORDER_ACT_1998_S115 = "crime_and_disorder_act_1998_s115"
    DATA_PROTECTION_ACT_2018_SCH8_SAFEGUARDING = "data_protection_act_2018_sch8_safeguarding"


class ConsentGiver(BaseModel):
    """Who gave consent, and on what footing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    person_id: UUID | None = Field(
        default=None,
        description="The family member's id (children service); the child's id for the child.",
    )
    name: str = Field(min_length=1, max_length=200)
    capacity: ConsentCapacity
    mca_assessment_reference: str | None = Field(
        default=None,
        max_length=200,
        description="MCA assessment recording a lack of capacity for this decision.",
    )
    gillick_assessment_reference: str | None = Field(
        default=None,
        max_length=200,
        description="The practitioner's recorded Gillick competence assessment.",
    )


@CATALOGUE.register(
    "oneplan.consent.consent.given",
    DataClass.CONSENT,
    version=1,
    summary="Consent was given to share a child's data between agencies.",
)
class ConsentGiven(Event):
    consent_id: UUID
    child_id: UUID
    given_by: ConsentGiver
    owner_agencies: tuple[str, ...] = Field(min_length=1)
    recipient_agencies: tuple[str, ...] = Field(min_length=1)
    data_classes: tuple[DataClass, ...] = Field(min_length=1)
    purposes: tuple[Purpose, ...] = Field(min_length=1)
    valid_from: AwareDatetime
    valid_until: AwareDatetime
    capture_method: CaptureMethod
    witness_name: str | None = None
    recorded_by: str
    recorded_by_agency: str


@CATALOGUE.register(
    "oneplan.consent.consent.withdrawn",
    DataClass.CONSENT,
    version=1,
    summary="A consent was withdrawn; it permits no further disclosure.",
)
class ConsentWithdrawn(Event):
    consent_id: UUID
    child_id: UUID
    withdrawn_at: AwareDatetime
    withdrawn_by: str
    reason: str | None = None


@CATALOGUE.register(
    "oneplan.consent.consent.expired",
    DataClass.CONSENT,
    version=1,
    summary="A consent reached the end of its validity period.",
)
class ConsentExpired(Event):
    consent_id: UUID
    child_id: UUID
    expired_at: AwareDatetime


@CATALOGUE.register(
    "oneplan.consent.override.recorded",
    DataClass.CONSENT,
    version=1,
    summary="A safeguarding lead recorded sharing without consent (time-limited, to be reviewed).",
)
class OverrideRecorded(Event):
    override_id: UUID
    child_id: UUID
    reason: str
    lawful_basis: LawfulBasis
    recipient_agencies: tuple[str, ...] = Field(min_length=1)
    data_classes: tuple[DataClass, ...] = Field(min_length=1)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    hide_from_family: bool
    review_due_on: date
    recorded_by: str
    recorded_by_agency: str


@CATALOGUE.register(
    "oneplan.consent.override.reviewed",
    DataClass.CONSENT,
    version=1,
    summary="A safeguarding override was reviewed.",
)
class OverrideReviewed(Event):
    override_id: UUID
    child_id: UUID
    reviewed_by: str
    reviewed_at: AwareDatetime
    outcome: str


@CATALOGUE.register(
    "oneplan.consent.override.ended",
    DataClass.CONSENT,
    version=1,
    summary="A safeguarding override was ended before its end date.",
)
class OverrideEnded(Event):
    override_id: UUID
    child_id: UUID
    ended_by: str
    ended_at: AwareDatetime
    reason: str


@CATALOGUE.register(
    "oneplan.consent.refusal.recorded",
    DataClass.CONSENT,
    version=1,
    summary="A decision not to share was recorded, with its reason.",
)
class RefusalRecorded(Event):
    refusal_id: UUID
    child_id: UUID
    owner_agency: str
    recipient_agency: str
    data_classes: tuple[DataClass, ...] = Field(min_length=1)
    purpose: Purpose
    reason: str
    recorded_by: str
    recorded_by_agency: str
    recorded_at: AwareDatetime


@CATALOGUE.register(
    "oneplan.consent.duty.recorded",
    DataClass.CONSENT,
    version=1,
    summary="A statutory duty to share was recorded (sharing that needs no consent).",
)
class StatutoryDutyRecorded(Event):
    duty_id: UUID
    child_id: UUID
    lawful_basis: LawfulBasis
    description: str
    owner_agencies: tuple[str, ...] = Field(min_length=1)
    recipient_agencies: tuple[str, ...] = Field(min_length=1)
    data_classes: tuple[DataClass, ...] = Field(min_length=1)
    purposes: tuple[Purpose, ...] = Field(min_length=1)
    valid_from: AwareDatetime
    valid_until: AwareDatetime | None = None
    recorded_by: str
    recorded_by_agency: str


@CATALOGUE.register(
    "oneplan.consent.duty.ended",
    DataClass.CONSENT,
    version=1,
    summary="A recorded statutory duty to share no longer applies.",
)
class StatutoryDutyEnded(Event):
    duty_id: UUID
    child_id: UUID
    ended_by: str
    ended_at: AwareDatetime
    reason: str
