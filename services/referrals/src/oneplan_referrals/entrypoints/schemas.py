"""What the referrals API accepts and answers (its OpenAPI document comes from these)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from oneplan_events.types import AgencyName, BoundedDate, LongText, NotFutureDate, ShortText
from oneplan_referrals.adapters.tables import AdviceTaskRow, ClinicalNoteRow
from oneplan_referrals.domain.advice import AdviceTask
from oneplan_referrals.domain.directory import DirectoryEntry
from oneplan_referrals.domain.listing import ListedService
from oneplan_referrals.domain.referral import Appointment, Referral
from oneplan_referrals.domain.waits import ClockStatus, Wait, wait_of
from oneplan_referrals.events import (
    Author,
    CancelledBy,
    Commissioner,
    DischargeOutcome,
    ServiceDetails,
    Urgency,
)

__all__ = [
    "AdviceContext",
    "AdviceReuse",
    "AdviceSubmission",
    "AdviceTaskDetail",
    "AdviceTaskOut",
    "AdviceTasksOut",
    "AppointmentIn",
    "AppointmentOut",
    "Cancellation",
    "ChildReferralsOut",
    "ClinicalNoteOut",
    "DirectoryServiceOut",
    "Discharge",
    "EarlierAdvice",
    "NewReferral",
    "ReferralDetail",
    "ReferralOut",
    "Retirement",
    "ServiceIn",
    "StoryOut",
    "Triage",
    "TriageDecision",
    "WaitOut",
    "WaitingItem",
    "WaitingPage",
    "WaitingReport",
    "Withheld",
]

_Outcome = ShortText


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewReferral(_In):
    """A referral of a known child to a service of the directory (`GET /v1/directory`)."""

    child_id: UUID
    service_id: UUID
    reason: LongText = Field(
        description="Why the child is referred (clinical: kept in this service, never published)."
    )
    urgency: Urgency = Urgency.ROUTINE
    received_on: NotFutureDate = Field(description="Day 1 of the 18-week wait.")
    referrer_agency: AgencyName | None = Field(
        default=None,
        description="The referrer's agency when health records a referral on its behalf "
        "(default: the caller's agency; only health staff may name another).",
    )


class TriageDecision(StrEnum):
    """What triage decided."""

    ACCEPTED = "accepted"
    REDIRECTED = "redirected"
    DECLINED = "declined"


class Triage(_In):
    """Triage's decision; `to_service_id` for a redirection, `signposted_to` for a decline."""

    decision: TriageDecision
    on: NotFutureDate
    to_service_id: UUID | None = None
    signposted_to: Annotated[list[UUID], Field(max_length=20)] = []
    note: LongText | None = Field(default=None, description="Clinical: kept here only.")


class AppointmentIn(_In):
    """An appointment to book."""

    booked_on: NotFutureDate
    appointment_on: BoundedDate


class Cancellation(_In):
    """Who cancelled an appointment, and when."""

    by: CancelledBy
    on: NotFutureDate


class Discharge(_In):
    """The referral's close."""

    on: NotFutureDate
    outcome: DischargeOutcome
    note: LongText | None = Field(default=None, description="Clinical: kept here only.")


class WaitOut(BaseModel):
    """The wait to a first appointment against 18 weeks, as it stands today."""

    received_on: date
    breach_on: date
    first_seen_on: date | None
    days: int
    weeks: int
    status: ClockStatus
    flagged: bool
    next_appointment_on: date | None

    @classmethod
    def of(cls, wait: Wait) -> WaitOut:
        """The view of a wait."""
        return cls(
            received_on=wait.received_on,
            breach_on=wait.breach_on,
            first_seen_on=wait.first_seen_on,
            days=wait.days,
            weeks=wait.weeks,
            status=wait.status,
            flagged=wait.flagged,
            next_appointment_on=wait.next_appointment_on,
        )


