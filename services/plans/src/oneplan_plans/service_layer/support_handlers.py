"""Use cases of the graduated response that need more than one record: the matrix a cycle is
judged by, a review that starts an EHC needs assessment (two records, one transaction), the
EHC plan whose section E outcomes are tracked, a child's provision map across plans. Handlers
never commit: the route's command commits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID, uuid4

from oneplan_events.decider import Outcome
from oneplan_events.uow import UnitOfWork
from oneplan_plans.adapters import support_repository as repository
from oneplan_plans.adapters.repository import ASSESSMENTS, PLANS
from oneplan_plans.adapters.support_repository import (
    EHC_OUTCOMES,
    PROVISION_MATRIX,
    SUPPORT_PLANS,
)
from oneplan_plans.domain.assessment import Assessment
from oneplan_plans.domain.commands import RequestAssessment
from oneplan_plans.domain.ehc_outcomes import EhcOutcomes
from oneplan_plans.domain.errors import Broken, NotRecorded, RulesBroken
from oneplan_plans.domain.plan_types import PlanTypes
from oneplan_plans.domain.provision_checks import Gap, check_plan
from oneplan_plans.domain.provision_matrix import (
    MATRIX_ID,
    Matrix,
    PublishMatrixVersion,
)
from oneplan_plans.domain.settings_directory import SettingsDirectory
from oneplan_plans.domain.support_commands import (
    LineIn,
    NeedIn,
    OpenSupportPlan,
    OutcomeIn,
    PlanProvision,
    ProgressIn,
    RecordEhcOutcomes,
    RecordEhcProgress,
    ReviewCycle,
    StartCycle,
)
from oneplan_plans.domain.support_plan import SupportPlan, history
from oneplan_plans.domain.support_vocabulary import ReviewDecision
from oneplan_plans.events import MatrixEntry, Requester, SupportSetting

__all__ = [
    "PlanMap",
    "matrix",
    "open_support_plan",
    "plan_provision",
    "provision_map",
    "publish_matrix",
    "record_ehc_outcomes",
    "record_ehc_progress",
    "review_cycle",
    "start_cycle",
]


async def matrix(uow: UnitOfWork) -> Matrix:
    """Every published version of the matrix (from its record, in this transaction)."""
    state, _ = await uow.load(PROVISION_MATRIX, MATRIX_ID)
    return state


async def publish_matrix(
    uow: UnitOfWork,
    *,
    effective_from: date,
    title: str,
    entries: tuple[MatrixEntry, ...],
    published_by: str,
    expected_version: int | None,
) -> Outcome[Matrix]:
    """Publish a version of the matrix, in force from `effective_from`."""
    command = PublishMatrixVersion(effective_from, title, entries, published_by)
    return await uow.execute(
        PROVISION_MATRIX, MATRIX_ID, command, expected_version=expected_version
    )


async def open_support_plan(
    uow: UnitOfWork,
    plan_types: PlanTypes,
    directory: SettingsDirectory,
    *,
    plan_id: UUID,
    child_id: UUID,
    plan_type: str,
    urn: str,
    opened_on: date,
    opened_by: str,
    opened_by_agency: str,
) -> Outcome[SupportPlan | None]:
    """Open a plan of a cycled type for a child at a setting of the directory (the route
    checks the caller's agency is one the type names)."""
    kind = plan_types.cycled(plan_type)
    entry = directory.get(urn)
    if entry is None:
        raise RulesBroken([Broken("setting_urn", f"{urn} is not in the settings directory")])
    command = OpenSupportPlan(
        plan_id,
        child_id,
        kind.key,
        SupportSetting(name=entry.name, urn=urn),
        opened_on,
        opened_by,
        opened_by_agency,
    )
    return await uow.execute(SUPPORT_PLANS, plan_id, command)


async def start_cycle(
    uow: UnitOfWork,
    plan_id: UUID,
    *,
    starts_on: date,
    needs: tuple[NeedIn, ...],
    outcomes: tuple[OutcomeIn, ...],
    lines: tuple[LineIn, ...],
    recorded_by: str,
    by_agency: str,
    views: dict[str, str | None],
    expected_version: int | None,
) -> Outcome[SupportPlan | None]:
    """Assess and plan a new cycle, its provision map checked against the matrix version in
    force on `starts_on`; an outcome id of another plan is refused."""
    await _refuse_foreign_outcomes(uow, plan_id, [o.outcome_id for o in outcomes])
    command = StartCycle(
        starts_on,
        needs,
        outcomes,
        lines,
        await matrix(uow),
        recorded_by,
        by_agency,
        child_views=views.get("child_views"),
        child_views_helped_by=views.get("child_views_helped_by"),
        family_views=views.get("family_views"),
        family_views_given_by=views.get("family_views_given_by"),
    )
    return await uow.execute(SUPPORT_PLANS, plan_id, command, expected_version=expected_version)


async def _refuse_foreign_outcomes(uow: UnitOfWork, plan_id: UUID, ids: list[UUID]) -> None:
    broken = []
    for index, outcome_id in enumerate(ids):
        owner = await repository.outcome_owner(uow.session, outcome_id)
        if owner is not None and owner.plan_id != plan_id:
            broken.append(
                Broken(
                    f"outcomes.{index}.outcome_id",
                    f"is an outcome of another plan ({owner.plan_id})",
                )
            )
    if broken:
        raise RulesBroken(broken)


async def plan_provision(
    uow: UnitOfWork,
    plan_id: UUID,
    line: LineIn,
    recorded_by: str,
    by_agency: str,
    expected_version: int | None,
) -> Outcome[SupportPlan | None]:
    """Add a line to the current cycle's provision map (the cycle's matrix version)."""
    command = PlanProvision(line, await matrix(uow), recorded_by, by_agency)
    return await uow.execute(SUPPORT_PLANS, plan_id, command, expected_version=expected_version)


async def review_cycle(
    uow: UnitOfWork,
    plan_id: UUID,
    *,
    reviewed_on: date,
    progress: tuple[ProgressIn, ...],
    decision: ReviewDecision,
    reasons: str | None,
    recorded_by: str,
    by_agency: str,
    expected_version: int | None,
) -> tuple[Outcome[SupportPlan | None], Outcome[Assessment | None] | None]:
    """Review the current cycle. A decision to request an EHC needs assessment records the
    request in the same transaction (received on the review's day, from the school), carrying
    the plan's SEN support history and the child's latest views."""
    asks = decision is ReviewDecision.REQUEST_EHC_ASSESSMENT
    assessment_id = uuid4() if asks else None
    command = ReviewCycle(
        reviewed_on, progress, decision, recorded_by, by_agency, reasons, assessment_id
    )
    reviewed = await uow.execute(SUPPORT_PLANS, plan_id, command, expected_version=expected_version)
    if assessment_id is None:
        return reviewed, None
    plan = reviewed.state
    assert plan is not None
    views = next((c for c in reversed(plan.cycles) if c.child_views), None)
    request = RequestAssessment(
        assessment_id,
        plan.child_id,
        reviewed_on,
        Requester.SCHOOL,
        recorded_by,
        requester_name=plan.setting.name[:100],
        child_views=views.child_views if views else None,
        views_helped_by=views.child_views_helped_by if views else None,
        sen_support=history(plan),
    )
    requested = await uow.execute(ASSESSMENTS, assessment_id, request)
    return reviewed, requested


async def record_ehc_outcomes(
    uow: UnitOfWork,
    plan_id: UUID,
    outcomes: tuple[OutcomeIn, ...],
    recorded_on: date,
    recorded_by: str,
    expected_version: int | None,
) -> Outcome[EhcOutcomes | None]:
    """Record section E outcomes of an issued EHC plan for tracking."""
    plan, _ = await uow.load(PLANS, plan_id)
    if plan is None:
        raise NotRecorded(f"no EHC plan {plan_id}")
    await _refuse_foreign_outcomes(uow, plan_id, [o.outcome_id for o in outcomes])
    command = RecordEhcOutcomes(
        plan_id, plan.child_id, plan.issued_on, outcomes, recorded_on, recorded_by
    )
    return await uow.execute(EHC_OUTCOMES, plan_id, command, expected_version=expected_version)


async def record_ehc_progress(
    uow: UnitOfWork,
    plan_id: UUID,
    progress: tuple[ProgressIn, ...],
    recorded_on: date,
    recorded_by: str,
    expected_version: int | None,
) -> Outcome[EhcOutcomes | None]:
    """Progress on section E outcomes; an outcome of another plan is refused, named."""
    state, _ = await uow.load(EHC_OUTCOMES, plan_id)
    if state is None:
        plan, _ = await uow.load(PLANS, plan_id)
        if plan is None:
            raise NotRecorded(f"no EHC plan {plan_id}")
    command = RecordEhcProgress(progress, recorded_on, recorded_by)
    return await uow.execute(EHC_OUTCOMES, plan_id, command, expected_version=expected_version)


@dataclass(frozen=True)
class PlanMap:
    """One SEN support plan of a child, and every cycle's gaps by the matrix of its date."""

    plan: SupportPlan
    gaps: dict[int, list[Gap]]


async def provision_map(uow: UnitOfWork, child_id: UUID) -> list[PlanMap]:
    """The child's SEN support plans, oldest first, each cycle checked."""
    rows = await repository.support_plans_of_child(uow.session, child_id)
    if not rows:
        return []
    published = await repository.published_matrix(uow.session)
    found = []
    for row in rows:
        plan, _ = await uow.load(SUPPORT_PLANS, row.plan_id)
        assert plan is not None
        found.append(PlanMap(plan, check_plan(plan, published)))
    return found
