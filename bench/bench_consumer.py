"""Consumer throughput: DurableConsumer (fetch, projection write, inbox row, ack) on PostgreSQL
vs raw nats-py fetch + ack of the same messages.

Each round publishes EVENTS contribution events into a fresh stream, then times each contender
from start until it has handled all of them:

- raw nats-py: ``pull_subscribe`` + ``fetch(BATCH)`` + ``ack`` per message, nothing else;
- DurableConsumer, ORM projection: the handler ``session.add()``s a projection row, so the
  batch's rows are flushed together at commit (the idiomatic SQLAlchemy 2.0 projection);
- DurableConsumer, Core insert per event: the handler executes one INSERT per event.

Both consumers decode and validate every event, write the inbox rows and the handler's rows in
one transaction per batch and acknowledge after the commit. Target: >= 5,000 events/s.

    uv run python bench/bench_consumer.py     # BENCH_DATABASE_URL, BENCH_NATS_URL, BENCH_ROUNDS
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
from nats.js import JetStreamContext
from sqlalchemy import MetaData, String, insert
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

sys.path.insert(0, str(Path(__file__).parent))

from _common import ensure_database

from oneplan_events.catalogue import CATALOGUE, Event, register_contribution_events
from oneplan_events.consumer import DurableConsumer, Handler
from oneplan_events.envelope import Envelope
from oneplan_events.schema import BACKBONE_METADATA
from oneplan_events.streams import StreamSpec, ensure_stream

# A throwaway database of its own, so it never races the other benchmarks' tables.
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/oneplan_bench_consumer"
)
NATS_URL = os.environ.get("BENCH_NATS_URL", "nats://127.0.0.1:4222")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "20000"))
BATCH = int(os.environ.get("BENCH_BATCH", "200"))


async def fresh_engine(*metadatas: MetaData) -> AsyncEngine:
    """An engine on the benchmark database with empty backbone and projection tables."""
    await ensure_database(DATABASE_URL)
    engine = create_async_engine(DATABASE_URL, pool_size=5, max_overflow=0)
    async with engine.begin() as connection:
        for metadata in (BACKBONE_METADATA, *metadatas):
            await connection.run_sync(metadata.drop_all)
            await connection.run_sync(metadata.create_all)
    return engine


@dataclass(frozen=True)
class BenchService:
    """A throwaway agency service with its own stream and contribution events."""

    name: str

    @property
    def stream(self) -> str:
        return self.name.upper()

    @property
    def subject(self) -> str:
        return f"oneplan.{self.name}.contribution.submitted"

    @classmethod
    async def create(cls, js: JetStreamContext) -> BenchService:
        service = cls(f"bench{uuid.uuid4().hex[:10]}")
        await ensure_stream(js, StreamSpec(name=service.stream, subjects=(service.subject,)))
        return service

    async def delete(self, js: JetStreamContext) -> None:
        await js.delete_stream(self.stream)

    def envelope(self, n: int) -> Envelope:
        """A synthetic contribution (no real personal data)."""
        event = register_contribution_events(self.name).submitted(
            contribution_id=uuid.uuid4(),
            child_id=uuid.uuid4(),
            section="F",
            data_class="education",
            title=f"Provision {n}",
            content="Small-group phonics three times a week. " * 3,
            outcomes=("Reads simple sentences",),
            author="teacher-1",
            agency="school",
        )
        return CATALOGUE.envelope_for(event, source=f"/oneplan/{self.name}", subject=None)


async def publish_all(js: JetStreamContext, service: BenchService, count: int) -> None:
    """Publish ``count`` events pipelined and wait for every ack."""
    window: list[asyncio.Future[Any]] = []
    for n in range(count):
        headers, body = service.envelope(n).to_nats()
        window.append(await js.publish_async(service.subject, body, headers=headers))
        if len(window) >= 1000:
            await asyncio.gather(*window)
            window.clear()
    await asyncio.gather(*window)


async def wait_until(predicate: Callable[[], bool], limit: float) -> None:
    """Poll ``predicate`` every millisecond; RuntimeError after ``limit`` seconds."""
    deadline = time.perf_counter() + limit
    while not predicate():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"not done within {limit}s")
        await asyncio.sleep(0.001)


class Base(DeclarativeBase):
    pass


class Contribution(Base):
    """The benchmark's projection: one row per contribution."""

    __tablename__ = "bench_contribution"
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    child_id: Mapped[str] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(String(200))