class AppointmentOut(BaseModel):
    """One appointment."""

    appointment_id: UUID
    booked_on: date
    appointment_on: date
    status: str
    cancelled_by: CancelledBy | None
    cancelled_on: date | None

    @classmethod
    def of(cls, appointment: Appointment) -> AppointmentOut:
        """The view of an appointment."""
        return cls(
            appointment_id=appointment.appointment_id,
            booked_on=appointment.booked_on,
            appointment_on=appointment.appointment_on,
            status=appointment.status.value,
            cancelled_by=appointment.cancelled_by,
            cancelled_on=appointment.cancelled_on,
        )


class ReferralOut(BaseModel):
    """A referral without clinical content: child, service, dates, status, wait."""

    referral_id: UUID
    child_id: UUID
    service_id: UUID
    service_name: str | None
    referrer_agency: str
    urgency: Urgency
    status: str
    received_on: date
    accepted_on: date | None
    closed_on: date | None
    outcome: DischargeOutcome | None
    redirected_from: list[UUID]
    signposted_to: list[UUID]
    appointments: list[AppointmentOut]
    wait: WaitOut

    @classmethod
    def of(cls, referral: Referral, today: date, service_name: str | None) -> ReferralOut:
        """The view of a referral on ``today``."""
        return cls(
            referral_id=referral.referral_id,
            child_id=referral.child_id,
            service_id=referral.service_id,
            service_name=service_name,
            referrer_agency=referral.referrer_agency,
            urgency=referral.urgency,
            status=referral.status.value,
            received_on=referral.received_on,
            accepted_on=referral.accepted_on,
            closed_on=referral.closed_on,
            outcome=referral.outcome,
            redirected_from=list(referral.redirected_from),
            signposted_to=list(referral.signposted_to),
            appointments=[AppointmentOut.of(a) for a in referral.appointments],
            wait=WaitOut.of(wait_of(referral, today)),
        )


class ClinicalNoteOut(BaseModel):
    """Clinical narrative about a referral (health staff only)."""

    kind: str
    text: str
    written_by: str
    written_at: datetime

    @classmethod
    def of(cls, row: ClinicalNoteRow) -> ClinicalNoteOut:
        """The view of a note."""
        return cls(
            kind=row.kind, text=row.text, written_by=row.written_by, written_at=row.written_at
        )


class ReferralDetail(ReferralOut):
    """A referral with its clinical narrative (health staff only)."""

    notes: list[ClinicalNoteOut]


class WaitingItem(BaseModel):
    """A referral on the waiting list: who, to which service, since when, and the wait
    (the whole referral, appointments and notes, is `GET /v1/referrals/{id}`)."""

    referral_id: UUID
    child_id: UUID
    service_id: UUID
    service_name: str | None
    referrer_agency: str
    urgency: Urgency
    status: str
    received_on: date
    wait: WaitOut


class WaitingPage(BaseModel):
    """A page of the waiting-list worklist, longest waiting first."""

    total: int = Field(description="Referrals on the waiting list (the service's, if asked).")
    items: list[WaitingItem]
    next: str | None = Field(
        description="The `after` of the next page (None: this page is the last)."
    )


class Withheld(BaseModel):
    """A data class the reader may not see, and why (never its content)."""

    data_class: str
    reason: str | None


class ChildReferralsOut(BaseModel):
    """A child's referrals as this reader may see them (the family: all of them)."""

    items: list[ReferralOut]
    withheld: list[Withheld]


class WaitingBand(BaseModel):
    """Open referrals in one band of weeks waiting."""

    weeks: str
    count: int


class WaitingReport(BaseModel):
    """Open referrals by weeks waiting, the ones flagged, and the 18-week measure."""

    as_of: date
    service_id: UUID | None
    open: int
    bands: list[WaitingBand]
    flagged: list[WaitingItem]
    first_seen: int = Field(description="Referrals whose first appointment was attended.")
    first_seen_within_18_weeks: int
    percent_within_18_weeks: float | None


