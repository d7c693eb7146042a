"""What the plans API accepts and answers (its OpenAPI document comes from these)."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from oneplan_events.types import AgencyName, BoundedDate, LongText, Name, NotFutureDate, ShortText
from oneplan_events.vocabulary import PlanSection
from oneplan_plans.adapters.tables import ClockRow, PlanRow
from oneplan_plans.domain.assessment import AdviceItem, Assessment
from oneplan_plans.domain.clock import (
    Clock,
    ClockKind,
    ClockStatus,
    ExceptionKind,
    describe_outcome,
)
from oneplan_plans.domain.plan import Plan
from oneplan_plans.domain.settings_directory import DirectoryEntry
from oneplan_plans.events import (
    AdviceType,
    Requester,
    ReviewOutcome,
    Setting,
    SettingType,
    SupportHistory,
    Urn,
)

__all__ = [
    "AdviceOut",
    "AdviceReceivedIn",
    "AdviceRequestIn",
    "AdviceReuseIn",
    "AmendmentIn",
    "AppliedExceptionOut",
    "AssessmentIn",
    "AssessmentOut",
    "ChildRecordsOut",
    "ClockOut",
    "ClocksOut",
    "CommentsIn",
    "DecisionIn",
    "DirectoryEntryOut",
    "DraftIn",
    "ExceptionIn",
    "ExceptionOut",
    "FinalPlanIn",
    "MediationIn",
    "NotToIssueIn",
    "PlacementIn",
    "PlanOut",
    "ReviewIn",
    "Withheld",
    "WorklistItem",
    "WorklistOut",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssessmentIn(_In):
    """A request for an EHC needs assessment, as the authority received it."""

    child_id: UUID
    received_on: NotFutureDate = Field(description="Day 1 of every statutory clock.")
    requested_by: Requester
    requester_name: Name | None = None
    child_views: LongText | None = Field(
        default=None, description="What the child or young person said, in their own words."
    )
    views_helped_by: ShortText | None = Field(
        default=None, description="Who helped the child or young person say it."
    )


class DecisionIn(_In):
    """The decision whether to assess (a decline needs the date of its letter)."""

    outcome: Literal["agree", "decline"]
    decided_on: NotFutureDate
    reasons: LongText
    letter_sent_on: NotFutureDate | None = None


class MediationIn(_In):
    """A mediation certificate issued to the family."""

    issued_on: NotFutureDate


class AdviceRequestIn(_In):
    """Advice to ask of an agency (due 6 weeks after `requested_on`)."""

    agency: AgencyName = Field(
        description="`health`, `social_care`, `educational_psychology`, `school`, `send` or "
        "another agency's name."
    )
    advice_type: AdviceType
    requested_on: NotFutureDate
    question: ShortText | None = None


class AdviceReuseIn(_In):
    """Advice already given, reused instead of asked for again (Regulation 6(4))."""

    agency: AgencyName
    advice_type: AdviceType
    given_on: NotFutureDate
    author: Name
    description: ShortText
    agreed_by_authority: bool
    agreed_by_author: bool
    agreed_by_family: bool
    reused_on: NotFutureDate


class AdviceReceivedIn(_In):
    """Advice that arrived, entered by the SEND team."""

    received_on: NotFutureDate


class ExceptionIn(_In):
    """A lawful exception to the time limits (Regulation 10(4)), with its evidence."""

    kind: ExceptionKind
    starts_on: NotFutureDate
    ends_on: BoundedDate
    evidence: LongText


class NotToIssueIn(_In):
    """A decision not to issue a plan after the assessment."""

    decided_on: NotFutureDate
    letter_sent_on: NotFutureDate
    reasons: LongText


class DraftIn(_In):
    """A draft plan: sections B, E and F at least; A comes from the child's story unless
    given; C, D, G, H1 and H2 from the agencies' advice."""

    issued_on: NotFutureDate
    sections: dict[PlanSection, LongText] = Field(min_length=1)


class CommentsIn(_In):
    """The family's comments on the draft and the setting they ask for."""

    received_on: NotFutureDate
    comments: LongText | None = None
    setting_requested: Setting | None = None


class PlacementIn(_In):
    """Section I: the setting's name, URN and type."""

    name: ShortText
    urn: Urn | None = None
    type: SettingType

    def setting(self) -> Setting:
        return Setting(name=self.name, urn=self.urn, type=self.type)


class FinalPlanIn(_In):
    """The final plan: section I and when the provision starts; the sections default to the
    draft's."""

    issued_on: NotFutureDate
    setting: PlacementIn
    start_date: BoundedDate | None = None
    sections: dict[PlanSection, LongText] | None = None


