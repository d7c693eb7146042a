"""The graduated response's projections (run by the kit after each command, in its
transaction, never committing) and the queries its routes need.

`SUPPORT_PLANS`, `PROVISION_MATRIX` and `EHC_OUTCOMES` pair each decider with its projection.
The support plan's projection runs the provision checks on the plan's latest cycle and keeps
their findings in `provision_gaps`, so `GET /v1/provision-gaps` is one indexed query.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from oneplan_events.decider import Aggregate
from oneplan_events.store import RecordedEvent
from oneplan_plans.adapters.support_tables import (
    MatrixVersionRow,
    ProvisionGapRow,
    SupportPlanRow,
    TrackedOutcomeRow,
)
from oneplan_plans.domain.ehc_outcomes import EHC_OUTCOMES as EHC_OUTCOMES_DECIDER
from oneplan_plans.domain.ehc_outcomes import EhcOutcomes
from oneplan_plans.domain.plan_types import EHC_PLAN
from oneplan_plans.domain.provision_checks import Gap, check_cycle
from oneplan_plans.domain.provision_matrix import (
    MATRIX,
    Matrix,
    MatrixVersion,
    PublishMatrixVersion,
)
from oneplan_plans.domain.support_commands import EhcOutcomesCommand, SupportCommand
from oneplan_plans.domain.support_plan import SUPPORT_PLAN, SupportPlan
from oneplan_plans.events import MatrixEntry

__all__ = [
    "EHC_OUTCOMES",
    "PROVISION_MATRIX",
    "SUPPORT_PLANS",
    "SettingGaps",
    "gaps_of_setting",
    "matrix_of",
    "outcome_owner",
    "project_ehc_outcomes",
    "project_matrix",
    "project_support_plan",
    "published_matrix",
    "support_plans_of_child",
    "worklist_item",
]


async def published_matrix(session: AsyncSession) -> Matrix:
    """Every published version, from the projection (oldest first)."""
    rows = await session.scalars(select(MatrixVersionRow).order_by(MatrixVersionRow.matrix_version))
    return matrix_of(rows.all())


def matrix_of(rows: Sequence[MatrixVersionRow]) -> Matrix:
    return Matrix(
        tuple(
            MatrixVersion(
                row.matrix_version,
                row.effective_from,
                row.published_on,
                row.title,
                tuple(MatrixEntry.model_validate(e) for e in row.entries),
            )
            for row in rows
        )
    )


async def project_matrix(
    session: AsyncSession, matrix: Matrix, recorded: Sequence[RecordedEvent]
) -> None:
    """A row per version."""
    for version in matrix.versions:
        await session.merge(
            MatrixVersionRow(
                matrix_version=version.version,
                effective_from=version.effective_from,
                published_on=version.published_on,
                title=version.title,
                entries=[e.model_dump(mode="json") for e in version.entries],
            )
        )


async def _track_outcomes(
    session: AsyncSession, plan_id: UUID, plan_type: str, child_id: UUID, ids: Sequence[UUID]
) -> None:
    for outcome_id in ids:
        await session.merge(
            TrackedOutcomeRow(
                outcome_id=outcome_id, plan_id=plan_id, plan_type=plan_type, child_id=child_id
            )
        )


async def project_support_plan(
    session: AsyncSession, plan: SupportPlan | None, recorded: Sequence[RecordedEvent]
) -> None:
    """The plan's row, its outcomes' owner rows, and its latest cycle's gaps."""
    if plan is None:
        return
    current = plan.current
    await session.merge(
        SupportPlanRow(
            plan_id=plan.plan_id,
            child_id=plan.child_id,
            plan_type=plan.plan_type,
            setting_urn=plan.setting.urn,
            setting_name=plan.setting.name,
            opened_on=plan.opened_on,
            is_open=plan.open,
            closed_on=plan.closed_on,
            cycles=len(plan.cycles),
            current_cycle_starts_on=current.starts_on if current else None,
            ehc_assessment_id=plan.ehc_assessment_id,
            version=plan.version,
        )
    )
    await _track_outcomes(
        session, plan.plan_id, plan.plan_type, plan.child_id, [o.outcome_id for o in plan.outcomes]
    )
    await session.execute(delete(ProvisionGapRow).where(ProvisionGapRow.plan_id == plan.plan_id))
    if current is not None and plan.open:
        gaps = check_cycle(current, await published_matrix(session))
        if gaps:
            session.add(
                ProvisionGapRow(
                    plan_id=plan.plan_id,
                    setting_urn=plan.setting.urn,
                    child_id=plan.child_id,
                    cycle=current.number,
                    gaps=len(gaps),
                    kinds=",".join(sorted({gap.kind.value for gap in gaps})),
                    document=worklist_item(plan, current.number, gaps),
                )
            )
    await session.flush()


