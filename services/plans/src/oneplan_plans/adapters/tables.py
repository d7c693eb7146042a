"""The read-model tables of the plans service (beside the backbone's event store
and outbox).

They are projections of the event streams, written in the same transaction as the events
(`adapters/repository.py`), so a reader never sees a note the store does not hold. Each new
table needs a migration in `migrations/versions/` (`0002_<what>.py`, `down_revision = "0001"`).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from oneplan_kit.tables import HOUSE_TYPES, house_metadata

__all__ = ["Base", "NoteRow"]


class Base(DeclarativeBase):
    """The plans service's tables, in the house style (oneplan_kit.tables)."""

    metadata = house_metadata()
    type_annotation_map = HOUSE_TYPES


class NoteRow(Base):
    """One row per note: what the child's notes list reads."""

    __tablename__ = "notes"

    note_id: Mapped[UUID] = mapped_column(primary_key=True)
    child_id: Mapped[UUID] = mapped_column(index=True)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(255))
    agency: Mapped[str] = mapped_column(String(63))
    recorded_at: Mapped[datetime]
    version: Mapped[int]