async def orm_projection(event: Event, envelope: Envelope, session: AsyncSession) -> None:
    session.add(
        Contribution(event_id=envelope.id, child_id=str(envelope.childid), title=event.title)  # type: ignore[attr-defined]  # a contribution
    )


async def core_projection(event: Event, envelope: Envelope, session: AsyncSession) -> None:
    await session.execute(
        insert(Contribution).values(
            event_id=envelope.id,
            child_id=str(envelope.childid),
            title=event.title,  # type: ignore[attr-defined]  # a contribution
        )
    )


async def raw_fetch_ack(js: JetStreamContext, service: BenchService) -> float:
    subscription = await js.pull_subscribe(service.subject, durable="raw", stream=service.stream)
    started = time.perf_counter()
    handled = 0
    while handled < EVENTS:
        for msg in await subscription.fetch(BATCH, timeout=5):
            await msg.ack()
            handled += 1
    elapsed = time.perf_counter() - started
    await subscription.unsubscribe()
    return EVENTS / elapsed


def durable(handler: Handler) -> Callable[[JetStreamContext, BenchService], Awaitable[float]]:
    async def run(js: JetStreamContext, service: BenchService) -> float:
        engine = await fresh_engine(Base.metadata)
        try:
            return await _consume(js, engine, service, handler)
        finally:
            await engine.dispose()

    return run


async def _consume(
    js: JetStreamContext, engine: AsyncEngine, service: BenchService, handler: Handler
) -> float:
    consumer = DurableConsumer(
        js,
        async_sessionmaker(engine, expire_on_commit=False),
        name=f"projector_{uuid.uuid4().hex[:8]}",
        stream=service.stream,
        subjects=[service.subject],
        handlers={service.subject: handler},
        batch=BATCH,
    )
    await consumer.ensure_consumer()
    started = time.perf_counter()
    task = asyncio.create_task(consumer.run())
    await wait_until(lambda: consumer.stats.applied >= EVENTS, limit=120)
    elapsed = time.perf_counter() - started
    await consumer.stop()
    await task
    if consumer.stats.applied != EVENTS or consumer.stats.parked:
        raise RuntimeError(f"consumer handled {consumer.stats} of {EVENTS}")
    return EVENTS / elapsed


CONTENDERS = {
    "raw nats-py fetch+ack": raw_fetch_ack,
    "DurableConsumer, ORM projection": durable(orm_projection),
    "DurableConsumer, Core INSERT per event": durable(core_projection),
}


async def main() -> None:
    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    rates: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    print(f"consumer benchmark: {EVENTS} events, batch {BATCH}, {ROUNDS} rounds")
    for round_number in range(1, ROUNDS + 1):
        for name, contender in CONTENDERS.items():
            service = await BenchService.create(js)
            try:
                await publish_all(js, service, EVENTS)
                rates[name].append(await contender(js, service))
            finally:
                await service.delete(js)
            print(f"  round {round_number}: {name}: {rates[name][-1]:,.0f} events/s")
    await nc.close()
    print_results(rates)


def print_results(rates: dict[str, list[float]]) -> None:
    """Medians, every round, and the ratio to the raw nats-py baseline."""
    baseline = statistics.median(rates["raw nats-py fetch+ack"])
    print(f"\nConsumer throughput ({EVENTS} events per round, batch {BATCH}; target >= 5,000/s)")
    print(f"{'contender':<42}{'median events/s':>17}{'vs raw':>9}   rounds")
    for name, values in rates.items():
        median = statistics.median(values)
        rounds = ", ".join(f"{value:,.0f}" for value in values)
        print(f"{name:<42}{median:>17,.0f}{median / baseline:>8.2f}x   {rounds}")


if __name__ == "__main__":
    asyncio.run(main())
