"""The command and its projection on a migrated database, SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oneplan_events.schema import outbox
from oneplan_events.store import EventStore
from oneplan_events.uow import UnitOfWork
from oneplan_kit.auth import Principal
from oneplan_kit.db import create_engine, create_sessionmaker
from oneplan_kit.migrations import upgrade
from oneplan_plans.adapters.repository import NOTES
from oneplan_plans.bootstrap import SERVICE
from oneplan_plans.domain.commands import RecordNote
from oneplan_plans.domain.model import NoteAlreadyRecorded
from oneplan_plans.events import NoteRecorded
from oneplan_plans.service_layer.handlers import notes_about, record_note

CHILD = UUID("0b6f3c1e-8d55-4a57-9d55-1f3f7b1f0c11")
CALLER = Principal("practitioner-1", "plans", frozenset({"practitioner"}))


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A database migrated to head: the kit's backbone branch and this service's versions."""
    engine = create_engine(database_url)
    await upgrade(SERVICE.migrations_location, engine)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


def work(sessions: async_sessionmaker[AsyncSession]) -> UnitOfWork:
    return UnitOfWork(sessions, EventStore(SERVICE.catalogue), source=SERVICE.source)


async def test_a_recorded_note_is_in_the_store_the_outbox_and_the_read_model(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with work(sessions) as uow:
        note, version = await record_note(uow, CALLER, CHILD, "Enjoys the sensory room.")
        await uow.commit()
    assert version == 1
    async with work(sessions) as uow:
        [row] = await notes_about(uow, CHILD)
        [stored] = await uow.read_stream(NOTES.stream_id(note.note_id))
        published = await uow.session.scalar(select(func.count()).select_from(outbox))
        # Inside the block: rows are read in the unit of work's transaction.
        assert (row.note_id, row.text, row.author, row.version) == (
            note.note_id,
            "Enjoys the sensory room.",
            "practitioner-1",
            1,
        )
        assert isinstance(stored.event, NoteRecorded)
        assert stored.event.recorded_at == row.recorded_at
    assert published == 1


async def test_nothing_is_written_without_the_commit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with work(sessions) as uow:
        await record_note(uow, CALLER, CHILD, "Never committed.")
    async with work(sessions) as uow:
        assert await notes_about(uow, CHILD) == []


async def test_a_refused_command_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with work(sessions) as uow:
        note, _ = await record_note(uow, CALLER, CHILD, "Enjoys the sensory room.")
        await uow.commit()
    command = RecordNote(note.note_id, CHILD, "Again.", CALLER.sub, CALLER.agency)
    async with work(sessions) as uow:
        with pytest.raises(NoteAlreadyRecorded):
            await uow.execute(NOTES, note.note_id, command)
    async with work(sessions) as uow:
        assert [row.text for row in await notes_about(uow, CHILD)] == ["Enjoys the sensory room."]