class ReviewIn(_In):
    """A review meeting and the authority's decision after it (within 4 weeks)."""

    meeting_on: NotFutureDate
    decided_on: NotFutureDate
    outcome: ReviewOutcome
    preparing_for_adulthood: bool = Field(
        description="The review covered preparing for adulthood (required from Year 9)."
    )
    reasons: LongText | None = None


class AmendmentIn(_In):
    """An amendment to a final plan (a changed section I names the new setting)."""

    amended_on: NotFutureDate
    changed_sections: list[PlanSection] = Field(min_length=1, max_length=12)
    setting: PlacementIn | None = None
    start_date: BoundedDate | None = None
    notice_on: NotFutureDate | None = None


# -- answers -------------------------------------------------------------------------------


class AppliedExceptionOut(BaseModel):
    exception_id: UUID
    kind: ExceptionKind
    applies: bool
    days: int
    explanation: str


class ClockOut(BaseModel):
    """One statutory deadline or period on the day asked about, and how it was computed."""

    name: str
    kind: ClockKind
    label: str
    regulation: str
    starts_on: date
    statutory_due_on: date = Field(description="The law's date.")
    due_on: date = Field(description="With the lawful exceptions recorded.")
    met_on: date | None
    status: ClockStatus
    status_without_exceptions: ClockStatus
    weeks_elapsed: int
    days_remaining: int
    late_by_days: int
    explanation: str
    exceptions: list[AppliedExceptionOut]
    advice_request_id: UUID | None
    agency: str | None

    @classmethod
    def of(cls, clock: Clock) -> ClockOut:
        return cls(
            name=clock.name.value,
            kind=clock.kind,
            label=clock.label,
            regulation=clock.regulation,
            starts_on=clock.starts_on,
            statutory_due_on=clock.statutory_due_on,
            due_on=clock.due_on,
            met_on=clock.met_on,
            status=clock.status,
            status_without_exceptions=clock.status_without_exceptions,
            weeks_elapsed=clock.weeks_elapsed,
            days_remaining=clock.days_remaining,
            late_by_days=clock.late_by_days,
            explanation=clock.explanation,
            exceptions=[
                AppliedExceptionOut(
                    exception_id=e.exception_id,
                    kind=e.kind,
                    applies=e.applies,
                    days=e.days,
                    explanation=e.explanation,
                )
                for e in clock.exceptions
            ],
            advice_request_id=clock.advice_request_id,
            agency=clock.agency,
        )


class ClocksOut(BaseModel):
    assessment_id: UUID
    on: date
    clocks: list[ClockOut]


class AdviceOut(BaseModel):
    advice_request_id: UUID
    agency: str
    advice_type: AdviceType
    requested_on: date
    due_on: date
    question: str | None
    received_on: date | None
    late_by_days: int
    reused_from: str | None
    source_event_id: UUID | None

    @classmethod
    def of(cls, item: AdviceItem) -> AdviceOut:
        return cls(
            advice_request_id=item.advice_request_id,
            agency=item.agency,
            advice_type=item.advice_type,
            requested_on=item.requested_on,
            due_on=item.due_on,
            question=item.question,
            received_on=item.received_on,
            late_by_days=item.late_by_days,
            reused_from=item.reused_from,
            source_event_id=item.source_event_id,
        )


class ExceptionOut(BaseModel):
    exception_id: UUID
    kind: ExceptionKind
    starts_on: date
    ends_on: date
    evidence: str


class AssessmentOut(BaseModel):
    """An assessment, its steps so far, and every clock on the day asked about."""

    assessment_id: UUID
    child_id: UUID
    received_on: date
    requested_by: str
    stage: str
    version: int
    requester_name: str | None
    child_views: str | None
    views_helped_by: str | None
    decided_on: date | None
    decision_reasons: str | None
    appeal_by: date | None
    advice: list[AdviceOut]
    exceptions: list[ExceptionOut]
    plan_id: UUID | None
    draft_issued_on: date | None
    comments_due_on: date | None
    sections: dict[str, str]
    comments_received_on: date | None
    setting_requested: Setting | None
    final_issued_on: date | None
    clocks: list[ClockOut]
    sen_support: SupportHistory | None = Field(
        default=None, description="The SEN support history the request came with."
    )

    @classmethod
    def of(cls, state: Assessment, clocks: list[Clock]) -> AssessmentOut:
        return cls(
            assessment_id=state.assessment_id,
            child_id=state.child_id,
            received_on=state.received_on,
            requested_by=state.requested_by,
            stage=state.stage.value,
            version=state.version,
            requester_name=state.requester_name,
            child_views=state.child_views,
            views_helped_by=state.views_helped_by,
            decided_on=state.decided_on,
            decision_reasons=state.decision_reasons,
            appeal_by=state.appeal_by,
            advice=[AdviceOut.of(item) for item in state.advice],
            exceptions=[
                ExceptionOut(
                    exception_id=e.exception_id,
                    kind=e.kind,
                    starts_on=e.starts_on,
                    ends_on=e.ends_on,
                    evidence=e.evidence,
                )
                for e in state.exceptions
            ],
            plan_id=state.plan_id,
            draft_issued_on=state.draft_issued_on,
            comments_due_on=state.comments_due_on,
            sections={section.value: text for section, text in state.sections},
            comments_received_on=state.comments_received_on,
            setting_requested=state.setting_requested,
            final_issued_on=state.final_issued_on,
            clocks=[ClockOut.of(clock) for clock in clocks],
            sen_support=state.sen_support,
        )


