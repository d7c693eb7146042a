"""Commit-to-consumer latency at a steady rate: EventStore.append + OutboxRelay -> DurableConsumer.

Each round, WRITERS concurrent writers commit one contribution event per command (event row
and outbox row in one transaction, as a service's unit of work does, then ``relay.wake()``)
on a fixed schedule of RATE events/s for SECONDS seconds. The OutboxRelay publishes them; a
DurableConsumer applies each into an ORM projection. Latency is from the command's commit to
the consumer's commit of the batch holding the event.

Baseline: the same rate of raw nats-py ``js.publish`` (awaiting the ack) to a raw pull
consumer fetching and acking: latency from the publish call to the fetch returning it. A
third contender shows the consumer's share alone: the same raw publishes into a
DurableConsumer, from the publish call to the consumer's commit. Target: p99 < 50 ms.

    uv run python bench/bench_latency.py      # BENCH_DATABASE_URL, BENCH_NATS_URL, BENCH_ROUNDS
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nats
from nats.js import JetStreamContext
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).parent))

from bench_consumer import NATS_URL, Base, BenchService, Contribution, fresh_engine

from oneplan_events.catalogue import Event
from oneplan_events.consumer import DurableConsumer
from oneplan_events.envelope import Envelope
from oneplan_events.relay import OutboxRelay
from oneplan_events.store import EventStore

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
RATE = int(os.environ.get("BENCH_RATE", "500"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
WRITERS = 4
EVENTS = int(RATE * SECONDS)


class StampingSession(Session):
    """A session that records when the events its handlers applied were committed."""


# event id -> perf_counter at the command's commit, and at the consumer's commit
committed: dict[str, float] = {}
consumed: dict[str, float] = {}


@event.listens_for(StampingSession, "after_commit")
def _stamp(session: Session) -> None:
    now = time.perf_counter()
    for event_id in session.info.pop("applied", ()):
        consumed[event_id] = now


async def project(event_: Event, envelope: Envelope, session: AsyncSession) -> None:
    session.add(Contribution(event_id=envelope.id, child_id=str(envelope.childid), title="latency"))
    session.info.setdefault("applied", []).append(envelope.id)


async def paced(count: int, writer: Callable[[int], Awaitable[None]]) -> None:
    """Call ``writer(n)`` for n in 0..count-1 at RATE per second, over WRITERS tasks."""
    started = time.perf_counter()

    async def lane(first: int) -> None:
        for n in range(first, count, WRITERS):
            delay = started + n / RATE - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await writer(n)

    await asyncio.gather(*(lane(k) for k in range(WRITERS)))


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


async def wait_for(done: Callable[[], bool], limit: float) -> None:
    deadline = time.perf_counter() + limit
    while not done():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"not done within {limit}s")
        await asyncio.sleep(0.005)


Producer = Callable[[int], Awaitable[None]]


async def oneplan_round(js: JetStreamContext) -> tuple[float, float]:
    """The whole path: command commit -> relay -> JetStream -> consumer commit."""

    async def run(engine: AsyncEngine, service: BenchService, produce: Starter) -> None:
        store = EventStore()
        relay = OutboxRelay(engine, js, name=f"latency-{uuid.uuid4().hex[:6]}")
        task = asyncio.create_task(relay.run())
        try:
            await produce(lambda n: commit_one(engine, store, relay, service, n))
        finally:
            relay.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return await consumer_round(js, run)


async def consumer_only_round(js: JetStreamContext) -> tuple[float, float]:
    """The consumer's share: raw js.publish (as the baseline) -> DurableConsumer commit."""

    async def publish(service: BenchService, n: int) -> None:
        headers, body = service.envelope(n).to_nats()
        committed[headers["Nats-Msg-Id"]] = time.perf_counter()
        await js.publish(service.subject, body, headers=headers)

    async def run(engine: AsyncEngine, service: BenchService, produce: Starter) -> None:
        await produce(lambda n: publish(service, n))

    return await consumer_round(js, run)


Starter = Callable[[Producer], Awaitable[None]]


