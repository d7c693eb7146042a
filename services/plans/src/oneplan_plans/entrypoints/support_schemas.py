"""What the graduated response's routes accept and answer (the OpenAPI document comes from
these)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from oneplan_events.types import (
    BoundedDate,
    LongText,
    Name,
    NotFutureDate,
    PlainText,
    ShortText,
)
from oneplan_plans.domain.ehc_outcomes import EhcOutcomes
from oneplan_plans.domain.plan_types import PlanType
from oneplan_plans.domain.provision_checks import Gap
from oneplan_plans.domain.provision_matrix import Matrix, MatrixVersion
from oneplan_plans.domain.support_commands import LineIn, NeedIn, OutcomeIn, ProgressIn
from oneplan_plans.domain.support_plan import Cycle, PlannedLine, SupportPlan, TrackedOutcome
from oneplan_plans.domain.support_vocabulary import (
    AreaOfNeed,
    CloseReason,
    ProgressStatus,
    ReviewDecision,
    Tier,
)
from oneplan_plans.entrypoints.schemas import Withheld
from oneplan_plans.events import (
    MatrixEntry,
    MatrixEntryId,
    Need,
    PlanTypeKey,
    SupportSetting,
    Urn,
)

__all__ = [
    "CloseIn",
    "CycleIn",
    "DeliveryIn",
    "EhcOutcomesIn",
    "EhcOutcomesOut",
    "EhcProgressIn",
    "GapOut",
    "LineBody",
    "MatrixImportIn",
    "MatrixOut",
    "MatrixVersionIn",
    "MatrixVersionOut",
    "PlanTypeOut",
    "ProvisionGapsOut",
    "ProvisionMapOut",
    "SupportPlanIn",
    "SupportPlanOut",
    "SupportReviewIn",
]

MatrixText = Annotated[str, PlainText(max_length=200_000)]
Items = Field(min_length=1, max_length=30)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- input ---------------------------------------------------------------------------------


class MatrixVersionIn(_In):
    """A version of the SEND Provision Matrix, its entries as JSON."""

    effective_from: BoundedDate = Field(
        description="In force from this day (a later version: after today)."
    )
    title: ShortText
    entries: list[MatrixEntry] = Field(min_length=1, max_length=1000)


class MatrixImportIn(_In):
    """A version of the SEND Provision Matrix from a CSV or YAML text."""

    effective_from: BoundedDate = Field(
        description="In force from this day (a later version: after today)."
    )
    title: ShortText
    format: Literal["csv", "yaml"] = Field(
        description="`csv`: a header entry_id,area,tier,description,typical_provider,frequency "
        "then a row per entry; `yaml`: a list of entries, or a mapping with `entries`."
    )
    text: MatrixText


class SupportPlanIn(_In):
    """A SEN support plan opened by a school or setting for a child."""

    child_id: UUID
    setting_urn: Urn
    opened_on: NotFutureDate
    plan_type: PlanTypeKey = "sen_support"


class NeedBody(_In):
    need_id: UUID | None = Field(
        default=None,
        description="An earlier cycle's need id to carry it on, or an id of your own to link "
        "outcomes to it (default: a new id).",
    )
    area: AreaOfNeed
    description: LongText
    expected_tier: Tier = Field(description="The tier of provision the need calls for.")

    def need(self) -> NeedIn:
        return NeedIn(self.need_id or uuid4(), self.area, self.description, self.expected_tier)


class OutcomeBody(_In):
    outcome_id: UUID | None = Field(
        default=None,
        description="An earlier cycle's outcome id to carry it on, or an id of your own to "
        "link provision to it (default: a new id).",
    )
    description: LongText
    need_ids: list[UUID] = Field(default=[], max_length=30)

    def outcome(self) -> OutcomeIn:
        return OutcomeIn(self.outcome_id or uuid4(), self.description, tuple(self.need_ids))


class LineBody(_In):
    """A provision line: the matrix entry it meets (provider and frequency default to the
    entry's)."""

    line_id: UUID | None = None
    entry_id: MatrixEntryId
    tier: Tier | None = Field(default=None, description="Must be the entry's tier if given.")
    provider: ShortText | None = None
    frequency: ShortText | None = None
    duration: ShortText = Field(description='How long each session lasts, e.g. "20 minutes".')
    starts_on: NotFutureDate
    ends_on: BoundedDate | None = None
    cost_pence: int | None = Field(default=None, ge=0, le=100_000_000)
    outcome_ids: list[UUID] = Field(default=[], max_length=30)

    def line(self) -> LineIn:
        return LineIn(
            self.line_id or uuid4(),
            self.entry_id,
            self.duration,
            self.starts_on,
            tier=self.tier,
            provider=self.provider,
            frequency=self.frequency,
            ends_on=self.ends_on,
            cost_pence=self.cost_pence,
            outcome_ids=tuple(self.outcome_ids),
        )


class CycleIn(_In):
    """Assess and plan: the needs, the child's and the family's views, the outcomes and the
    provision map."""

    starts_on: NotFutureDate
    needs: list[NeedBody] = Items
    outcomes: list[OutcomeBody] = Items
    provision: list[LineBody] = Field(default=[], max_length=30)
    child_views: LongText | None = Field(default=None, description="In the child's own words.")
    child_views_helped_by: ShortText | None = None
    family_views: LongText | None = Field(default=None, description="In the family's words.")
    family_views_given_by: Name | None = None


class DeliveryIn(_In):
    recorded_on: NotFutureDate
    delivered_as_planned: bool
    note: ShortText | None = None


class ProgressBody(_In):
    outcome_id: UUID
    status: ProgressStatus
    evidence: LongText

    def progress(self) -> ProgressIn:
        return ProgressIn(self.outcome_id, self.status, self.evidence)


class SupportReviewIn(_In):
    """A review: progress on every outcome of the cycle, and the decision."""

    reviewed_on: NotFutureDate
    progress: list[ProgressBody] = Items
    decision: ReviewDecision
    reasons: LongText | None = None


class CloseIn(_In):
    closed_on: NotFutureDate
    reason: CloseReason


class EhcOutcomeBody(_In):
    outcome_id: UUID | None = None
    description: LongText

    def outcome(self) -> OutcomeIn:
        return OutcomeIn(self.outcome_id or uuid4(), self.description)


class EhcOutcomesIn(_In):
    """Section E outcomes of an EHC plan, recorded for tracking."""

    recorded_on: NotFutureDate
    outcomes: list[EhcOutcomeBody] = Items


class EhcProgressIn(_In):
    """Progress on section E outcomes (at a review)."""

    recorded_on: NotFutureDate
    progress: list[ProgressBody] = Items


# -- output --------------------------------------------------------------------------------


class PlanTypeOut(BaseModel):
    key: str
    title: str
    statutory: bool
    cycles: bool
    opened_by: list[str]
    sections: list[str]
    description: str

    @classmethod
    def of(cls, t: PlanType) -> PlanTypeOut:
        return cls(
            key=t.key,
            title=t.title,
            statutory=t.statutory,
            cycles=t.cycles,
            opened_by=sorted(t.opened_by),
            sections=[s.value for s in t.sections],
            description=t.description,
        )


class MatrixVersionOut(BaseModel):
    matrix_version: int
    effective_from: date
    in_force_until: date | None = Field(description="The day before the next version's.")
    published_on: date
    title: str
    entries: list[MatrixEntry]

    @classmethod
    def of(cls, version: MatrixVersion, matrix: Matrix) -> MatrixVersionOut:
        later = [v.effective_from for v in matrix.versions if v.version > version.version]
        until = date.fromordinal(min(later).toordinal() - 1) if later else None
        return cls(
            matrix_version=version.version,
            effective_from=version.effective_from,
            in_force_until=until,
            published_on=version.published_on,
            title=version.title,
            entries=list(version.entries),
        )


class MatrixVersionSummary(BaseModel):
    matrix_version: int
    effective_from: date
    published_on: date
    title: str
    entries: int


class MatrixOut(BaseModel):
    """The version in force on `as_of`, and every version published."""

    as_of: date
    in_force: MatrixVersionOut | None
    versions: list[MatrixVersionSummary]

    @classmethod
    def of(cls, matrix: Matrix, as_of: date) -> MatrixOut:
        version = matrix.in_force(as_of)
        return cls(
            as_of=as_of,
            in_force=MatrixVersionOut.of(version, matrix) if version else None,
            versions=[
                MatrixVersionSummary(
                    matrix_version=v.version,
                    effective_from=v.effective_from,
                    published_on=v.published_on,
                    title=v.title,
                    entries=len(v.entries),
                )
                for v in matrix.versions
            ],
        )


class GapOut(BaseModel):
    kind: str
    cycle: int
    subject_id: UUID = Field(description="The need, provision line or outcome at fault.")
    detail: str
    matrix_version: int | None

    @classmethod
    def of(cls, gap: Gap) -> GapOut:
        return cls(
            kind=gap.kind.value,
            cycle=gap.cycle,
            subject_id=gap.subject_id,
            detail=gap.detail,
            matrix_version=gap.matrix_version,
        )


class ProgressOut(BaseModel):
    status: ProgressStatus
    evidence: str
    recorded_on: date
    cycle: int | None


class OutcomeOut(BaseModel):
    outcome_id: UUID
    description: str
    need_ids: list[UUID]
    latest: ProgressStatus | None
    progress: list[ProgressOut] = Field(description="Every review's progress, oldest first.")

    @classmethod
    def of(cls, o: TrackedOutcome) -> OutcomeOut:
        return cls(
            outcome_id=o.outcome_id,
            description=o.description,
            need_ids=list(o.need_ids),
            latest=o.progress[-1].status if o.progress else None,
            progress=[
                ProgressOut(
                    status=p.status, evidence=p.evidence, recorded_on=p.recorded_on, cycle=p.cycle
                )
                for p in o.progress
            ],
        )


class DeliveryOut(BaseModel):
    recorded_on: date
    delivered_as_planned: bool
    note: str | None


class LineOut(BaseModel):
    line_id: UUID
    entry_id: str
    entry_description: str
    area: AreaOfNeed
    tier: Tier
    provider: str
    frequency: str
    duration: str
    starts_on: date
    ends_on: date | None
    cost_pence: int | None
    outcome_ids: list[UUID]
    delivered_as_planned: bool | None
    deliveries: list[DeliveryOut]

    @classmethod
    def of(cls, p: PlannedLine) -> LineOut:
        line = p.line
        return cls(
            **line.model_dump(exclude={"outcome_ids"}),
            outcome_ids=list(line.outcome_ids),
            delivered_as_planned=p.delivered_as_planned,
            deliveries=[
                DeliveryOut(
                    recorded_on=d.recorded_on,
                    delivered_as_planned=d.delivered_as_planned,
                    note=d.note,
                )
                for d in p.deliveries
            ],
        )


class CycleOut(BaseModel):
    cycle: int
    starts_on: date
    matrix_version: int
    needs: list[Need]
    outcome_ids: list[UUID]
    child_views: str | None
    child_views_helped_by: str | None
    family_views: str | None
    family_views_given_by: str | None
    provision: list[LineOut]
    reviewed_on: date | None
    decision: ReviewDecision | None
    reasons: str | None
    assessment_id: UUID | None
    gaps: list[GapOut] = Field(description="Judged by the matrix in force on starts_on.")

    @classmethod
    def of(cls, c: Cycle, gaps: list[Gap]) -> CycleOut:
        return cls(
            cycle=c.number,
            starts_on=c.starts_on,
            matrix_version=c.matrix_version,
            needs=list(c.needs),
            outcome_ids=list(c.outcome_ids),
            child_views=c.child_views,
            child_views_helped_by=c.child_views_helped_by,
            family_views=c.family_views,
            family_views_given_by=c.family_views_given_by,
            provision=[LineOut.of(p) for p in c.lines],
            reviewed_on=c.reviewed_on,
            decision=c.decision,
            reasons=c.reasons,
            assessment_id=c.assessment_id,
            gaps=[GapOut.of(g) for g in gaps],
        )


class SupportPlanOut(BaseModel):
    """A SEN support plan: every cycle (current and past) with its provision map and gaps,
    and every outcome with its progress at each review."""

    plan_id: UUID
    child_id: UUID
    plan_type: str
    setting: SupportSetting
    opened_on: date
    opened_by_agency: str
    status: Literal["open", "closed"]
    closed_on: date | None
    close_reason: CloseReason | None
    ehc_assessment_id: UUID | None
    version: int
    cycles: list[CycleOut]
    outcomes: list[OutcomeOut]

    @classmethod
    def of(cls, plan: SupportPlan, gaps: dict[int, list[Gap]]) -> SupportPlanOut:
        return cls(
            plan_id=plan.plan_id,
            child_id=plan.child_id,
            plan_type=plan.plan_type,
            setting=plan.setting,
            opened_on=plan.opened_on,
            opened_by_agency=plan.opened_by_agency,
            status="open" if plan.open else "closed",
            closed_on=plan.closed_on,
            close_reason=plan.close_reason,
            ehc_assessment_id=plan.ehc_assessment_id,
            version=plan.version,
            cycles=[CycleOut.of(c, gaps.get(c.number, [])) for c in plan.cycles],
            outcomes=[OutcomeOut.of(o) for o in plan.outcomes],
        )


class ProvisionMapOut(BaseModel):
    """A child's trackable provision map across SEN support plans and cycles."""

    child_id: UUID
    plans: list[SupportPlanOut]
    withheld: list[Withheld]


class PlanGapsOut(BaseModel):
    plan_id: UUID
    child_id: UUID
    cycle: int
    gaps: list[GapOut]


class ProvisionGapsOut(BaseModel):
    """A setting's worklist: each open plan whose latest cycle has gaps."""

    setting_urn: str
    children: int
    gaps: int
    plans: list[PlanGapsOut]


class EhcOutcomesOut(BaseModel):
    """Section E outcomes of an EHC plan, each with its progress at every review."""

    plan_id: UUID
    child_id: UUID
    version: int
    outcomes: list[OutcomeOut]

    @classmethod
    def of(cls, state: EhcOutcomes) -> EhcOutcomesOut:
        return cls(
            plan_id=state.plan_id,
            child_id=state.child_id,
            version=state.version,
            outcomes=[OutcomeOut.of(o) for o in state.outcomes],
        )
