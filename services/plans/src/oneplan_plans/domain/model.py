"""A note as a decider: `decide` (state + command -> events) and `evolve` (state + event ->
state), run by the kit (`NOTE`).

Both are pure: the instant is an argument, and nothing here touches a database or the network.
A note's state is the fold of its events with `evolve`, starting from `None` (no note yet).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import assert_never
from uuid import UUID

from oneplan_events.catalogue import Event
from oneplan_plans.domain.commands import Command, RecordNote
from oneplan_plans.events import NoteRecorded

__all__ = ["NOTE", "DomainError", "Note", "NoteAlreadyRecorded", "NoteDecider", "decide", "evolve"]


class DomainError(Exception):
    """A command the rules refuse; nothing is recorded."""


class NoteAlreadyRecorded(DomainError):
    """The note exists already (a command was sent twice with the same id)."""


@dataclass(frozen=True)
class Note:
    """A note after `version` events."""

    note_id: UUID
    child_id: UUID
    text: str
    author: str
    agency: str
    recorded_at: datetime
    version: int


def decide(state: Note | None, command: Command, now: datetime) -> Sequence[Event]:
    """The events that carry out `command` on `state`, or a DomainError; never any I/O."""
    match command:
        case RecordNote():
            if state is not None:
                raise NoteAlreadyRecorded(f"note {command.note_id} is recorded already")
            return [
                NoteRecorded(
                    note_id=command.note_id,
                    child_id=command.child_id,
                    text=command.text,
                    author=command.author,
                    agency=command.agency,
                    recorded_at=now,
                )
            ]
        case _:
            assert_never(command)


def evolve(state: Note | None, event: Event) -> Note | None:
    """The note after `event`."""
    match event:
        case NoteRecorded():
            return Note(
                note_id=event.note_id,
                child_id=event.child_id,
                text=event.text,
                author=event.author,
                agency=event.agency,
                recorded_at=event.recorded_at,
                version=1,
            )
    raise ValueError(f"{type(event).__name__} is not an event of a note")


class NoteDecider:
    """A note for the kit: streams `note/<note id>`."""

    stream_prefix = "note"

    def initial_state(self) -> Note | None:
        """No note yet."""
        return None

    def decide(self, state: Note | None, command: Command, now: datetime) -> Sequence[Event]:
        """:func:`decide`."""
        return decide(state, command, now)

    def evolve(self, state: Note | None, event: Event) -> Note | None:
        """:func:`evolve`."""
        return evolve(state, event)


NOTE = NoteDecider()
"""A note, as the kit runs it."""
