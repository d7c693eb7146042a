"""The read models of the plans service: the projection the kit runs after each
command, and the queries the routes need.

`NOTES` pairs the decider with `project_note`: the kit appends the events, evolves the note and
calls the projection in the same transaction, so the `notes` table and the event store never
disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from oneplan_events.decider import Aggregate
from oneplan_events.store import RecordedEvent
from oneplan_plans.adapters.tables import NoteRow
from oneplan_plans.domain.commands import Command
from oneplan_plans.domain.model import NOTE, Note

__all__ = ["NOTES", "notes_about", "project_note"]


async def project_note(
    session: AsyncSession, note: Note | None, recorded: Sequence[RecordedEvent]
) -> None:
    """Bring the note's row to `note` (called in the command's transaction; never commits)."""
    if note is None:
        return
    await session.merge(
        NoteRow(
            note_id=note.note_id,
            child_id=note.child_id,
            text=note.text,
            author=note.author,
            agency=note.agency,
            recorded_at=note.recorded_at,
            version=note.version,
        )
    )


NOTES: Aggregate[Note | None, Command] = Aggregate(NOTE, project_note)
"""Notes as the kit runs them: the decider and its projection."""


async def notes_about(session: AsyncSession, child_id: UUID) -> Sequence[NoteRow]:
    """A child's notes, oldest first."""
    rows = await session.scalars(
        select(NoteRow)
        .where(NoteRow.child_id == child_id)
        .order_by(NoteRow.recorded_at, NoteRow.note_id)
    )
    return rows.all()
