"""The plan types as a vocabulary (data, not structure): the EHC plan, the SEN support plan and
whatever a deployment adds (`data/plan_types.yaml`, or the file `PLANS_PLAN_TYPES_FILE` names).

Pure: parsing text into `PlanTypes`; the settings read the file once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from oneplan_events.vocabulary import PlanSection
from oneplan_plans.domain.errors import Broken, RulesBroken

__all__ = ["EHC_PLAN", "SEN_SUPPORT", "PlanType", "PlanTypes", "parse_plan_types"]

EHC_PLAN = "ehc_plan"
SEN_SUPPORT = "sen_support"


@dataclass(frozen=True, slots=True)
class PlanType:
    """One kind of plan: whether the law requires it, whether it runs assess-plan-do-review
    cycles, who opens one, and which sections of the shared plan its content goes to."""

    key: str
    title: str
    statutory: bool
    cycles: bool
    opened_by: frozenset[str]
    sections: tuple[PlanSection, ...]
    description: str = ""


class PlanTypes:
    """The vocabulary, by key."""

    def __init__(self, types: Iterable[PlanType]) -> None:
        self._types = {t.key: t for t in types}

    def __iter__(self) -> Iterator[PlanType]:
        return iter(self._types.values())

    def get(self, key: str) -> PlanType | None:
        return self._types.get(key)

    def cycled(self, key: str, field: str = "plan_type") -> PlanType:
        """The type `key` when it runs cycles; RulesBroken naming `field` otherwise."""
        found = self._types.get(key)
        if found is None:
            known = ", ".join(sorted(self._types))
            raise RulesBroken([Broken(field, f"is not a plan type (known: {known})")])
        if not found.cycles:
            raise RulesBroken(
                [Broken(field, f"a {found.title} does not run assess-plan-do-review cycles")]
            )
        return found


def _plan_type(index: int, item: Any) -> PlanType:
    if not isinstance(item, Mapping):
        raise ValueError(f"item {index}: not a mapping")
    try:
        return PlanType(
            key=str(item["key"]),
            title=str(item["title"]),
            statutory=bool(item["statutory"]),
            cycles=bool(item["cycles"]),
            opened_by=frozenset(str(a) for a in item.get("opened_by", ())),
            sections=tuple(PlanSection(str(s)) for s in item.get("sections", ())),
            description=str(item.get("description", "")).strip(),
        )
    except (KeyError, ValueError) as error:
        raise ValueError(f"item {index}: {error}") from error


def parse_plan_types(text: str) -> PlanTypes:
    """The plan types of a YAML list (ValueError naming the item at fault)."""
    loaded = yaml.safe_load(text)
    if not isinstance(loaded, list) or not loaded:
        raise ValueError("the plan types file is a non-empty YAML list")
    return PlanTypes(_plan_type(index, item) for index, item in enumerate(loaded, start=1))
