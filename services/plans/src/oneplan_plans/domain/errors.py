"""What the plans deciders refuse with; `bootstrap.py` maps each to a problem document."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AlreadyRecorded",
    "Broken",
    "DomainError",
    "NotPermitted",
    "NotRecorded",
    "RulesBroken",
    "StepOutOfOrder",
]


class DomainError(Exception):
    """A command the rules refuse; nothing is recorded."""


@dataclass(frozen=True, slots=True)
class Broken:
    """One broken rule, at the input field it concerns (`received_on`, `setting.urn`)."""

    field: str
    message: str


class RulesBroken(DomainError):
    """The command's values break rules of the law or of the record (422, every one named)."""

    def __init__(self, broken: list[Broken]) -> None:
        super().__init__("; ".join(f"{item.field}: {item.message}" for item in broken))
        self.broken = broken


class StepOutOfOrder(DomainError):
    """The step does not follow from where the assessment or plan is (409, naming the rule)."""


class AlreadyRecorded(DomainError):
    """The record or the fact exists already (a repeated id)."""


class NotRecorded(DomainError):
    """No such assessment, plan or advice request (404)."""


class NotPermitted(DomainError):
    """The caller's agency may not do this to the record (403): a SEN support plan is run by
    the agency that opened it."""
