"""The commands of the plans service: imperatives, validated before the decider."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

__all__ = ["Command", "RecordNote"]


@dataclass(frozen=True)
class RecordNote:
    """Record a note about a child, by `author` of `agency`."""

    note_id: UUID
    child_id: UUID
    text: str
    author: str
    agency: str


Command = RecordNote
"""Every command of a note (a union once there are more: `RecordNote | AmendNote`)."""
