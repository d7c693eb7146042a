"""The commands of SEN support plans and of tracked EHC outcomes: imperatives holding values
validated at the edge. What the decider cannot know (the matrix, the assessment a review
starts) the handler puts in the command."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from oneplan_plans.domain.provision_matrix import Matrix
from oneplan_plans.domain.support_vocabulary import (
    AreaOfNeed,
    CloseReason,
    ProgressStatus,
    ReviewDecision,
    Tier,
)
from oneplan_plans.events import SupportSetting

__all__ = [
    "CloseSupportPlan",
    "EhcOutcomesCommand",
    "LineIn",
    "NeedIn",
    "OpenSupportPlan",
    "OutcomeIn",
    "PlanProvision",
    "ProgressIn",
    "RecordDelivery",
    "RecordEhcOutcomes",
    "RecordEhcProgress",
    "ReviewCycle",
    "StartCycle",
    "SupportCommand",
]


@dataclass(frozen=True)
class NeedIn:
    need_id: UUID  # an earlier cycle's id: the same need, carried on
    area: AreaOfNeed
    description: str
    expected_tier: Tier


@dataclass(frozen=True)
class OutcomeIn:
    outcome_id: UUID  # an earlier cycle's id: the same outcome, carried on
    description: str
    need_ids: tuple[UUID, ...] = ()


@dataclass(frozen=True)
class LineIn:
    """A provision line as asked for: the entry's tier, provider and frequency by default."""

    line_id: UUID
    entry_id: str
    duration: str
    starts_on: date
    tier: Tier | None = None
    provider: str | None = None
    frequency: str | None = None
    ends_on: date | None = None
    cost_pence: int | None = None
    outcome_ids: tuple[UUID, ...] = ()


@dataclass(frozen=True)
class ProgressIn:
    outcome_id: UUID
    status: ProgressStatus
    evidence: str


@dataclass(frozen=True)
class OpenSupportPlan:
    plan_id: UUID
    child_id: UUID
    plan_type: str
    setting: SupportSetting
    opened_on: date
    opened_by: str
    opened_by_agency: str


@dataclass(frozen=True)
class StartCycle:
    """Assess and plan: the needs, the views, the outcomes and the provision map."""

    starts_on: date
    needs: tuple[NeedIn, ...]
    outcomes: tuple[OutcomeIn, ...]
    lines: tuple[LineIn, ...]
    matrix: Matrix
    recorded_by: str
    by_agency: str  # the caller's: only the agency that opened the plan runs it
    child_views: str | None = None
    child_views_helped_by: str | None = None
    family_views: str | None = None
    family_views_given_by: str | None = None


@dataclass(frozen=True)
class PlanProvision:
    """Add a line to the current cycle's provision map."""

    line: LineIn
    matrix: Matrix
    recorded_by: str
    by_agency: str  # the caller's: only the agency that opened the plan runs it


@dataclass(frozen=True)
class RecordDelivery:
    """During "do": whether a line was delivered as planned."""

    line_id: UUID
    recorded_on: date
    delivered_as_planned: bool
    recorded_by: str
    by_agency: str  # the caller's: only the agency that opened the plan runs it
    note: str | None = None


@dataclass(frozen=True)
class ReviewCycle:
    """Review the current cycle: progress on each of its outcomes, and the decision."""

    reviewed_on: date
    progress: tuple[ProgressIn, ...]
    decision: ReviewDecision
    recorded_by: str
    by_agency: str  # the caller's: only the agency that opened the plan runs it
    reasons: str | None = None
    assessment_id: UUID | None = None  # the request a decision to ask for one starts


@dataclass(frozen=True)
class CloseSupportPlan:
    closed_on: date
    reason: CloseReason
    recorded_by: str
    by_agency: str  # the caller's: only the agency that opened the plan runs it


SupportCommand = (
    OpenSupportPlan | StartCycle | PlanProvision | RecordDelivery | ReviewCycle | CloseSupportPlan
)


@dataclass(frozen=True)
class RecordEhcOutcomes:
    """Record section E outcomes of an issued EHC plan for tracking."""

    plan_id: UUID
    child_id: UUID
    plan_issued_on: date
    outcomes: tuple[OutcomeIn, ...]
    recorded_on: date
    recorded_by: str


@dataclass(frozen=True)
class RecordEhcProgress:
    """Progress on section E outcomes (at a review)."""

    progress: tuple[ProgressIn, ...]
    recorded_on: date
    recorded_by: str


EhcOutcomesCommand = RecordEhcOutcomes | RecordEhcProgress