def worklist_item(plan: SupportPlan, cycle: int, gaps: Sequence[Gap]) -> str:
    """The plan's item of `GET /v1/provision-gaps` (`PlanGapsOut`), as JSON."""
    return json.dumps(
        {
            "plan_id": str(plan.plan_id),
            "child_id": str(plan.child_id),
            "cycle": cycle,
            "gaps": [
                {
                    "kind": gap.kind.value,
                    "cycle": gap.cycle,
                    "subject_id": str(gap.subject_id),
                    "detail": gap.detail,
                    "matrix_version": gap.matrix_version,
                }
                for gap in gaps
            ],
        },
        separators=(",", ":"),
    )


async def project_ehc_outcomes(
    session: AsyncSession, outcomes: EhcOutcomes | None, recorded: Sequence[RecordedEvent]
) -> None:
    if outcomes is None:
        return
    await _track_outcomes(
        session,
        outcomes.plan_id,
        EHC_PLAN,
        outcomes.child_id,
        [o.outcome_id for o in outcomes.outcomes],
    )


PROVISION_MATRIX: Aggregate[Matrix, PublishMatrixVersion] = Aggregate(MATRIX, project_matrix)
SUPPORT_PLANS: Aggregate[SupportPlan | None, SupportCommand] = Aggregate(
    SUPPORT_PLAN, project_support_plan
)
EHC_OUTCOMES: Aggregate[EhcOutcomes | None, EhcOutcomesCommand] = Aggregate(
    EHC_OUTCOMES_DECIDER, project_ehc_outcomes
)


async def support_plans_of_child(session: AsyncSession, child_id: UUID) -> Sequence[SupportPlanRow]:
    """A child's SEN support plans, oldest first."""
    rows = await session.scalars(
        select(SupportPlanRow)
        .where(SupportPlanRow.child_id == child_id)
        .order_by(SupportPlanRow.opened_on, SupportPlanRow.plan_id)
    )
    return rows.all()


@dataclass(frozen=True, slots=True)
class SettingGaps:
    """A setting's worklist: how many plans and gaps, and each plan's item as JSON."""

    plans: int
    children: int
    gaps: int
    documents: list[str]


async def gaps_of_setting(session: AsyncSession, urn: str) -> SettingGaps:
    """The setting's open plans with gaps, child by child (one indexed query)."""
    rows = (
        await session.execute(
            select(ProvisionGapRow.child_id, ProvisionGapRow.gaps, ProvisionGapRow.document)
            .where(ProvisionGapRow.setting_urn == urn)
            .order_by(ProvisionGapRow.child_id, ProvisionGapRow.plan_id)
        )
    ).all()
    return SettingGaps(
        plans=len(rows),
        children=len({row.child_id for row in rows}),
        gaps=sum(row.gaps for row in rows),
        documents=[row.document for row in rows],
    )


async def outcome_owner(session: AsyncSession, outcome_id: UUID) -> TrackedOutcomeRow | None:
    """The plan an outcome belongs to (None: no plan's)."""
    return await session.get(TrackedOutcomeRow, outcome_id)
