"""The referrals service's event catalogue: what it publishes, the contract others read.

Health data is special category data, so the published events carry only what other services
need: the child, the service, dates and status. Clinical content (the reason for a referral,
triage and discharge notes) stays in this service's own tables; it leaves the service only as
contributions to the shared plan (`oneplan.referrals.contribution.submitted`, data class
`health`, sections C and G), where the consent decision applies to every reader.

Readers of other services' events (tolerant `ForeignEvent`s, just the fields needed):
`oneplan.children.child.registered` (which children exist) and
`oneplan.plans.advice.requested` (the EHC assessment's request for health advice).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Final, Literal
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
from oneplan_events.types import AgencyName, BoundedDate, Name, ShortText

__all__ = [
    "CATALOGUE",
    "CONTRIBUTIONS",
    "DATA_CLASS",
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
    "DischargeOutcome",
    "ReferralAccepted",
    "ReferralDeclined",
    "ReferralDischarged",
    "ReferralReceived",
    "ReferralRedirected",
    "ReferralsDisclosureRecorded",
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
