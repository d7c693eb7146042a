"""One contract for every unit of work: SQLite, PostgreSQL and the testkit's in-memory fake.

A domain test may run on the fake only because the fake keeps the same promises, shown here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from oneplan_events.catalogue import Catalogue, DataClass, Event
from oneplan_events.clock import FixedClock
from oneplan_events.decider import Aggregate
from oneplan_events.schema import BACKBONE_METADATA
from oneplan_events.store import ConcurrencyError, EventStore
from oneplan_events.uow import EventSourcedWork, StateCache, UnitOfWork
from oneplan_testkit.fakes import InMemoryEventStore

CATALOGUE = Catalogue("uowtest")
NOW = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)


@CATALOGUE.register("oneplan.uowtest.tally.counted", DataClass.EDUCATION, summary="Counted.")
class Counted(Event):
    tally_id: UUID
    by: int


class NoTally(LookupError):
    pass


@dataclass(frozen=True)
class Count:
    by: int
    create: bool = False


class TallyDecider:
    stream_prefix = "tally"

    def initial_state(self) -> int | None:
        return None

    def decide(self, state: int | None, command: Count, now: datetime) -> Sequence[Event]:
        if state is None and not command.create:
            raise NoTally("no such tally")
        return [] if command.by == 0 else [Counted(tally_id=uuid4(), by=command.by)]

    def evolve(self, state: int | None, event: Event) -> int | None:
        assert isinstance(event, Counted)
        return (state or 0) + event.by


TALLIES: Aggregate[int | None, Count] = Aggregate(TallyDecider())
Factory = Callable[[], Any]


@pytest.fixture(
    params=["sqlite", "postgresql", "memory", "sqlite, state cache", "postgresql, state cache"]
)
async def new_work(request: pytest.FixtureRequest) -> AsyncIterator[Factory]:
    """A factory of units of work, all on one store (and, for the cached ones, one
    StateCache, as a service's runtime shares one)."""
    if request.param == "memory":
        store = InMemoryEventStore(CATALOGUE)
        yield lambda: store.unit_of_work(source="/oneplan/uowtest", clock=FixedClock(NOW))
        return
    fixture = "sqlite_url" if request.param.startswith("sqlite") else "pg_database_url"
    engine = create_async_engine(request.getfixturevalue(fixture))
    async with engine.begin() as conn:
        await conn.run_sync(BACKBONE_METADATA.create_all)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    states = StateCache() if request.param.endswith("state cache") else None
    yield lambda: UnitOfWork(
        sessions,
        EventStore(CATALOGUE),
        source="/oneplan/uowtest",
        clock=FixedClock(NOW),
        states=states,
    )
    await engine.dispose()


async def run(new_work: Factory, record: UUID, command: Count, **options: Any) -> Any:
    work: EventSourcedWork
    async with new_work() as work:
        outcome = await work.execute(TALLIES, record, command, **options)
        await work.commit()
    return outcome


async def test_a_command_appends_its_events_and_evolves_the_state(new_work: Factory) -> None:
    record = uuid4()
    first = await run(new_work, record, Count(2, create=True))
    second = await run(new_work, record, Count(3))
    assert (first.state, first.version) == (2, 1)
    assert (second.state, second.version) == (5, 2)
    assert [item.version for item in second.recorded] == [2]
    assert second.events[0].by == 3
    async with new_work() as work:
        history = await work.read_stream(TALLIES.stream_id(record))
        assert [item.version for item in history] == [1, 2]
        assert await work.stream_version(TALLIES.stream_id(record)) == 2
        assert history[0].envelope.time == NOW  # the clock, read once, stamps the events


async def test_nothing_is_visible_before_the_commit_and_nothing_stays_without_it(
    new_work: Factory,
) -> None:
    record = uuid4()
    async with new_work() as work:
        await work.execute(TALLIES, record, Count(1, create=True))
        assert await work.stream_version(TALLIES.stream_id(record)) == 1
    async with new_work() as work:
        assert await work.stream_version(TALLIES.stream_id(record)) == 0


async def test_a_stale_expected_version_is_a_conflict_and_writes_nothing(
    new_work: Factory,
) -> None:
    record = uuid4()
    await run(new_work, record, Count(1, create=True))
    await run(new_work, record, Count(1))
    with pytest.raises(ConcurrencyError) as raised:
        await run(new_work, record, Count(5), expected_version=1)
    assert raised.value.actual_version == 2
    async with new_work() as work:
        assert await work.stream_version(TALLIES.stream_id(record)) == 2


async def test_the_decider_speaks_first_about_a_record_that_does_not_exist(
    new_work: Factory,
) -> None:
    with pytest.raises(NoTally):
        await run(new_work, uuid4(), Count(1), expected_version=3)


async def test_a_command_deciding_nothing_changes_nothing(new_work: Factory) -> None:
    record = uuid4()
    await run(new_work, record, Count(4, create=True))
    outcome = await run(new_work, record, Count(0))
    assert (outcome.state, outcome.version, list(outcome.recorded)) == (4, 1, [])


async def test_an_append_at_a_version_someone_else_took_is_refused(new_work: Factory) -> None:
    record = uuid4()
    stream = TALLIES.stream_id(record)
    await run(new_work, record, Count(1, create=True))
    async with new_work() as work:
        with pytest.raises(ConcurrencyError):
            await work.append(stream, 0, [Counted(tally_id=uuid4(), by=9)])
