"""The commands of the referrals service: imperatives, validated before the deciders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from oneplan_referrals.events import (
    Author,
    CancelledBy,
    Commissioner,
    DirectoryEntry,
    DirectorySource,
    DischargeOutcome,
    Urgency,
)

__all__ = [
    "AcceptReferral",
    "AdviceCommand",
    "BookAppointment",
    "CancelAppointment",
    "ChangeService",
    "DeclineReferral",
    "DirectoryCommand",
    "DischargeReferral",
    "ListService",
    "OpenAdviceTask",
    "ReceiveReferral",
    "RecordAttendance",
    "RecordDidNotAttend",
    "RedirectReferral",
    "ReferralCommand",
    "RetireService",
    "SubmitAdvice",
]


@dataclass(frozen=True)
class ReceiveReferral:
    """Record a referral received by a service (the directory and the child are checked by
    the handler: the decider cannot know them)."""

    referral_id: UUID
    child_id: UUID
    service_id: UUID
    referrer_agency: str
    urgency: Urgency
    received_on: date
    recorded_by: str


@dataclass(frozen=True)
class AcceptReferral:
    """Triage: accept the referral."""

    on: date


@dataclass(frozen=True)
class RedirectReferral:
    """Triage: send the referral on to another service, keeping its received date."""

    to_service_id: UUID
    on: date


@dataclass(frozen=True)
class DeclineReferral:
    """Triage: decline the referral, signposting the family to other services."""

    on: date
    signposted_to: tuple[UUID, ...] = ()


@dataclass(frozen=True)
class BookAppointment:
    """Book an appointment for an accepted referral."""

    appointment_id: UUID
    booked_on: date
    appointment_on: date


@dataclass(frozen=True)
class RecordAttendance:
    """The child attended the booked appointment (on its date)."""

    appointment_id: UUID


@dataclass(frozen=True)
class RecordDidNotAttend:
    """The child did not attend the booked appointment."""

    appointment_id: UUID


@dataclass(frozen=True)
class CancelAppointment:
    """Cancel a booked appointment, saying by whom."""

    appointment_id: UUID
    by: CancelledBy
    on: date


@dataclass(frozen=True)
class DischargeReferral:
    """Close an accepted referral with an outcome."""

    on: date
    outcome: DischargeOutcome


ReferralCommand = (
    ReceiveReferral
    | AcceptReferral
    | RedirectReferral
    | DeclineReferral
    | BookAppointment
    | RecordAttendance
    | RecordDidNotAttend
    | CancelAppointment
    | DischargeReferral
)
"""Every command of a referral."""


@dataclass(frozen=True)
class OpenAdviceTask:
    """Open the health advice task the EHC assessment asked for (idempotent)."""

    advice_request_id: UUID
    assessment_id: UUID
    child_id: UUID
    requested_on: date


@dataclass(frozen=True)
class SubmitAdvice:
    """Submit the health advice: health needs (section C) and the health provision
    (section G) agreed by the responsible commissioner."""

    author: Author
    health_needs: str
    health_provision: str
    outcomes: tuple[str, ...]
    commissioner: Commissioner
    submitted_on: date
    submitted_by: str
    health_needs_id: UUID
    health_provision_id: UUID
    reused_from: UUID | None = None


AdviceCommand = OpenAdviceTask | SubmitAdvice
"""Every command of a health advice task."""


@dataclass(frozen=True)
class ListService:
    """Add a service to the directory."""

    entry: DirectoryEntry
    source: DirectorySource
    by: str


@dataclass(frozen=True)
class ChangeService:
    """Say something new about a service of the directory (the whole new entry)."""

    entry: DirectoryEntry
    source: DirectorySource
    by: str


@dataclass(frozen=True)
class RetireService:
    """Take a service out of the directory: no new referrals go to it."""

    on: date
    by: str
    reason: str | None = None


DirectoryCommand = ListService | ChangeService | RetireService
"""Every command of a service of the directory."""