async def consumer_round(
    js: JetStreamContext,
    run: Callable[[AsyncEngine, BenchService, Starter], Awaitable[None]],
) -> tuple[float, float]:
    """A DurableConsumer on a fresh stream and database, fed by ``run``: one warm-up event
    (lease taken, durable created, first pull waiting), then EVENTS at RATE per second."""
    committed.clear()
    consumed.clear()
    service = await BenchService.create(js)
    engine = await fresh_engine(Base.metadata)
    consumer = DurableConsumer(
        js,
        async_sessionmaker(engine, expire_on_commit=False, sync_session_class=StampingSession),
        name="projector",
        stream=service.stream,
        subjects=[service.subject],
        handlers={service.subject: project},
    )
    task = asyncio.create_task(consumer.run())

    async def produce(producer: Producer) -> None:
        await producer(-1)
        await wait_for(lambda: len(consumed) == 1, limit=30)
        committed.clear()
        consumed.clear()
        await paced(EVENTS, producer)
        await wait_for(lambda: len(consumed) >= EVENTS, limit=60)

    try:
        await run(engine, service, produce)
    finally:
        await consumer.stop()
        await task
        await engine.dispose()
        await service.delete(js)
    return percentiles([consumed[key] - committed[key] for key in committed])


async def commit_one(
    engine: AsyncEngine, store: EventStore, relay: OutboxRelay, service: BenchService, n: int
) -> None:
    """One command: a new contribution stream, its event and outbox row in one commit."""
    envelope = service.envelope(n)
    async with engine.begin() as connection:
        await store.append(connection, f"contribution/{envelope.id}", 0, [envelope])
    committed[envelope.id] = time.perf_counter()
    relay.wake()


async def raw_round(js: JetStreamContext) -> tuple[float, float]:
    service = await BenchService.create(js)
    sent: dict[str, float] = {}
    received: dict[str, float] = {}
    subscription = await js.pull_subscribe(service.subject, durable="raw", stream=service.stream)

    async def receive() -> None:
        while len(received) < EVENTS:
            with contextlib.suppress(nats.errors.TimeoutError):
                for msg in await subscription.fetch(100, timeout=0.05):
                    received[(msg.headers or {})["Nats-Msg-Id"]] = time.perf_counter()
                    await msg.ack()

    async def publish(n: int) -> None:
        headers, body = service.envelope(n).to_nats()
        sent[headers["Nats-Msg-Id"]] = time.perf_counter()
        await js.publish(service.subject, body, headers=headers)

    receiver = asyncio.create_task(receive())
    try:
        await paced(EVENTS, publish)
        await asyncio.wait_for(receiver, 60)
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiver
        await service.delete(js)
    return percentiles([received[key] - sent[key] for key in sent])


async def main() -> None:
    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    contenders = {
        "raw nats-py": raw_round,
        "consumer only": consumer_only_round,
        "OnePlan": oneplan_round,
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    print(f"latency benchmark: {RATE} events/s for {SECONDS:.0f}s per round, {ROUNDS} rounds")
    for round_number in range(1, ROUNDS + 1):
        for name, run in contenders.items():
            p50, p99 = await run(js)
            results[name].append((p50, p99))
            print(f"  round {round_number}: {name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    await nc.close()
    print_latency(results)


def print_latency(results: dict[str, list[tuple[float, float]]]) -> None:
    medians: dict[str, Any] = {
        name: (statistics.median(p[0] for p in rounds), statistics.median(p[1] for p in rounds))
        for name, rounds in results.items()
    }
    raw = medians["raw nats-py"]
    print(
        f"\nCommit-to-consumer latency at {RATE} events/s "
        f"(median of {ROUNDS} rounds; target p99 < 50 ms)"
    )
    print(f"{'contender':<58}{'p50 ms':>10}{'p99 ms':>10}{'p50 vs raw':>14}{'p99 vs raw':>14}")
    labels = {
        "raw nats-py": "raw nats-py publish -> fetch (baseline)",
        "consumer only": "raw nats-py publish -> DurableConsumer commit",
        "OnePlan": "EventStore.append + OutboxRelay -> DurableConsumer commit",
    }
    for name, (p50, p99) in medians.items():
        ratios = f"{p50 / raw[0]:>13.1f}x{p99 / raw[1]:>13.1f}x"
        print(f"{labels[name]:<58}{p50:>10.1f}{p99:>10.1f}{ratios}")


if __name__ == "__main__":
    asyncio.run(main())
