"""The relay publishes each stream's events in version order, whatever order writers commit in.

Outbox ids (like positions) are taken when a row is inserted, not when its transaction
commits. A relay that walked the outbox by id could read past a row whose transaction was
still open, and then publish the next version of that row's stream before it. These tests make
commits land late on purpose and read the order back from the JetStream stream itself.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from nats.aio.client import Client
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from oneplan_events import relay as relay_module
from oneplan_events._outbox import OutboxReader, OutboxRow, mark_published
from oneplan_events.relay import OutboxRelay
from oneplan_events.schema import outbox
from oneplan_events.store import EventStore, Position

from .conftest import (
    JsStream,
    StoredMessage,
    all_visible,
    make_envelope,
    running,
    stream_count,
    stream_messages,
    unpublished,
    wait_for,
)


class GatedReads:
    """Wraps the relay's outbox reads: the first ``allowed`` run, later ones wait.

    Later reads wait for :meth:`release`, so a test decides what has committed by the time the
    relay reads again.
    """

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.started = 0
        self.completed = 0
        self._released = asyncio.Event()

    def wrap(self, read: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def gated(*args: Any, **kwargs: Any) -> Any:
            self.started += 1
            if self.started > self.allowed:
                await self._released.wait()
            try:
                return await read(*args, **kwargs)
            finally:
                self.completed += 1

        return gated

    def release(self) -> None:
        self._released.set()


def out_of_order(messages: Sequence[StoredMessage], expected: dict[str, list[str]]) -> list[str]:
    """The streams whose event ids were not stored in ``expected``'s (version) order."""
    stored: dict[str, list[str]] = {}
    for message in messages:  # stream order: the order JetStream stored them in
        stored.setdefault(message.stream_id, []).append(message.msg_id)
    return sorted(s for s, ids in expected.items() if stored.get(s) != ids)


