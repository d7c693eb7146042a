"""PostgreSQL: read_all follows commit order and never skips an event, whatever the writers do.

Sequence values become visible out of order when transactions commit out of order; these tests
make that happen on purpose and check that a catch-up reader neither skips nor repeats.
"""

from __future__ import annotations

import asyncio
import random

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from oneplan_events.store import ConcurrencyError, EventStore, Position, RecordedEvent

from .conftest import all_visible, make_envelope

WRITERS = 8
COMMANDS_PER_WRITER = 40
STREAMS = 12


async def catch_up(
    conn_engine: AsyncEngine, store: EventStore, after: Position
) -> list[RecordedEvent]:
    async with conn_engine.connect() as conn:
        return await store.read_all(conn, after, limit=50)


async def test_concurrent_writers_and_a_catch_up_reader_see_every_event_once_in_order(
    pg_engine: AsyncEngine, store: EventStore
) -> None:
    rng = random.Random(20261124)
    committed: list[str] = []
    done = asyncio.Event()

    async def command(stream_id: str, n: int) -> None:
        # Reload and retry on conflict, like the API does; sleeps shuffle the commit order.
        for _attempt in range(200):
            try:
                async with pg_engine.begin() as conn:
                    version = await store.stream_version(conn, stream_id)
                    await asyncio.sleep(rng.random() * 0.004)
                    events = [
                        make_envelope(stream_id, n * 10 + k) for k in range(rng.randint(1, 3))
                    ]
                    recorded = await store.append(conn, stream_id, version, events)
                    await asyncio.sleep(rng.random() * 0.004)
            except ConcurrencyError:
                continue
            committed.extend(r.envelope.id for r in recorded)
            return
        pytest.fail(f"command on {stream_id} never got through")

    async def writer(w: int) -> None:
        for n in range(COMMANDS_PER_WRITER):
            await command(f"item/{rng.randrange(STREAMS)}", w * 1000 + n)

    async def reader() -> list[RecordedEvent]:
        # Reads until the writers are done and it has caught up with every committed event
        # (a transaction open elsewhere on a shared server may make it wait, never skip).
        seen: list[RecordedEvent] = []
        after = Position.START
        while not (done.is_set() and len(seen) >= len(committed)):
            page = await catch_up(pg_engine, store, after)
            seen += page
            if page:
                after = page[-1].position
            else:
                await asyncio.sleep(0.002)
        return seen + await catch_up(pg_engine, store, after)

    reading = asyncio.create_task(reader())
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    done.set()
    seen = await asyncio.wait_for(reading, 30)

    ids = [r.envelope.id for r in seen]
    assert len(ids) == len(set(ids)), "the reader saw an event twice"
    assert sorted(ids) == sorted(committed), "the reader missed an event"
    assert [r.position for r in seen] == sorted(r.position for r in seen)
    versions: dict[str, list[int]] = {}
    for r in seen:
        versions.setdefault(r.stream_id, []).append(r.version)
    for stream_versions in versions.values():
        assert stream_versions == list(range(1, len(stream_versions) + 1))


async def xid(conn: AsyncConnection) -> int:
    """Give ``conn``'s transaction its transaction id now (as a first write would)."""
    value: int = (
        await conn.execute(text("SELECT pg_current_xact_id()::text::bigint"))
    ).scalar_one()
    return value


async def test_the_reader_never_passes_a_transaction_that_is_still_open(
    pg_engine: AsyncEngine, store: EventStore
) -> None:
    async with pg_engine.begin() as conn:
        await store.append(conn, "item/before", 0, [make_envelope("item/before", 0)])
    await all_visible(pg_engine, 1)

    async with pg_engine.connect() as slow:
        await slow.begin()
        await xid(slow)  # the slow command started (and took its xid) first...
        async with pg_engine.begin() as conn:  # ...a later one appends and commits...
            later = await store.append(conn, "item/later", 0, [make_envelope("item/later", 0)])
        # ...and only then does the slow one append, with a position after the later one's.
        held = await store.append(slow, "item/slow", 0, [make_envelope("item/slow", 0)])
        assert held[0].position.position > later[0].position.position

        seen = await catch_up(pg_engine, store, Position.START)
        assert [r.stream_id for r in seen] == ["item/before"]
        cursor = seen[-1].position
        assert await catch_up(pg_engine, store, cursor) == []  # stalls, does not skip
        await slow.commit()

    await all_visible(pg_engine, 3)
    rest = await catch_up(pg_engine, store, cursor)
    assert [r.stream_id for r in rest] == ["item/slow", "item/later"]  # commit-order cursor


async def test_an_append_older_than_the_streams_last_writer_is_refused(
    pg_engine: AsyncEngine, store: EventStore
) -> None:
    """Otherwise version 2 would sort before version 1 in read_all (its xid is lower)."""
    async with pg_engine.connect() as old:
        await old.begin()
        await xid(old)
        async with pg_engine.begin() as conn:
            await store.append(conn, "item/a", 0, [make_envelope("item/a", 0)])
        with pytest.raises(ConcurrencyError, match="older than the stream's last writer"):
            await store.append(old, "item/a", 1, [make_envelope("item/a", 1)])
        await old.rollback()

    async with pg_engine.begin() as conn:  # the retry, in a new transaction, goes through
        recorded = await store.append(conn, "item/a", 1, [make_envelope("item/a", 1)])
    assert recorded[0].version == 2
