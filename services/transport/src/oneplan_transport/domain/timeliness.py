"""How quickly eligibility was decided: each case's first decision, timed in working days
from the plan's issue, against the target in force when it was decided. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

__all__ = ["Timeliness", "summarise"]


@dataclass(frozen=True)
class Timeliness:
    """The first decisions of a period, counted."""

    decisions: int
    within_target: int
    beyond_target: int
    not_counted: int
    """Decided where the calendar did not know the bank holidays: no working-day count."""
    percent_within_target: float | None
    median_working_days: float | None
    longest_working_days: int | None


def summarise(working_days: Sequence[tuple[int | None, bool | None]]) -> Timeliness:
    """`working_days`: each first decision's (working days from issue, within its target)."""
    counted = [(days, within) for days, within in working_days if days is not None]
    within = sum(1 for _, ok in counted if ok)
    days = [value for value, _ in counted]
    return Timeliness(
        decisions=len(working_days),
        within_target=within,
        beyond_target=len(counted) - within,
        not_counted=len(working_days) - len(counted),
        percent_within_target=round(100 * within / len(counted), 1) if counted else None,
        median_working_days=float(median(days)) if days else None,
        longest_working_days=max(days) if days else None,
    )
