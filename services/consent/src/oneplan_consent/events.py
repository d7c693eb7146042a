"""The consent service's event catalogue: what it publishes, the contract every replica reads.

Every event carries `child_id`. The fields a sharing decision rests on are defined once, in
`oneplan_sharing.facts` (what every service's replica reads); the events here extend those
facts with who recorded what, how and why, and are strict (unknown fields refused).
Agencies are plain names (`send`, `school`, `health`, `social_care`, `transport`, `family`,
plus integrators') so a new agency needs no change here.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from oneplan_events.catalogue import Catalogue, DataClass, Event, ForeignEvent
from oneplan_events.types import ShortText
from oneplan_events.vocabulary import Purpose
from oneplan_sharing.facts import (
    CONSENT_GIVEN,
    ConsentExpiry,
    ConsentGrant,
    ConsentWithdrawal,
    DutyEnd,
    DutyGrant,
    OverrideEnd,
    OverrideGrant,
)

__all__ = [
    "CATALOGUE",
    "CaptureMethod",
    "ChildAgeFacts",
    "ChildRegisteredFacts",
    "ConsentCapacity",
    "ConsentExpired",
    "ConsentGiven",
    "ConsentGiver",
    "ConsentWithdrawn",
    "DetailsChangedFacts",
    "FamilyMemberAddedFacts",
    "FamilyMemberChangedFacts",
    "FamilyMemberFacts",
    "FamilyMemberRemovedFacts",
    "LawfulBasis",
    "OverrideEnded",
    "OverrideRecorded",
    "OverrideReviewed",
    "Purpose",
    "RefusalRecorded",
    "StatutoryDutyEnded",
    "StatutoryDutyRecorded",
]

CATALOGUE = Catalogue("consent")
"""Every event the consent service publishes."""

# The published events refuse what they do not declare, unlike the replicas' readers.
_STRICT = ConfigDict(frozen=True, extra="forbid")


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

    model_config = _STRICT

    person_id: UUID | None = Field(
        default=None,
        description="The family member's id (children service); the child's id for the child.",
    )
    name: ShortText
    capacity: ConsentCapacity
    mca_assessment_reference: ShortText | None = Field(
        default=None,
        description="MCA assessment recording a lack of capacity for this decision.",
    )
    gillick_assessment_reference: ShortText | None = Field(
        default=None,
        description="The practitioner's recorded Gillick competence assessment.",
    )


@CATALOGUE.register(
    CONSENT_GIVEN,
    DataClass.CONSENT,
    version=1,
    summary="Consent was given to share a child's data between agencies.",
)
class ConsentGiven(ConsentGrant):
    model_config = _STRICT

    given_by: ConsentGiver
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
class ConsentWithdrawn(ConsentWithdrawal):
    model_config = _STRICT

    withdrawn_at: AwareDatetime
    withdrawn_by: str
    reason: str | None = None


@CATALOGUE.register(
    "oneplan.consent.consent.expired",
    DataClass.CONSENT,
    version=1,
    summary="A consent reached the end of its validity period.",
)
class ConsentExpired(ConsentExpiry):
    model_config = _STRICT

    expired_at: AwareDatetime


@CATALOGUE.register(
    "oneplan.consent.override.recorded",
    DataClass.CONSENT,
    version=1,
    summary="A safeguarding lead recorded sharing without consent (time-limited, to be reviewed).",
)
class OverrideRecorded(OverrideGrant):
    model_config = _STRICT

    reason: str
    lawful_basis: LawfulBasis
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
class OverrideEnded(OverrideEnd):
    model_config = _STRICT

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
class StatutoryDutyRecorded(DutyGrant):
    model_config = _STRICT

    lawful_basis: LawfulBasis
    description: str
    recorded_by: str
    recorded_by_agency: str


@CATALOGUE.register(
    "oneplan.consent.duty.ended",
    DataClass.CONSENT,
    version=1,
    summary="A recorded statutory duty to share no longer applies.",
)
class StatutoryDutyEnded(DutyEnd):
    model_config = _STRICT

    ended_by: str
    ended_at: AwareDatetime
    reason: str


# -- what the consent service reads from other services ------------------------------------


class ChildAgeFacts(ForeignEvent):
    """What every children event repeats: who consents depends on the child's age."""

    child_id: UUID
    date_of_birth: date
    compulsory_school_age_ends_on: date


class FamilyMemberFacts(ChildAgeFacts):
    """Who holds parental responsibility decides who may consent for a child."""

    member_id: UUID
    relationship: str
    parental_responsibility: bool


@CATALOGUE.reads("oneplan.children.child.registered", DataClass.IDENTITY)
class ChildRegisteredFacts(ChildAgeFacts):
    """A child's record was created (the children service)."""


@CATALOGUE.reads("oneplan.children.details.changed", DataClass.IDENTITY)
class DetailsChangedFacts(ChildAgeFacts):
    """A child's details changed (the date of birth may be among them)."""


@CATALOGUE.reads("oneplan.children.family_member.added", DataClass.IDENTITY)
class FamilyMemberAddedFacts(FamilyMemberFacts):
    """A person joined the child's network."""


@CATALOGUE.reads("oneplan.children.family_member.changed", DataClass.IDENTITY)
class FamilyMemberChangedFacts(FamilyMemberFacts):
    """What is recorded about a person in the network changed."""


@CATALOGUE.reads("oneplan.children.family_member.removed", DataClass.IDENTITY)
class FamilyMemberRemovedFacts(ChildAgeFacts):
    """A person left the child's network."""

    member_id: UUID
