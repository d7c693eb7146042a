"""Relay publish rate: OutboxRelay draining a full outbox vs raw nats-py pipelined publish.

Each round fills the outbox with EVENTS events over STREAMS records (EventStore.append), then
times an OutboxRelay from start until every row is acknowledged and marked published. The
baseline publishes the same messages (the same subjects, headers and bodies, stream versions
included) with ``js.publish_async`` from memory and awaits all acks. Each contender publishes
into its own fresh JetStream stream shaped as a service's (``service_stream``: file storage,
2-minute duplicate window, partitioned by record). Target: the relay at >= 60% of raw.

    uv run python bench/bench_relay.py
    # BENCH_DATABASE_URL, BENCH_NATS_URL, BENCH_ROUNDS (5), BENCH_EVENTS (20000);
    # BENCH_QUICK=1: 1 round of 2,000 events
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).parent))

from _common import Result, bench_nats, connect, fresh_backbone, print_table, setting

from oneplan_events.envelope import Envelope
from oneplan_events.relay import OutboxRelay
from oneplan_events.store import EventStore
from oneplan_events.streams import ensure_stream, service_stream

ROUNDS = setting("BENCH_ROUNDS", 5, 1)
EVENTS = setting("BENCH_EVENTS", 20000, 2000)
STREAMS = 1000
PER_STREAM = max(1, EVENTS // STREAMS)
EVENTS = PER_STREAM * STREAMS


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


async def fresh_stream(js: JetStreamContext) -> tuple[str, str]:
    """A new service stream of its own; (its name, the event type published into it)."""
    service = f"benchrelay{uuid.uuid4().hex[:10]}"
    spec = service_stream(service)
    await ensure_stream(js, spec)
    return spec.name, f"oneplan.{service}.item.recorded"


async def fill_outbox(engine: AsyncEngine, event_type: str) -> None:
    store = EventStore()
    async with engine.begin() as conn:
        for s in range(STREAMS):
            stream_id = f"item/{s}"
            await store.append(conn, stream_id, 0, envelopes_for(event_type, stream_id))


async def relay_round(
    engine: AsyncEngine, js: JetStreamContext, round_no: int
) -> tuple[float, float]:
    stream, event_type = await fresh_stream(js)
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
    stream, event_type = await fresh_stream(js)
    # The messages the relay would publish: subject and stream version as the store sets them.
    envelopes = [
        dataclasses.replace(envelope, streamversion=version)
        for s in range(STREAMS)
        for version, envelope in enumerate(envelopes_for(event_type, f"item/{s}"), start=1)
    ]
    messages = [(envelope.nats_subject, *envelope.to_nats()) for envelope in envelopes]
    cpu_started = time.process_time()
    started = time.perf_counter()
    futures = [
        await js.publish_async(subject, body, headers=headers)
        for subject, headers, body in messages
    ]
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    await js.delete_stream(stream)
    return EVENTS / elapsed, cpu / EVENTS * 1e6


async def main() -> None:
    async with bench_nats() as url:
        await run(url)


async def run(url: str) -> None:
    engine = await fresh_backbone()
    nc = await connect(url)
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
