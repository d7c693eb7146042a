"""End to end: every committed event reaches every consumer's projection exactly once.

Concurrent writers commit (and roll back, and lose version races) through the EventStore; the
outbox relay publishes to JetStream; durable consumers project into a table. Meanwhile the
relay process is SIGKILLed and restarted, the NATS server is stopped and restarted, then
SIGKILLed and restarted (after which the store is republished, as an operator would after a
JetStream loss). The stream's duplicate window is short, so the republish and the relay's
re-sends reach the consumers again: only their per-record positions keep the projection exact.

The stream is a service stream, partitioned by record. Two durables read it: ``ordered`` with
one instance, and ``shared`` with two instances pulling from every partition (each partition
pinned to one of them at a time, moving when that one falls silent). Both must apply every
committed event exactly once, and each record's events in version order.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from oneplan_events.relay import OutboxRelay
from oneplan_events.replay import republish
from oneplan_events.streams import ensure_stream, service_stream
from oneplan_testkit import unique_name

from .conftest import (
    Consumers,
    Items,
    RelayProcess,
    Writers,
    applied_count,
    connect,
    dead_letter_count,
    item_catalogue,
    jetstream_ids,
    make_engine,
    published_ids,
    rows,
    stored_ids,
    unpublished,
    wait_for,
)

pytestmark = pytest.mark.slow

ORDERED = "ordered"
SHARED = "shared"
STEP = 100  # events the ordered consumer applies between two faults
DUPLICATE_WINDOW = timedelta(seconds=1)


async def past_the_duplicate_window(since: float) -> None:
    """Wait until events published before ``since`` left JetStream's duplicate tracking:
    their republished copies are then stored again and reach the consumers a second time.
    (The server purges expired ids on a timer, so an id may outlive the window a little.)"""
    margin = 2 * DUPLICATE_WINDOW.total_seconds() + 0.5
    await asyncio.sleep(max(0.0, since + margin - time.monotonic()))


async def progressed(engine: AsyncEngine, by: int) -> None:
    """Wait until the ordered consumer applied ``by`` more events than now."""
    target = await applied_count(engine, ORDERED) + by

    async def reached() -> bool:
        return await applied_count(engine, ORDERED) >= target

    await wait_for(reached, 30, f"{target} events applied")


async def stream_setup(nats_url: str) -> tuple[str, Items]:
    """A service stream (partitioned by record, as the kit creates it) with a short duplicate
    window; returns the stream and the service's catalogue."""
    service = unique_name("rel").lower()
    spec = dataclasses.replace(service_stream(service), duplicate_window=DUPLICATE_WINDOW)
    nc = await connect(nats_url)
    try:
        await ensure_stream(nc.jetstream(), spec)
    finally:
        await nc.close()
    return spec.name, item_catalogue(service)


async def start_consumers(consumers: Consumers, nats_url: str) -> None:
    await consumers.start(nats_url, ORDERED, "o1")
    await consumers.start(nats_url, SHARED, "s1")
    await consumers.start(nats_url, SHARED, "s2")


async def assert_exactly_once(engine: AsyncEngine, writers: Writers, consumers: Consumers) -> None:
    """The end state, after the writers stopped: see the module docstring."""
    committed = writers.committed_ids

    async def all_applied() -> bool:
        counts = [await applied_count(engine, name) for name in (ORDERED, SHARED)]
        return min(counts) >= len(committed)

    await wait_for(all_applied, 60, f"{len(committed)} events applied by both durables")
    await asyncio.sleep(1.0)  # late redeliveries would add rows now; they must not

    assert sorted(await stored_ids(engine)) == sorted(committed)
    assert await unpublished(engine) == 0
    assert await dead_letter_count(engine) == 0
    for durable in (ORDERED, SHARED):
        projected = await rows(engine, durable)
        counts = Counter(event_id for event_id, _, _, _ in projected)
        twice = [event_id for event_id, n in counts.items() if n > 1]
        assert not twice, f"{durable}: {len(twice)} events applied more than once"
        assert not writers.discarded & counts.keys(), f"{durable}: an uncommitted event applied"
        assert counts.keys() == set(committed), f"{durable}: events missing"

    for durable in (ORDERED, SHARED):
        per_stream: defaultdict[str, list[int]] = defaultdict(list)
        for _, stream_id, version, _ in await rows(engine, durable):
            per_stream[stream_id].append(version)
        for stream_id, ids in writers.committed.items():
            assert per_stream[stream_id] == list(range(1, len(ids) + 1)), (durable, stream_id)

    duplicates = sum(consumer.stats.duplicates for consumer, _, _ in consumers.running)
    # The positions were exercised: re-published events did reach the consumers again.
    assert duplicates > 0
    shares = Counter(instance for _, _, _, instance in await rows(engine, SHARED))
    print(  # the figures for docs/event-store.md
        f"\n{len(committed)} events committed in {writers.counts['committed_commands']} "
        f"commands; {writers.counts['rolled_back']} rolled back, "
        f"{writers.counts['conflicts']} stale-version conflicts, {writers.counts['raced']} "
        f"lost races; duplicates skipped by positions: {duplicates}; shared split: {dict(shares)}"
    )


