"""The commands of the plans service: imperatives, holding values validated at the edge.

Dates the decider needs to compare with "today" are compared with the command's instant
(`now`, in England), never the wall clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from oneplan_events.vocabulary import PlanSection
from oneplan_plans.domain.clock import ExceptionKind
from oneplan_plans.events import AdviceType, Requester, ReviewOutcome, Setting, SupportHistory

__all__ = [
    "AmendPlan",
    "AssessmentCommand",
    "CompleteAssessment",
    "DecideNotToIssue",
    "DecideToAssess",
    "IssueDraft",
    "IssuePlan",
    "PlanCommand",
    "ReceiveAdvice",
    "RecordComments",
    "RecordException",
    "RecordMediationCertificate",
    "RecordReview",
    "RequestAdvice",
    "RequestAssessment",
    "ReuseAdvice",
]


@dataclass(frozen=True)
class RequestAssessment:
    """Record a request for an EHC needs assessment received on `received_on` (day 1)."""

    assessment_id: UUID
    child_id: UUID
    received_on: date
    requested_by: Requester
    recorded_by: str
    requester_name: str | None = None
    child_views: str | None = None
    views_helped_by: str | None = None
    sen_support: SupportHistory | None = None  # a SEN support review asked for it


@dataclass(frozen=True)
class DecideToAssess:
    """Agree to assess, or decline (then the letter's date starts the appeal period)."""

    agree: bool
    decided_on: date
    reasons: str
    decided_by: str
    letter_sent_on: date | None = None


@dataclass(frozen=True)
class RecordMediationCertificate:
    """A mediation certificate was issued after a decision the family may appeal."""

    issued_on: date
    recorded_by: str


@dataclass(frozen=True)
class RequestAdvice:
    """Ask an agency for advice (due 6 weeks after `requested_on`)."""

    advice_request_id: UUID
    agency: str
    advice_type: AdviceType
    requested_on: date
    question: str | None = None
    school_year: int | None = None  # the child's year group, when the children events said


@dataclass(frozen=True)
class ReuseAdvice:
    """Reuse advice already given (Regulation 6(4)): all three must agree."""

    advice_request_id: UUID
    agency: str
    advice_type: AdviceType
    given_on: date
    author: str
    description: str
    agreed_by_authority: bool
    agreed_by_author: bool
    agreed_by_family: bool
    reused_on: date
    recorded_by: str


@dataclass(frozen=True)
class ReceiveAdvice:
    """Advice asked for arrived (entered by the SEND team, or an agency's advice event)."""

    advice_request_id: UUID
    received_on: date
    source_event_id: UUID | None = None
    from_agency: bool = False  # an agency's event: a repeat is nothing to do, not an error


@dataclass(frozen=True)
class RecordException:
    """Record a lawful exception to the time limits, with its period and evidence."""

    exception_id: UUID
    kind: ExceptionKind
    starts_on: date
    ends_on: date
    evidence: str
    recorded_by: str


@dataclass(frozen=True)
class DecideNotToIssue:
    """After assessing, decide not to issue a plan (the letter starts the appeal period)."""

    decided_on: date
    letter_sent_on: date
    reasons: str
    decided_by: str


@dataclass(frozen=True)
class IssueDraft:
    """Send the family a draft plan; they have 15 days to comment and name a setting."""

    plan_id: UUID
    issued_on: date
    sections: Mapping[PlanSection, str]
    issued_by: str


@dataclass(frozen=True)
class RecordComments:
    """The family's comments on the draft, and the setting they ask for, if any."""

    received_on: date
    recorded_by: str
    comments: str | None = None
    setting_requested: Setting | None = None


@dataclass(frozen=True)
class CompleteAssessment:
    """End the assessment with the final plan (its sections as issued)."""

    issued_on: date
    sections: Mapping[PlanSection, str]
    issued_by: str


AssessmentCommand = (
    RequestAssessment
    | DecideToAssess
    | RecordMediationCertificate
    | RequestAdvice
    | ReuseAdvice
    | ReceiveAdvice
    | RecordException
    | DecideNotToIssue
    | IssueDraft
    | RecordComments
    | CompleteAssessment
)
"""Every command of an assessment."""


@dataclass(frozen=True)
class IssuePlan:
    """Issue the final plan (a new record: `plan/<plan_id>`)."""

    plan_id: UUID
    assessment_id: UUID | None
    child_id: UUID
    issued_on: date
    setting: Setting
    start_date: date | None
    next_review_due_on: date


@dataclass(frozen=True)
class AmendPlan:
    """Amend a final plan; a changed section I names the new setting."""

    amended_on: date
    changed_sections: tuple[PlanSection, ...]
    amended_by: str
    setting: Setting | None = None
    start_date: date | None = None
    notice_on: date | None = None


@dataclass(frozen=True)
class RecordReview:
    """Record a review meeting and the authority's decision after it."""

    meeting_on: date
    decided_on: date
    outcome: ReviewOutcome
    preparing_for_adulthood: bool
    recorded_by: str
    next_review_due_on: date  # computed by the caller from the child's age
    reasons: str | None = None
    school_year: int | None = None


PlanCommand = IssuePlan | AmendPlan | RecordReview
"""Every command of a plan."""
