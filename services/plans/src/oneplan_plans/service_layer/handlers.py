"""Use cases of the plans service, each working inside the caller's unit of work.

The kit runs the decider (load the note, check the version, decide, append, evolve, project);
what is left here is what the decider cannot know, such as who is asking. Handlers never
commit: the entrypoint's command commits once, so a refusal leaves nothing written.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID, uuid4

from oneplan_events.uow import EventSourcedWork, UnitOfWork
from oneplan_kit.auth import Principal
from oneplan_plans.adapters import repository
from oneplan_plans.adapters.tables import NoteRow
from oneplan_plans.domain.commands import RecordNote
from oneplan_plans.domain.model import Note

__all__ = ["notes_about", "record_note"]


async def record_note(
    uow: EventSourcedWork, caller: Principal, child_id: UUID, text: str
) -> tuple[Note, int]:
    """Record a new note by `caller`; the note and its version."""
    note_id = uuid4()
    command = RecordNote(note_id, child_id, text, author=caller.sub, agency=caller.agency)
    outcome = await uow.execute(repository.NOTES, note_id, command)
    assert outcome.state is not None  # a recorded note always has a state
    return outcome.state, outcome.version


async def notes_about(uow: UnitOfWork, child_id: UUID) -> Sequence[NoteRow]:
    """A child's notes, from the read model, in this unit of work's transaction."""
    return await repository.notes_about(uow.session, child_id)
