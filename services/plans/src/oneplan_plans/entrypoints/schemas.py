"""What the plans API accepts and answers (its OpenAPI document comes from these)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from oneplan_events.types import LongText
from oneplan_plans.adapters.tables import NoteRow
from oneplan_plans.domain.model import Note

__all__ = ["NewNote", "NoteOut", "NotesOut", "Withheld"]


class NewNote(BaseModel):
    """A note to record about a child (the author is the caller)."""

    model_config = ConfigDict(extra="forbid")

    child_id: UUID
    text: LongText


class NoteOut(BaseModel):
    """One note."""

    note_id: UUID
    child_id: UUID
    text: str
    author: str
    agency: str
    recorded_at: datetime

    @classmethod
    def of(cls, note: Note | NoteRow) -> NoteOut:
        """The view of a note (from the decider's state or the read model)."""
        return cls(
            note_id=note.note_id,
            child_id=note.child_id,
            text=note.text,
            author=note.author,
            agency=note.agency,
            recorded_at=note.recorded_at,
        )


class Withheld(BaseModel):
    """A data class the reader may not see, and why (never its content)."""

    data_class: str
    reason: str | None


class NotesOut(BaseModel):
    """A child's notes as this reader may see them."""

    items: list[NoteOut]
    withheld: list[Withheld]
