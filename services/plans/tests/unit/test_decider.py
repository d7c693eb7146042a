"""The note decider in given-events / when-command / then-events form: no database, no NATS."""

from __future__ import annotations

from uuid import UUID, uuid4

from oneplan_plans.domain.commands import RecordNote
from oneplan_plans.domain.model import NOTE, NoteAlreadyRecorded
from oneplan_plans.events import NoteRecorded
from oneplan_testkit.deciders import DEFAULT_NOW, DeciderSpec

CHILD = UUID("0b6f3c1e-8d55-4a57-9d55-1f3f7b1f0c11")


def record(note_id: UUID) -> RecordNote:
    return RecordNote(note_id, CHILD, "Enjoys the sensory room.", "practitioner-1", "plans")


def recorded(note_id: UUID) -> NoteRecorded:
    return NoteRecorded(
        note_id=note_id,
        child_id=CHILD,
        text="Enjoys the sensory room.",
        author="practitioner-1",
        agency="plans",
        recorded_at=DEFAULT_NOW,
    )


def test_a_note_is_recorded_at_the_commands_instant() -> None:
    note_id = uuid4()
    DeciderSpec(NOTE).when(record(note_id)).then(recorded(note_id))


def test_a_note_is_recorded_once() -> None:
    note_id = uuid4()
    spec = DeciderSpec(NOTE).given(recorded(note_id))
    spec.when(record(note_id)).then_raises(NoteAlreadyRecorded, match=str(note_id))


def test_the_state_is_the_fold_of_the_events() -> None:
    note_id = uuid4()
    note = DeciderSpec(NOTE).when(record(note_id)).then_state()
    assert note is not None
    assert (note.note_id, note.child_id, note.version) == (note_id, CHILD, 1)
