"""The outbox relay against a real nats-server: once, in order per stream, through faults."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from nats.aio.client import Client
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from oneplan_events import relay as relay_module
from oneplan_events.relay import OutboxRelay
from oneplan_events.replay import republish
from oneplan_events.schema import outbox
from oneplan_events.store import ConcurrencyError, EventStore

from .conftest import (
    JsStream,
    all_visible,
    assert_exactly_once_in_order,
    connect_nats,
    create_test_stream,
    make_envelope,
    running,
    stream_count,
    stream_messages,
    unpublished,
    wait_for,
)


class Writer:
    """Commands appending to a few streams; remembers what committed, per stream, in order."""

    def __init__(self, engine: AsyncEngine, event_type: str, streams: int = 6) -> None:
        self.engine = engine
        self.event_type = event_type
        self.streams = [f"item/{s}" for s in range(streams)]
        self.committed: dict[str, list[str]] = {}
        self.store = EventStore()
        self.rng = random.Random(7)

    async def command(self, stream_id: str, size: int = 1, *, fail: bool = False) -> None:
        for _attempt in range(50):
            try:
                async with self.engine.begin() as conn:
                    version = await self.store.stream_version(conn, stream_id)
                    envelopes = [
                        make_envelope(stream_id, version + k, self.event_type) for k in range(size)
                    ]
                    await self.store.append(conn, stream_id, version, envelopes)
                    if fail:
                        raise RuntimeError("command failed after appending")
            except ConcurrencyError:
                continue
            self.committed.setdefault(stream_id, []).extend(e.id for e in envelopes)
            return
        pytest.fail(f"command on {stream_id} kept conflicting")

    async def run(self, commands: int, pause: float = 0.0) -> None:
        for _ in range(commands):
            await self.command(self.rng.choice(self.streams), self.rng.randint(1, 3))
            if pause:
                await asyncio.sleep(pause)

    @property
    def total(self) -> int:
        return sum(len(ids) for ids in self.committed.values())


async def wait_until_delivered(
    engine: AsyncEngine, nc: Client, stream: JsStream, writer: Writer, within: float = 30
) -> None:
    async def drained() -> bool:
        if await unpublished(engine):
            return False
        info = await nc.jetstream().stream_info(stream.name)
        return info.state.messages >= writer.total

    await wait_for(drained, within, "the relay to drain the outbox")
    assert_exactly_once_in_order(
        await stream_messages(nc.jetstream(), stream.name), writer.committed
    )


async def test_committed_events_arrive_once_in_order_and_rolled_back_ones_never(
    engine: AsyncEngine, nc: Client, js_stream: JsStream
) -> None:
    writer = Writer(engine, js_stream.event_type)
    with pytest.raises(RuntimeError, match="command failed"):
        await writer.command("item/rolled-back", 2, fail=True)
    await writer.run(30)

    relay = OutboxRelay(engine, nc.jetstream(), name="test", batch=7, in_flight=5)
    async with running(relay):
        await wait_until_delivered(engine, nc, js_stream, writer)
        await writer.run(10)  # new work after the drain: woken by NOTIFY, or by the poll
        relay.wake()
        await wait_until_delivered(engine, nc, js_stream, writer)
    assert relay.stats.published_total == writer.total
    assert relay.stats.lag() == timedelta(0)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(outbox.c.published_at))).scalars().all()
    assert all(published_at is not None for published_at in rows)


async def test_republishing_the_whole_store_is_dropped_by_the_duplicate_window(
    engine: AsyncEngine, nc: Client, js_stream: JsStream
) -> None:
    writer = Writer(engine, js_stream.event_type)
    await writer.run(20)
    async with running(OutboxRelay(engine, nc.jetstream(), name="test")):
        await wait_until_delivered(engine, nc, js_stream, writer)

    await all_visible(engine, writer.total)
    progress: list[int] = []
    count = await republish(
        engine, nc.jetstream(), progress=lambda done, _at: progress.append(done)
    )
    assert count == writer.total
    assert progress[-1] == writer.total
    assert_exactly_once_in_order(
        await stream_messages(nc.jetstream(), js_stream.name), writer.committed
    )


async def test_a_commit_wakes_the_relay_through_listen_notify(
    pg_engine: AsyncEngine, nc: Client, js_stream: JsStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the safety poll pushed out of reach, only the NOTIFY can wake the idle relay.
    monkeypatch.setattr(relay_module, "_LISTENING_POLL", 60.0)
    writer = Writer(pg_engine, js_stream.event_type)
    async with running(OutboxRelay(pg_engine, nc.jetstream(), name="test")):
        await asyncio.sleep(0.3)  # let it drain the empty outbox and go idle
        for _ in range(3):
            await writer.command("item/a")
            await wait_until_delivered(pg_engine, nc, js_stream, writer, within=5)


async def test_two_relays_at_once_publish_every_event_once_in_order(
    pg_engine: AsyncEngine, nc: Client, nats_url: str, js_stream: JsStream
) -> None:
    other_nc = await connect_nats(nats_url)
    relays = [
        OutboxRelay(pg_engine, client.jetstream(), name="shared", batch=10, lease_ttl=1.0)
        for client in (nc, other_nc)
    ]
    writer = Writer(pg_engine, js_stream.event_type)
    try:
        tasks = [asyncio.create_task(relay.run()) for relay in relays]
        await writer.run(40, pause=0.005)
        holder = next(relay for relay in relays if relay.stats.holds_lease)
        holder.stop()  # the other takes over (a clean stop releases the lease)
        await writer.run(40, pause=0.005)
        await wait_until_delivered(pg_engine, nc, js_stream, writer)
        assert all(relay.stats.published_total > 0 for relay in relays)
    finally:
        for relay in relays:
            relay.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        await other_nc.close()


def start_relay_process(database_url: str, nats_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "oneplan_events.relay",
            "--database-url",
            database_url,
            "--nats-url",
            nats_url,
            "--lease-ttl",
            "1.0",
            "--batch",
            "5",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.slow
async def test_a_relay_killed_with_sigkill_and_restarted_loses_and_duplicates_nothing(
    pg_database_url: str, pg_engine: AsyncEngine, nc: Client, nats_url: str, js_stream: JsStream
) -> None:
    writer = Writer(pg_engine, js_stream.event_type)
    process = start_relay_process(pg_database_url, nats_url)
    try:
        writing = asyncio.create_task(writer.run(150, pause=0.01))
        await wait_for(lambda: stream_count(nc, js_stream), 15, "the relay process to publish")
        process.send_signal(signal.SIGKILL)
        process.wait(5)
        published_at_kill = await stream_count(nc, js_stream)
        await asyncio.sleep(0.3)
        process = start_relay_process(pg_database_url, nats_url)
        await writing
        assert 0 < published_at_kill < writer.total
        await wait_until_delivered(pg_engine, nc, js_stream, writer)
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.slow
async def test_the_relay_backs_off_while_nats_is_down_and_resumes(
    pg_engine: AsyncEngine, nats_server_factory: Callable[..., Any]
) -> None:
    server = nats_server_factory()
    relay_nc = await connect_nats(server.url)
    stream = await create_test_stream(relay_nc.jetstream())
    writer = Writer(pg_engine, stream.event_type)
    relay = OutboxRelay(pg_engine, relay_nc.jetstream(), name="test", ack_timeout=1.0)
    try:
        async with running(relay):
            await writer.run(20, pause=0.005)
            await wait_until_delivered(pg_engine, relay_nc, stream, writer)
            server.stop()
            delivered = writer.total
            await writer.run(40, pause=0.005)  # committed while NATS is away
            await wait_for(lambda: relay.stats.last_error is not None, 10, "a publish error")
            await asyncio.sleep(2 * relay.ack_timeout)  # attempts have timed out by now
            # Nothing unacknowledged was marked published.
            assert await unpublished(pg_engine) == writer.total - delivered
            server.start()
            await wait_until_delivered(pg_engine, relay_nc, stream, writer)
    finally:
        await relay_nc.close()
        server.stop()
