"""The domain's refusals: a command the rules refuse records nothing.

`bootstrap.py` maps each class to its problem document: 404 for what does not exist, 409 for a
record not in the state the command needs, 422 naming the field for a value the rules refuse.
"""

from __future__ import annotations

__all__ = [
    "AlreadyRecorded",
    "AppointmentNotFound",
    "DomainError",
    "InvalidInput",
    "NotFound",
    "WrongState",
]


class DomainError(Exception):
    """A command the rules refuse; nothing is recorded."""


class NotFound(DomainError):
    """The record the command is about does not exist (or is not the caller's to know)."""


class AppointmentNotFound(NotFound):
    """The referral has no such appointment."""


class AlreadyRecorded(DomainError):
    """The record exists already (a command sent twice with the same id)."""


class WrongState(DomainError):
    """The record is not in a state the command applies to (e.g. discharging a referral
    that was never accepted)."""


class InvalidInput(DomainError):
    """A value the rules refuse, at a field of the request."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