async def test_a_row_committed_after_the_relay_read_past_it_is_still_published_first(
    pg_engine: AsyncEngine, nc: Client, js_stream: JsStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EventStore()
    gate = GatedReads(allowed=1)
    monkeypatch.setattr(OutboxReader, "next_batch", gate.wrap(OutboxReader.next_batch))
    expected: dict[str, list[str]] = {}

    async with pg_engine.connect() as slow:
        # Version 1 of item/slow: its outbox row takes the lowest id, and stays uncommitted.
        await slow.begin()
        v1 = make_envelope("item/slow", 1, js_stream.event_type)
        await store.append(slow, "item/slow", 0, [v1])
        # Later commands on other streams commit first: higher ids, visible to the relay.
        for k in range(5):
            envelope = make_envelope(f"item/other-{k}", 1, js_stream.event_type)
            async with pg_engine.begin() as conn:
                await store.append(conn, f"item/other-{k}", 0, [envelope])
            expected[f"item/other-{k}"] = [envelope.id]

        relay = OutboxRelay(pg_engine, nc.jetstream(), name="test", batch=100)
        async with running(relay):
            # The relay reads once while version 1 is uncommitted; its next read waits.
            await wait_for(lambda: gate.completed >= 1, 10, "the relay's first outbox read")
            published_while_open = await stream_count(nc, js_stream)
            await slow.commit()
            # Version 2 is appended only now, so its row has a higher id than everything above.
            v2 = make_envelope("item/slow", 2, js_stream.event_type)
            async with pg_engine.begin() as conn:
                await store.append(conn, "item/slow", 1, [v2])
            expected["item/slow"] = [v1.id, v2.id]
            gate.release()

            async def all_published() -> bool:
                return await stream_count(nc, js_stream) >= 7 and not await unpublished(pg_engine)

            await wait_for(all_published, 15, "the relay to publish all 7 events")

    messages = await stream_messages(nc.jetstream(), js_stream.name)
    assert [m.msg_id for m in messages if m.stream_id == "item/slow"] == [v1.id, v2.id], (
        "version 2 of item/slow reached JetStream before version 1"
    )
    assert out_of_order(messages, expected) == []
    assert len(messages) == 7
    # Gap safety: nothing that began after the open transaction was published past it.
    assert published_while_open == 0


async def test_concurrent_writers_committing_late_never_reorder_a_stream(
    database_url: str, engine: AsyncEngine, nc: Client, js_stream: JsStream
) -> None:
    """Hundreds of records, each v1 then v2 in separate transactions, commits delayed at random.

    On PostgreSQL many writers run at once, so rows commit out of id order all the time; on
    SQLite (one writer at a time) the same workload checks the same contract.
    """
    sqlite = engine.dialect.name == "sqlite"
    # SQLite writers queue for its one write lock: a few are enough, and they may wait long.
    writer_count, streams, max_delay = (3, 60, 0.004) if sqlite else (12, 400, 0.03)
    options: dict[str, Any] = {"connect_args": {"timeout": 30}} if sqlite else {}
    rng = random.Random(20261126)
    writers = create_async_engine(database_url, pool_size=writer_count, max_overflow=0, **options)
    store = EventStore()
    expected: dict[str, list[str]] = {}

    async def append(conn: AsyncConnection, stream_id: str, version: int, delay: float) -> str:
        envelope = make_envelope(stream_id, version, js_stream.event_type)
        await store.append(conn, stream_id, version - 1, [envelope])
        await asyncio.sleep(delay)  # commit late: rows inserted after this one commit first
        return envelope.id

    async def writer(w: int) -> None:
        # Each record is registered, then corrected right after, in a second transaction.
        for s in range(w, streams, writer_count):
            stream_id = f"item/{s}"
            async with writers.begin() as conn:
                first = await append(conn, stream_id, 1, rng.uniform(0, max_delay))
            async with writers.begin() as conn:
                second = await append(conn, stream_id, 2, rng.uniform(0, max_delay / 3))
            expected[stream_id] = [first, second]

    relay = OutboxRelay(engine, nc.jetstream(), name="test", batch=20, in_flight=64)
    try:
        async with running(relay):
            await asyncio.gather(*(writer(w) for w in range(writer_count)))

            async def all_published() -> bool:
                return await stream_count(nc, js_stream) >= 2 * streams and not await unpublished(
                    engine
                )

            await wait_for(all_published, 20, f"the relay to publish {2 * streams} events")
    finally:
        await writers.dispose()

    messages = await stream_messages(nc.jetstream(), js_stream.name)
    assert len({m.msg_id for m in messages}) == len(messages) == 2 * streams
    disordered = out_of_order(messages, expected)
    assert disordered == [], f"{len(disordered)} of {streams} streams out of version order"


async def test_rows_held_back_by_an_open_transaction_are_published_soon_after_it_ends(
    pg_engine: AsyncEngine, nc: Client, js_stream: JsStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the relay's own look-again can notice the end of a transaction that sends no NOTIFY.
    monkeypatch.setattr(relay_module, "_LISTENING_POLL", 60.0)
    async with running(OutboxRelay(pg_engine, nc.jetstream(), name="test")):
        await asyncio.sleep(0.3)  # let it drain the empty outbox and go idle
        async with pg_engine.connect() as holder:
            await holder.begin()
            await holder.execute(text("SELECT pg_current_xact_id()"))  # an xid, no outbox row
            await append_one(pg_engine, "item/a", js_stream.event_type)  # commits: a NOTIFY
            await asyncio.sleep(0.5)
            # It might still be followed by an older row of holder's: held back, not skipped.
            assert await stream_count(nc, js_stream) == 0
            await holder.rollback()
        await wait_for(lambda: stream_count(nc, js_stream), 10, "the held-back row to be published")


async def append_one(engine: AsyncEngine, stream_id: str, event_type: str | None = None) -> None:
    envelope = make_envelope(stream_id, 1, *([event_type] if event_type else []))
    async with engine.begin() as conn:
        await EventStore().append(conn, stream_id, 0, [envelope])


def event_ids(rows: Sequence[OutboxRow]) -> list[str]:
    return [row.message.headers["Nats-Msg-Id"] for row in rows]


async def read_to_the_end(reader: OutboxReader) -> list[OutboxRow]:
    rows: list[OutboxRow] = []
    while batch := await reader.next_batch():
        rows += batch
    return rows


async def test_the_reader_follows_read_alls_order_a_batch_at_a_time_and_never_goes_back(
    engine: AsyncEngine,
) -> None:
    store = EventStore()
    early_id = None
    if engine.dialect.name == "postgresql":
        # A transaction that took its xid first but appends last: its row has the highest
        # outbox id and the lowest tx_id, so id order and commit order differ.
        async with engine.connect() as early:
            await early.begin()
            await early.execute(text("SELECT pg_current_xact_id()"))
            for k in range(3):
                await append_one(engine, f"item/later-{k}")
            envelope = make_envelope("item/early", 1)
            early_id = envelope.id
            await store.append(early, "item/early", 0, [envelope])
            await early.commit()
    for k in range(4):
        await append_one(engine, f"item/{k}")
    await all_visible(engine, 8 if engine.dialect.name == "postgresql" else 4)
    async with engine.connect() as conn:
        in_order = [r.envelope.id for r in await store.read_all(conn, Position.START, 100)]
    if early_id is not None:
        assert in_order[0] == early_id  # first in commit order, last in id order

    reader = OutboxReader(engine, batch=2, plan_size=3)
    first = await reader.next_batch()
    assert event_ids(first) == in_order[:2]
    # Another relay publishes the next row after this reader planned it, before it reads it.
    async with engine.begin() as conn:
        taken = await conn.scalar(select(outbox.c.id).where(outbox.c.event_id == in_order[2]))
        assert taken is not None
        await mark_published(conn, [(taken, 1)])
    rest = await read_to_the_end(reader)
    assert event_ids(rest) == in_order[3:]

    # The cursor stays where it is: only what commits next is read next.
    await append_one(engine, "item/next")
    await all_visible(engine, len(in_order) + 1)
    assert [row.message.stream_id for row in await read_to_the_end(reader)] == ["item/next"]
    # After a restart, it reads from the first unpublished row again.
    reader.restart()
    again = await read_to_the_end(reader)
    assert event_ids(again)[:-1] == in_order[:2] + in_order[3:]
