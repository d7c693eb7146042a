"""The provision checks (pure): a SEN support cycle judged against the SEND Provision Matrix
version in force on the cycle's own date, never today's.

Three kinds of gap:

- `need_without_provision`: a need with no provision line in its area at or above the tier
  it calls for (a specialist entry meets a targeted need);
- `provision_not_delivered`: a line whose latest delivery record says it was not delivered
  as planned, or, once the cycle is reviewed, a line nobody recorded delivery of;
- `outcome_without_provision`: an outcome no line of the cycle supports.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from oneplan_plans.domain.provision_matrix import Matrix, MatrixVersion
from oneplan_plans.domain.support_plan import Cycle, SupportPlan
from oneplan_plans.domain.support_vocabulary import TIER_RANK, AreaOfNeed, Tier

__all__ = ["Gap", "GapKind", "check_cycle", "check_plan"]


class GapKind(StrEnum):
    NEED_WITHOUT_PROVISION = "need_without_provision"
    PROVISION_NOT_DELIVERED = "provision_not_delivered"
    OUTCOME_WITHOUT_PROVISION = "outcome_without_provision"


@dataclass(frozen=True, slots=True)
class Gap:
    """One gap in one cycle: what it is about (a need, a line or an outcome) and why."""

    kind: GapKind
    cycle: int
    subject_id: UUID
    detail: str
    matrix_version: int | None


def _label(value: str) -> str:
    return value.replace("_", " ")


def _meets(version: MatrixVersion | None, entry_id: str) -> tuple[AreaOfNeed, Tier] | None:
    entry = version.entry(entry_id) if version is not None else None
    return (entry.area, entry.tier) if entry is not None else None


def check_cycle(cycle: Cycle, matrix: Matrix) -> list[Gap]:
    """The gaps of `cycle`, judged by the matrix version in force on `cycle.starts_on`."""
    version = matrix.in_force(cycle.starts_on)
    number = version.version if version is not None else None
    gaps: list[Gap] = []
    met = [m for m in (_meets(version, p.line.entry_id) for p in cycle.lines) if m is not None]
    for need in cycle.needs:
        wanted = TIER_RANK[need.expected_tier]
        if not any(area is need.area and TIER_RANK[tier] >= wanted for area, tier in met):
            gaps.append(
                Gap(
                    GapKind.NEED_WITHOUT_PROVISION,
                    cycle.number,
                    need.need_id,
                    f"a need in {_label(need.area.value)} calls for {need.expected_tier.value} "
                    f"provision; no line meets it at or above that tier (matrix version "
                    f"{number})",
                    number,
                )
            )
    for planned in cycle.lines:
        delivered = planned.delivered_as_planned
        if delivered is False or (delivered is None and cycle.reviewed_on is not None):
            why = (
                f"recorded as not delivered as planned on {planned.deliveries[-1].recorded_on}"
                if delivered is False
                else "no delivery was recorded before the review"
            )
            gaps.append(
                Gap(
                    GapKind.PROVISION_NOT_DELIVERED,
                    cycle.number,
                    planned.line.line_id,
                    f"{planned.line.entry_id} ({planned.line.provider}): {why}",
                    number,
                )
            )
    supported = {o for p in cycle.lines for o in p.line.outcome_ids}
    for outcome_id in cycle.outcome_ids:
        if outcome_id not in supported:
            gaps.append(
                Gap(
                    GapKind.OUTCOME_WITHOUT_PROVISION,
                    cycle.number,
                    outcome_id,
                    "no provision line supports this outcome",
                    number,
                )
            )
    return gaps


def check_plan(plan: SupportPlan, matrix: Matrix) -> dict[int, list[Gap]]:
    """Every cycle's gaps, by cycle number."""
    return {cycle.number: check_cycle(cycle, matrix) for cycle in plan.cycles}
