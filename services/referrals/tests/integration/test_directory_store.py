"""Loading the directory's CSV on a migrated database (SQLite and PostgreSQL): each new
service listed and each changed one changed, as events; loading the same file again records
nothing; a retired service stays retired; what the routes read follows the events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from uuid import UUID

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oneplan_events.store import EventStore
from oneplan_events.uow import UnitOfWork
from oneplan_kit.db import create_engine, create_sessionmaker
from oneplan_kit.migrations import upgrade
from oneplan_referrals.adapters import repository
from oneplan_referrals.bootstrap import SERVICE
from oneplan_referrals.domain.directory import Directory, demo_directory_csv, parse_directory
from oneplan_referrals.domain.errors import InvalidInput
from oneplan_referrals.service_layer.directory import Synced, list_service, retire_service, sync

from ..referrals_testing import OT, RISE, SALT

SHIPPED = parse_directory(demo_directory_csv())


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    await upgrade(SERVICE.migrations_location, engine)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def _sync(
    sessions: async_sessionmaker[AsyncSession], loaded: Directory
) -> tuple[Synced, list[str]]:
    async with UnitOfWork(sessions, EventStore(SERVICE.catalogue), source=SERVICE.source) as uow:
        synced = await sync(uow, loaded)
        await uow.commit()
        return synced, [type(e.event).__name__ for e in uow.appended]


async def test_loading_the_csv_records_only_what_changed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first, events = await _sync(sessions, SHIPPED)
    assert (len(first.listed), first.changed, events.count("DirectoryServiceListed")) == (6, (), 6)
    again, events = await _sync(sessions, SHIPPED)
    assert (again, events) == (Synced(), [])

    rise = SHIPPED.entries[RISE].model_copy(update={"phone": "01632 960099"})
    new = SHIPPED.entries[OT].model_copy(
        update={"id": UUID(int=RISE.int + 100), "code": "ot-north", "name": "OT north"}
    )
    changed_file = Directory({**SHIPPED.entries, RISE: rise, new.id: new})
    third, events = await _sync(sessions, changed_file)
    assert (third.listed, third.changed) == ((new.id,), (RISE,))
    assert sorted(events) == ["DirectoryServiceChanged", "DirectoryServiceListed"]
    async with sessions() as session:
        directory = await repository.directory(session)
    assert directory.get(RISE) == rise
    assert len(directory.listed()) == 7


async def test_a_retired_service_stays_retired_and_codes_stay_unique(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _sync(sessions, SHIPPED)
    store = EventStore(SERVICE.catalogue)
    async with UnitOfWork(sessions, store, source=SERVICE.source) as uow:
        await retire_service(
            uow, "manager-1", SALT, on=date(2026, 5, 1), reason=None, expected_version=1
        )
        clash = SHIPPED.entries[OT].model_copy(update={"id": UUID(int=1)})
        with pytest.raises(InvalidInput) as raised:
            await list_service(uow, "manager-1", clash)
        assert raised.value.field == "code"
        await uow.commit()
    synced, events = await _sync(sessions, SHIPPED)
    assert (synced.left_retired, events) == ((SALT,), [])
    async with sessions() as session:
        directory = await repository.directory(session)
    assert not directory.takes_referrals(SALT)
    assert directory.get(SALT) == SHIPPED.entries[SALT]
    assert SALT not in {entry.id for entry in directory.listed()}
