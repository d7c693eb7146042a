"""Relay publish rate: OutboxRelay draining a full outbox vs raw nats-py pipelined publish.

Each round fills the outbox with EVENTS events over STREAMS streams (EventStore.append), then
times an OutboxRelay from start until every row is acknowledged and marked published. The
baseline publishes the same payloads (same headers and body sizes) with ``js.publish_async``
from memory and awaits all acks. Each contender publishes into its own fresh JetStream stream
(file storage, 2-minute duplicate window). Target: the relay at >= 60% of raw.

    uv run python bench/bench_relay.py     # BENCH_DATABASE_URL, BENCH_NATS_URL, BENCH_ROUNDS
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import nats
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).parent))

from _common import NATS_URL, Result, fresh_backbone, print_table

from oneplan_events.envelope import Envelope
from oneplan_events.relay import OutboxRelay
from oneplan_events.store import EventStore

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "20000"))
STREAMS = 1000
PER_STREAM = EVENTS // STREAMS


def envelopes_for(event_type: str, stream_id: str) -> list[Envelope]:
    return [
        Envelope(
            id=str(uuid.uuid4()),
            source="/oneplan/bench",
            type=event_type,
            time=datetime.now(UTC),
            data={"n": n, "note": "x" * 200},
            subject=stream_id,
            correlationid=str(uuid.uuid4()),
        )
        for n in range(PER_STREAM)
    ]


async def fresh_stream(js: JetStreamContext, subject: str) -> str:
    name = f"BENCH_RELAY_{uuid.uuid4().hex[:10]}"
    await js.add_stream(name=name, subjects=[subject])
    return name


async def fill_outbox(engine: AsyncEngine, event_type: str) -> None:
    store = EventStore()
    async with engine.begin() as conn:
        for s in range(STREAMS):
            stream_id = f"item/{s}"
            await store.append(conn, stream_id, 0, envelopes_for(event_type, stream_id))


async def relay_round(
    engine: AsyncEngine, js: JetStreamContext, round_no: int
) -> tuple[float, float]:
    event_type = f"oneplan.benchrelay{round_no}.item.recorded"
    stream = await fresh_stream(js, event_type)
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE event_store, outbox, relay_lease RESTART IDENTITY"))
    await fill_outbox(engine, event_type)
    relay = OutboxRelay(engine, js, name=f"bench{round_no}")
    cpu_started = time.process_time()
    started = time.perf_counter()
    task = asyncio.create_task(relay.run())
    for _ in range(60_000):
        if relay.stats.published_total >= EVENTS:
            break
        await asyncio.sleep(0.001)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    relay.stop()
    await task
    await js.delete_stream(stream)
    if relay.stats.published_total != EVENTS:
        raise RuntimeError(f"relay published {relay.stats.published_total} of {EVENTS}")
    return EVENTS / elapsed, cpu / EVENTS * 1e6


async def raw_round(js: JetStreamContext, round_no: int) -> tuple[float, float]:
    event_type = f"oneplan.benchraw{round_no}.item.recorded"
    stream = await fresh_stream(js, event_type)
    messages = [
        envelope.to_nats()
        for s in range(STREAMS)
        for envelope in envelopes_for(event_type, f"item/{s}")
    ]
    cpu_started = time.process_time()
    started = time.perf_counter()
    futures = [
        await js.publish_async(event_type, body, headers=headers) for headers, body in messages
    ]
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    await js.delete_stream(stream)
    return EVENTS / elapsed, cpu / EVENTS * 1e6


async def main() -> None:
    engine = await fresh_backbone()
    nc = await nats.connect(NATS_URL)
    js = nc.jetstream(publish_async_max_pending=4000)
    rates: dict[str, list[float]] = {"OutboxRelay": [], "raw nats-py publish_async": []}
    cpu: dict[str, list[float]] = {name: [] for name in rates}
    try:
        for round_no in range(ROUNDS):
            for name, contender in (
                ("OutboxRelay", relay_round(engine, js, round_no)),
                ("raw nats-py publish_async", raw_round(js, round_no)),
            ):
                rate, cpu_per_event = await contender
                rates[name].append(rate)
                cpu[name].append(cpu_per_event)
    finally:
        await nc.drain()
        await engine.dispose()
    print_table(
        f"relay: {EVENTS} events over {STREAMS} streams, {ROUNDS} rounds (events/s)",
        "ev/s",
        [Result(name, values) for name, values in rates.items()],
        ["raw nats-py publish_async"],
    )
    # On a shared 2-core machine wall-clock rates swing with other load; the client CPU spent
    # per event shows the relay's own overhead over raw publishing.
    for name, values in cpu.items():
        print(f"{name:<40} client CPU {statistics.median(values):6.1f} us/event (median)")


if __name__ == "__main__":
    asyncio.run(main())