class AdviceSubmission(_In):
    """Health's advice: needs (section C) and provision (section G, agreed by the
    responsible commissioner)."""

    author: Author
    health_needs: LongText
    health_provision: LongText
    outcomes: Annotated[list[_Outcome], Field(max_length=20)] = []
    commissioner: Commissioner
    submitted_on: NotFutureDate | None = Field(default=None, description="Default: today.")


class AdviceReuse(_In):
    """Answer with the child's earlier health advice, which the authority, its author and
    the family agree is sufficient (Regulation 6(4))."""

    earlier_advice_request_id: UUID
    author: Author
    commissioner: Commissioner
    family_agreed: Literal[True] = Field(description="The family agreed to the reuse.")
    submitted_on: NotFutureDate | None = None


class AdviceTaskOut(BaseModel):
    """A health advice task."""

    advice_request_id: UUID
    assessment_id: UUID
    child_id: UUID
    requested_on: date
    due_on: date
    submitted_on: date | None
    status: Literal["open", "submitted"]
    late_by_days: int

    @classmethod
    def of(cls, row: AdviceTaskRow | AdviceTask, today: date) -> AdviceTaskOut:
        """The view of a task on ``today``."""
        end = row.submitted_on or today
        return cls(
            advice_request_id=row.advice_request_id,
            assessment_id=row.assessment_id,
            child_id=row.child_id,
            requested_on=row.requested_on,
            due_on=row.due_on,
            submitted_on=row.submitted_on,
            status="submitted" if row.submitted_on else "open",
            late_by_days=max((end - row.due_on).days, 0),
        )


class AdviceTasksOut(BaseModel):
    """Health advice tasks, soonest due first."""

    items: list[AdviceTaskOut]


class EarlierAdvice(AdviceTaskOut):
    """Health advice submitted earlier for the same child: this service's own record."""

    author: Author | None
    health_needs: str | None
    health_provision: str | None
    outcomes: list[str]
    provision_agreed_by: Commissioner | None
    reused_from: UUID | None

    @classmethod
    def of_task(cls, task: AdviceTask, today: date) -> EarlierAdvice:
        """The view of an earlier task's advice."""
        return cls(
            **AdviceTaskOut.of(task, today).model_dump(),
            author=task.author,
            health_needs=task.health_needs,
            health_provision=task.health_provision,
            outcomes=list(task.outcomes),
            provision_agreed_by=task.commissioner,
            reused_from=task.reused_from,
        )


class StoryOut(BaseModel):
    """The child's story as the children service last published it ("all about me": its
    parts, each in the teller's words with who told it and when)."""

    revision: int
    story: dict[str, Any]


class AdviceContext(BaseModel):
    """What a clinician answering a request for health advice is shown: the child's story
    where consent releases it to health (else `withheld` says why, with none of it), and
    the existing health picture, this service's own: the child's referrals here with their
    status, outcome and wait, and the child's earlier health advice."""

    advice_request_id: UUID
    child_id: UUID
    story: StoryOut | None = Field(
        description="None when withheld, or when the children service has published none."
    )
    withheld: list[Withheld]
    referrals: list[ReferralOut]
    earlier_advice: list[EarlierAdvice]


class AdviceTaskDetail(AdviceTaskOut):
    """A task with what the clinician needs: the authority's question, the child's
    referrals here (the existing health picture) and earlier advice to offer for reuse."""

    question: str | None
    referrals: list[ReferralOut]
    reusable: list[AdviceTaskOut]


class ServiceIn(ServiceDetails):
    """A service of the directory as its editors describe it (its id is the directory's)."""


class Retirement(_In):
    """A service's retirement from the directory."""

    on: NotFutureDate | None = Field(default=None, description="Default: today.")
    reason: ShortText | None = None


class DirectoryServiceOut(DirectoryEntry):
    """A service of the directory, and whether (since when) it is retired."""

    retired_on: date | None

    @classmethod
    def of(cls, listed: ListedService) -> DirectoryServiceOut:
        """The view of a service of the directory."""
        return cls(**listed.entry.model_dump(), retired_on=listed.retired_on)
