"""The referrals service's event catalogue: what it publishes, the contract others read.

Health data is special category data, so the published events carry only what other services
need: the child, the service, dates and status. Clinical content (the reason for a referral,
triage and discharge notes) stays in this service's own tables; it leaves the service only as
contributions to the shared plan (`oneplan.referrals.contribution.submitted`, data class
`health`, sections C and G), where the consent decision applies to every reader.

The directory of services referrals go to is event-sourced too: each service of it is a
record (`directory/<service id>`) listed, changed and retired by events, from the CSV loaded
at start and from the directory API.

Readers of other services' events (tolerant `ForeignEvent`s, just the fields needed):
`oneplan.children.child.registered` (which children exist),
`oneplan.children.story.revised` (the child's story, shown to a clinician only where consent
allows) and `oneplan.plans.advice.requested` (the EHC assessment's request for health advice).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Final, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationInfo, field_validator

from oneplan_events.catalogue import (
    Catalogue,
    DataClass,
    Event,
    ForeignEvent,
    register_contribution_events,
    register_disclosure_event,
)
from oneplan_events.types import (
    AgencyName,
    BoundedDate,
    LongText,
    Name,
    PlainText,
    ShortText,
)
from oneplan_events.vocabulary import Agency

__all__ = [
    "CATALOGUE",
    "CONTRIBUTIONS",
    "DATA_CLASS",
    "STORY_OWNER",
    "AdviceRequestedFacts",
    "AdviceSubmitted",
    "AdviceTaskOpened",
    "AppointmentAttended",
    "AppointmentBooked",
    "AppointmentCancelled",
    "AppointmentMissed",
    "Author",
    "CancelledBy",
    "ChildRegisteredFacts",
    "Commissioner",
    "DirectoryEntry",
    "DirectoryServiceChanged",
    "DirectoryServiceListed",
    "DirectoryServiceRetired",
    "DirectorySource",
    "DischargeOutcome",
    "ReferralAccepted",
    "ReferralDeclined",
    "ReferralDischarged",
    "ReferralReceived",
    "ReferralRedirected",
    "ReferralsDisclosureRecorded",
    "ServiceDetails",
    "StoryRevisedFacts",
    "Urgency",
]

CATALOGUE = Catalogue("referrals")
"""Every event the referrals service publishes (and the readers of those it consumes)."""

DATA_CLASS: Final = DataClass.HEALTH
"""Everything this service holds is health information: the fact that a child was referred
to CAMHS is special category data too, so every event it publishes is of class `health`."""


class Urgency(StrEnum):
    """How soon the referrer asks for the child to be seen."""

    ROUTINE = "routine"
    URGENT = "urgent"


class CancelledBy(StrEnum):
    """Who cancelled an appointment."""

    FAMILY = "family"
    SERVICE = "service"


class DischargeOutcome(StrEnum):
    """Why a referral was closed (a code, never clinical narrative)."""

    TREATMENT_COMPLETED = "treatment_completed"
    NO_FURTHER_INPUT_NEEDED = "no_further_input_needed"
    TRANSFERRED = "transferred"
    DID_NOT_ENGAGE = "did_not_engage"
    MOVED_AWAY = "moved_away"
    FAMILY_DECLINED = "family_declined"


class Author(BaseModel):
    """Who wrote something: a name and a role (never a token's sub alone)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    role: ShortText


class Commissioner(BaseModel):
    """The responsible commissioner who agreed the health provision (EHC plan section G)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    organisation: ShortText


_Sub = Annotated[str, Field(min_length=1, max_length=255, description="a token's sub")]


# -- referrals --------------------------------------------------------------------------------


@CATALOGUE.register(
    "oneplan.referrals.referral.received",
    DATA_CLASS,
    summary="A referral of a child to a health service was received (day 1 of the 18-week "
    "wait). No clinical content: the reason stays in the referrals service.",
)
class ReferralReceived(Event):
    """A referral was received by a service of the directory."""

    referral_id: UUID
    child_id: UUID
    service_id: UUID
    referrer_agency: AgencyName
    urgency: Urgency
    received_on: BoundedDate
    recorded_by: _Sub


@CATALOGUE.register(
    "oneplan.referrals.referral.accepted",
    DATA_CLASS,
    summary="The service accepted the referral at triage.",
)
class ReferralAccepted(Event):
    """Triage accepted the referral: the child waits for a first appointment."""

    referral_id: UUID
    child_id: UUID
    service_id: UUID
    accepted_on: BoundedDate


@CATALOGUE.register(
    "oneplan.referrals.referral.redirected",
    DATA_CLASS,
    summary="Triage sent the referral on to another service; the wait keeps the original "
    "received date.",
)
class ReferralRedirected(Event):
    """Triage redirected the referral to another service of the directory."""

    referral_id: UUID
    child_id: UUID
    from_service_id: UUID
    to_service_id: UUID
    redirected_on: BoundedDate


@CATALOGUE.register(
    "oneplan.referrals.referral.declined",
    DATA_CLASS,
    summary="Triage declined the referral, signposting the family to other services.",
)
class ReferralDeclined(Event):
    """Triage declined the referral; the family is signposted elsewhere."""

    referral_id: UUID
    child_id: UUID
    service_id: UUID
    declined_on: BoundedDate
    signposted_to: tuple[UUID, ...] = ()


@CATALOGUE.register(
    "oneplan.referrals.appointment.booked",
    DATA_CLASS,
    summary="An appointment was booked for a referred child.",
)
class AppointmentBooked(Event):
    """An appointment was booked (streams `referral/<id>`: appointments belong to it)."""

    referral_id: UUID
    appointment_id: UUID
    child_id: UUID
    service_id: UUID
    booked_on: BoundedDate
    appointment_on: BoundedDate


@CATALOGUE.register(
    "oneplan.referrals.appointment.attended",
    DATA_CLASS,
    summary="The child attended an appointment (the first one ends the 18-week wait).",
)
class AppointmentAttended(Event):
    """The child attended the appointment."""

    referral_id: UUID
    appointment_id: UUID
    child_id: UUID
    attended_on: BoundedDate


@CATALOGUE.register(
    "oneplan.referrals.appointment.missed",
    DATA_CLASS,
    summary="The child did not attend an appointment (the wait goes on).",
)
class AppointmentMissed(Event):
    """Did not attend: the appointment was kept by the service but the child was not seen."""

    referral_id: UUID
    appointment_id: UUID
    child_id: UUID
    missed_on: BoundedDate


@CATALOGUE.register(
    "oneplan.referrals.appointment.cancelled",
    DATA_CLASS,
    summary="An appointment was cancelled, by the family or by the service.",
)
class AppointmentCancelled(Event):
    """The appointment was cancelled before it took place."""

    referral_id: UUID
    appointment_id: UUID
    child_id: UUID
    cancelled_by: CancelledBy
    cancelled_on: BoundedDate


@CATALOGUE.register(
    "oneplan.referrals.referral.discharged",
    DATA_CLASS,
    summary="The child was discharged from the service, with an outcome code.",
)
class ReferralDischarged(Event):
    """The referral closed with an outcome (a code; the narrative stays in the service)."""

    referral_id: UUID
    child_id: UUID
    service_id: UUID
    discharged_on: BoundedDate
    outcome: DischargeOutcome


# -- the directory of services -----------------------------------------------------------------

_Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
_Phone = Annotated[str, PlainText(max_length=30)]
_Email = Annotated[str, PlainText(max_length=254), Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class ServiceDetails(BaseModel):
    """What the directory says about a service referrals can go to (public information,
    nothing about any child)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: _Code
    name: ShortText
    organisation_id: UUID
    organisation: ShortText
    description: LongText
    min_age: int = Field(ge=0, le=25)
    max_age: int = Field(ge=0, le=25)
    referral_criteria: LongText
    email: _Email | None = None
    phone: _Phone | None = None
    url: HttpUrl | None = None
    categories: tuple[Name, ...] = Field(default=(), max_length=20)

    @field_validator("max_age")
    @classmethod
    def _ages_in_order(cls, max_age: int, info: ValidationInfo) -> int:
        min_age = info.data.get("min_age")
        if min_age is not None and min_age > max_age:
            raise ValueError("min_age is above max_age")
        return max_age

    def takes_age(self, age: int) -> bool:
        """Whether a child of ``age`` (whole years) is in the service's age range."""
        return self.min_age <= age <= self.max_age


class DirectoryEntry(ServiceDetails):
    """One service of the directory: its id and details."""

    id: UUID


DirectorySource = Literal["csv", "api"]
"""Where a directory change came from: the CSV loaded at start, or the directory API."""


@CATALOGUE.register(
    "oneplan.referrals.directory.service_listed",
    DATA_CLASS,
    summary="A service was added to the directory referrals go to (from the CSV loaded at "
    "start or the directory API). Public information, nothing about any child.",
)
class DirectoryServiceListed(Event):
    """A service joined the directory (streams `directory/<service id>`)."""

    entry: DirectoryEntry
    source: DirectorySource
    recorded_by: _Sub


@CATALOGUE.register(
    "oneplan.referrals.directory.service_changed",
    DATA_CLASS,
    summary="A service of the directory changed; `entry` is its whole new description and "
    "`changed_fields` names what changed.",
)
class DirectoryServiceChanged(Event):
    """What the directory says about a service changed (the event holds the whole entry)."""

    entry: DirectoryEntry
    changed_fields: tuple[str, ...] = Field(min_length=1)
    source: DirectorySource
    recorded_by: _Sub


@CATALOGUE.register(
    "oneplan.referrals.directory.service_retired",
    DATA_CLASS,
    summary="A service left the directory: no new referrals go to it; the referrals it has "
    "keep its name.",
)
class DirectoryServiceRetired(Event):
    """A service was retired from the directory (final: a service that returns is listed
    again under a new id)."""

    service_id: UUID
    retired_on: BoundedDate
    reason: ShortText | None = None
    recorded_by: _Sub


# -- health advice for EHC needs assessments --------------------------------------------------


@CATALOGUE.register(
    "oneplan.referrals.advice_task.opened",
    DATA_CLASS,
    summary="A health advice task opened for an EHC needs assessment (due 6 weeks after "
    "the request), in reaction to oneplan.plans.advice.requested.",
)
class AdviceTaskOpened(Event):
    """The plans service asked health for advice: a clinician has a task, due in 6 weeks."""

    advice_request_id: UUID
    assessment_id: UUID
    child_id: UUID
    requested_on: BoundedDate
    due_on: BoundedDate


@CATALOGUE.register(
    "oneplan.referrals.advice.submitted",
    DATA_CLASS,
    summary="Health submitted its advice for an EHC needs assessment (the plans service "
    "records it as received). No clinical content: that is in the contributions.",
)
class AdviceSubmitted(Event):
    """The agreed cross-service contract (contract.md), plus optional fields."""

    advice_request_id: UUID
    assessment_id: UUID
    child_id: UUID
    agency: Literal["health"] = "health"
    submitted_on: BoundedDate
    author: Author
    contribution_ids: tuple[UUID, ...] = ()
    provision_agreed_by: Commissioner | None = None
    reused_from: UUID | None = Field(
        default=None, description="the earlier advice request whose advice was reused"
    )


CONTRIBUTIONS = register_contribution_events("referrals", CATALOGUE)
"""`oneplan.referrals.contribution.submitted|revised|withdrawn`: the only events carrying
clinical content, each of data class `health` (sections C and G)."""

ReferralsDisclosureRecorded = register_disclosure_event("referrals", CATALOGUE)
"""`oneplan.referrals.disclosure.recorded`: published when another agency is shown this
service's data (`SharingDep.record`); the consent service adds it to the family's log."""


# -- what it reads of other services ----------------------------------------------------------


@CATALOGUE.reads("oneplan.children.child.registered", DataClass.IDENTITY)
class ChildRegisteredFacts(ForeignEvent):
    """A child's record was created (the children service): referrals are for known
    children only."""

    child_id: UUID
    date_of_birth: date


STORY_OWNER: Final = Agency.SEND
"""Whose data the child's story is: the children service's owner agency (the SEND team).
A clinician sees it only where a consent (or duty, or override) releases the SEND team's
`story` data to health."""


@CATALOGUE.reads("oneplan.children.story.revised", DataClass.STORY)
class StoryRevisedFacts(ForeignEvent):
    """The child's story ("all about me", the source of EHC plan section A), told or
    revised: the whole new story, kept as it came (the children service's contract)."""

    child_id: UUID
    revision: int = Field(ge=1)
    story: dict[str, Any]


@CATALOGUE.reads("oneplan.plans.advice.requested", DataClass.EDUCATION)
class AdviceRequestedFacts(ForeignEvent):
    """The EHC assessment asked an agency for advice (the plans service; contract.md)."""

    assessment_id: UUID
    advice_request_id: UUID
    child_id: UUID
    agency: str
    advice_type: str
    requested_on: date
    due_on: date
    question: str | None = None
