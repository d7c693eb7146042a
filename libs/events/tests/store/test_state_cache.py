"""The unit of work's StateCache: a record this process wrote last is not read again, and
every answer is still the one the stored record gives (SQLite and PostgreSQL).

Each test has two writers on one database: ``cached`` (a service instance with its cache)
and ``other`` (another instance, or a reaction: no shared cache), so a remembered state can
go stale behind the cached writer's back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker, create_async_engine

from oneplan_events.clock import FixedClock
from oneplan_events.schema import BACKBONE_METADATA
from oneplan_events.store import ConcurrencyError, EventStore, RecordedEvent
from oneplan_events.uow import StateCache, UnitOfWork

from .test_unit_of_work_contract import CATALOGUE, NOW, TALLIES, Count, NoTally


class CountingStore(EventStore):
    """The real store, counting the streams it reads."""

    def __init__(self) -> None:
        super().__init__(CATALOGUE)
        self.reads = 0

    async def read_stream(
        self, conn: AsyncConnection, stream_id: str, after_version: int = 0
    ) -> list[RecordedEvent]:
        self.reads += 1
        return await super().read_stream(conn, stream_id, after_version)


@dataclass
class Writers:
    sessions: async_sessionmaker[Any]
    states: StateCache
    store: CountingStore

    def cached(self) -> UnitOfWork:
        return UnitOfWork(
            self.sessions,
            self.store,
            source="/oneplan/uowtest",
            clock=FixedClock(NOW),
            states=self.states,
        )

    def other(self) -> UnitOfWork:
        return UnitOfWork(
            self.sessions, EventStore(CATALOGUE), source="/oneplan/uowtest", clock=FixedClock(NOW)
        )


@pytest.fixture(params=["sqlite", "postgresql"])
async def writers(request: pytest.FixtureRequest) -> AsyncIterator[Writers]:
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_database_url"
    engine = create_async_engine(request.getfixturevalue(fixture))
    async with engine.begin() as conn:
        await conn.run_sync(BACKBONE_METADATA.create_all)
    yield Writers(async_sessionmaker(engine, expire_on_commit=False), StateCache(), CountingStore())
    await engine.dispose()


async def run(work: UnitOfWork, record: UUID, command: Count, **options: Any) -> Any:
    async with work:
        outcome = await work.execute(TALLIES, record, command, **options)
        await work.commit()
    return outcome


async def history(writers: Writers, record: UUID) -> list[int]:
    async with writers.other() as work:
        return [item.event.by for item in await work.read_stream(TALLIES.stream_id(record))]  # type: ignore[attr-defined]


async def test_a_record_this_process_wrote_last_is_not_read_again(writers: Writers) -> None:
    record = uuid4()
    await run(writers.cached(), record, Count(2, create=True))
    second = await run(writers.cached(), record, Count(3))
    third = await run(writers.cached(), record, Count(4), expected_version=2)
    assert (second.state, second.version, third.state, third.version) == (5, 2, 9, 3)
    assert writers.store.reads == 0
    assert await history(writers, record) == [2, 3, 4]


async def test_a_state_gone_stale_behind_its_back_is_read_again(writers: Writers) -> None:
    record = uuid4()
    await run(writers.cached(), record, Count(2, create=True))
    await run(writers.other(), record, Count(10))  # another instance moves the record on
    outcome = await run(writers.cached(), record, Count(1))
    assert (outcome.state, outcome.version) == (13, 3)
    assert writers.store.reads == 1
    assert await history(writers, record) == [2, 10, 1]


async def test_a_record_another_writer_created_is_found(writers: Writers) -> None:
    record = uuid4()
    await run(writers.other(), record, Count(7, create=True))
    # On the state of a record it never saw, the decider refuses ("no such tally"): the
    # command is decided again on the stored record, which exists.
    outcome = await run(writers.cached(), record, Count(1))
    assert (outcome.state, outcome.version) == (8, 2)


async def test_a_refusal_is_made_on_the_stored_record(writers: Writers) -> None:
    with pytest.raises(NoTally):
        await run(writers.cached(), uuid4(), Count(1))
    assert writers.store.reads == 1


async def test_a_command_rolled_back_is_not_remembered(writers: Writers) -> None:
    record = uuid4()
    await run(writers.cached(), record, Count(2, create=True))
    async with writers.cached() as work:
        await work.execute(TALLIES, record, Count(100))  # never committed
    await run(writers.other(), record, Count(5))  # takes version 2 with another event
    outcome = await run(writers.cached(), record, Count(1))
    assert (outcome.state, outcome.version) == (8, 3)
    assert await history(writers, record) == [2, 5, 1]


async def test_if_match_on_another_version_than_remembered_reads_the_record(
    writers: Writers,
) -> None:
    record = uuid4()
    await run(writers.cached(), record, Count(2, create=True))
    await run(writers.other(), record, Count(3))
    outcome = await run(writers.cached(), record, Count(1), expected_version=2)
    assert (outcome.state, outcome.version) == (6, 3)
    with pytest.raises(ConcurrencyError) as raised:
        await run(writers.cached(), record, Count(1), expected_version=2)
    assert raised.value.actual_version == 3


async def test_two_commands_on_one_record_in_one_transaction(writers: Writers) -> None:
    record = uuid4()
    async with writers.cached() as work:
        await work.execute(TALLIES, record, Count(1, create=True))
        outcome = await work.execute(TALLIES, record, Count(2))
        await work.commit()
    assert (outcome.state, outcome.version) == (3, 2)
    assert writers.store.reads == 0


def test_the_cache_forgets_the_least_recently_used_records() -> None:
    states = StateCache(size=2)
    decider = TALLIES.decider
    states.put(decider, "tally/a", 1, 1)
    states.put(decider, "tally/b", 1, 2)
    assert states.get(decider, "tally/a") == (1, 1)  # a is now the most recently used
    states.put(decider, "tally/c", 1, 3)
    assert states.get(decider, "tally/b") is None
    assert states.get(decider, "tally/a") == (1, 1)
    assert len(states) == 2
    with pytest.raises(ValueError, match="size must be >= 1"):
        StateCache(size=0)