class PlanOut(BaseModel):
    plan_id: UUID
    assessment_id: UUID | None
    child_id: UUID
    issued_on: date
    setting: Setting | None
    start_date: date | None
    next_review_due_on: date
    amended_on: date | None
    amendments: int
    last_reviewed_on: date | None
    reviews: int
    ceasing: bool = Field(description="The authority decided to cease it (in force until then).")
    appeal_by: date | None
    version: int

    @classmethod
    def of(cls, plan: Plan | PlanRow) -> PlanOut:
        if isinstance(plan, Plan):
            setting = plan.setting
        elif plan.setting_name is None:
            setting = None
        else:
            kind = SettingType(plan.setting_type) if plan.setting_type else None
            setting = Setting(name=plan.setting_name, urn=plan.setting_urn, type=kind)
        return cls(
            plan_id=plan.plan_id,
            assessment_id=plan.assessment_id,
            child_id=plan.child_id,
            issued_on=plan.issued_on,
            setting=setting,
            start_date=plan.start_date,
            next_review_due_on=plan.next_review_due_on,
            amended_on=plan.amended_on,
            amendments=plan.amendments,
            last_reviewed_on=plan.last_reviewed_on,
            reviews=plan.reviews,
            ceasing=plan.ceasing,
            appeal_by=plan.appeal_by,
            version=plan.version,
        )


class DirectoryEntryOut(BaseModel):
    """A setting of the settings directory."""

    urn: str
    name: str
    dfe_type: str
    phase: str
    local_authority: str
    setting_type: SettingType
    resourced_places: int | None
    resourced_need: str | None
    inclusion_kitemark: bool

    @classmethod
    def of(cls, entry: DirectoryEntry) -> DirectoryEntryOut:
        return cls(
            urn=entry.urn,
            name=entry.name,
            dfe_type=entry.dfe_type,
            phase=entry.phase,
            local_authority=entry.local_authority,
            setting_type=entry.setting_type,
            resourced_places=entry.resourced_places,
            resourced_need=entry.resourced_need,
            inclusion_kitemark=entry.inclusion_kitemark,
        )


class WorklistItem(BaseModel):
    """One clock on the SEND team's worklist."""

    assessment_id: UUID
    child_id: UUID
    name: str
    label: str
    kind: ClockKind
    agency: str | None
    advice_request_id: UUID | None
    statutory_due_on: date
    due_on: date
    met_on: date | None
    status: ClockStatus
    days_remaining: int
    explanation: str

    @classmethod
    def of(cls, row: ClockRow, status: ClockStatus, today: date) -> WorklistItem:
        kind = ClockKind(row.kind)
        outcome = describe_outcome(kind, row.due_on, row.met_on, today)
        return cls(
            assessment_id=row.assessment_id,
            child_id=row.child_id,
            name=row.name,
            label=row.label,
            kind=kind,
            agency=row.agency,
            advice_request_id=row.advice_request_id,
            statutory_due_on=row.statutory_due_on,
            due_on=row.due_on,
            met_on=row.met_on,
            status=status,
            days_remaining=(row.due_on - today).days,
            explanation=f"{row.how} {outcome}",
        )


class WorklistOut(BaseModel):
    on: date
    items: list[WorklistItem]


class Withheld(BaseModel):
    """A data class the reader may not see, and why (never its content)."""

    data_class: str
    reason: str | None


class ChildRecordsOut(BaseModel):
    """A child's assessments (with their clocks) and plans, as this reader may see them."""

    child_id: UUID
    on: date
    assessments: list[AssessmentOut]
    plans: list[PlanOut]
    withheld: list[Withheld]