async def test_postgresql_relay_kill_and_nats_restarts(
    pg_database_url: str,
    nats_server_factory: Callable[..., Any],
    relay_process: Callable[[str, str], RelayProcess],
) -> None:
    started = time.monotonic()
    server = nats_server_factory()
    stream, items = await stream_setup(server.url)
    engine = await make_engine(pg_database_url)
    writers = Writers(engine, items.event_type)
    consumers = Consumers(engine, stream, items)
    relay = relay_process(pg_database_url, server.url)
    try:
        await start_consumers(consumers, server.url)
        relay.start()
        writers.start()

        await progressed(engine, STEP)
        first_published = time.monotonic()
        relay.kill()  # mid-stream: publishes in flight, acked rows not yet marked
        await asyncio.sleep(0.3)
        relay.start()

        await progressed(engine, STEP)
        server.stop()  # graceful
        await asyncio.sleep(1.0)
        server.start()

        await progressed(engine, STEP)
        server.kill()  # no flush of what JetStream acknowledged but had not written
        relay.kill()  # so that nothing newer is published before the republish below
        await asyncio.sleep(0.3)
        server.start()
        await past_the_duplicate_window(first_published)
        lost = await republish_after_a_crash(engine, server.url, stream)
        relay.start()

        await progressed(engine, STEP)
        await writers.stop()
        await assert_exactly_once(engine, writers, consumers)
        print(
            f"acknowledged writes lost by the SIGKILLed nats-server: {lost}; "
            f"{time.monotonic() - started:.1f}s"
        )
    finally:
        await writers.stop()
        await consumers.stop()
        relay.terminate()
        server.stop()
        await engine.dispose()


async def republish_after_a_crash(engine: AsyncEngine, nats_url: str, stream: str) -> int:
    """Count the acknowledged events the restarted server lost, then refill the stream from
    the store (from the start: an operator does not know where the loss began)."""
    nc = await connect(nats_url)
    try:
        js = nc.jetstream(timeout=5)

        async def stream_back() -> bool:
            try:
                await js.stream_info(stream)
            except Exception:
                return False
            return True

        await wait_for(stream_back, 15, "the stream after the restart")
        lost = len(await published_ids(engine) - await jetstream_ids(js, stream))
        await republish(engine, js)
        return lost
    finally:
        await nc.close()


async def test_sqlite_relay_crash_and_republish(sqlite_url: str, nats_url: str) -> None:
    stream, items = await stream_setup(nats_url)
    engine = await make_engine(sqlite_url)
    writers = Writers(engine, items.event_type)
    consumers = Consumers(engine, stream, items)
    nc = await connect(nats_url)
    relay = OutboxRelay(engine, nc.jetstream(), batch=20, lease_ttl=1.0)
    relay_task = asyncio.create_task(relay.run())
    try:
        await start_consumers(consumers, nats_url)
        writers.start()

        await progressed(engine, STEP)
        first_published = time.monotonic()
        relay_task.cancel()  # in-process "crash": no clean stop
        await asyncio.gather(relay_task, return_exceptions=True)
        relay = OutboxRelay(engine, nc.jetstream(), batch=20, lease_ttl=1.0)
        relay_task = asyncio.create_task(relay.run())

        await progressed(engine, STEP)
        await past_the_duplicate_window(first_published)
        await republish(engine, nc.jetstream())

        await progressed(engine, STEP)
        await writers.stop()
        await assert_exactly_once(engine, writers, consumers)
    finally:
        await writers.stop()
        await consumers.stop()
        relay.stop()
        await asyncio.gather(relay_task, return_exceptions=True)
        await nc.jetstream().delete_stream(stream)
        await nc.close()
        await engine.dispose()
