"""Consumer throughput: DurableConsumer (fetch, decode, handler, positions, ack) on PostgreSQL
vs raw nats-py fetch + ack of the same messages.

Each round publishes EVENTS contribution events of a throwaway service into a fresh service
stream (partitioned by record, as every service's is: ``service_stream``), RECORDS records
with EVENTS / RECORDS versions each, published version after version as a relay would
(subject, stream version and headers as the store sets them). Then each contender is timed
from its start until it has handled all of them:

- ``raw nats-py fetch+ack`` (the baseline): one durable ``pull_subscribe`` on the whole stream,
  ``fetch(BATCH)`` and ``ack`` per message, nothing else (no decoding, no database);
- ``DurableConsumer, ORM projection`` (the contender of the target): the service's consumer
  as the kit builds it (one pinned pull consumer per partition, reactions registered with
  ``@handles``, a unit of work bound to the consumer's transaction for each handler). For
  every batch, in one transaction: the records' applied versions are read and locked, every
  event is decoded (envelope, then the catalogue's model), checked against its record's
  version (duplicate, gap, held back), handled (the handler ``session.add()``s an ORM
  projection row, flushed with the batch's other rows at commit: the idiomatic SQLAlchemy
  2.0 projection), the new versions are written (the inbox of a positioned consumer); after
  the commit each message is acknowledged;
- ``DurableConsumer, Core INSERT per event``: the same, the handler executes one INSERT per
  event (a database round trip per event);
- ``DurableConsumer, handler writes nothing``: the same with a handler that does nothing, so
  the consumer's own cost shows (the batch transaction and positions are still written).

Tracing is not configured (a service's kit configures it, and each event then also pays
for its span). Target: the DurableConsumer with the ORM projection at >= 0.6x raw nats-py
fetch+ack.

    uv run python bench/bench_consumer.py
    # BENCH_DATABASE_URL, BENCH_NATS_URL, BENCH_ROUNDS (5), BENCH_EVENTS (20000),
    # BENCH_RECORDS (5000), BENCH_BATCH (200); BENCH_QUICK=1: 1 round of 2,000 events
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nats.aio.client import Client
from sqlalchemy import MetaData, String, insert
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

sys.path.insert(0, str(Path(__file__).parent))

from _common import QUICK, bench_nats, connect, database_url, ensure_database, setting

from oneplan_events.catalogue import Catalogue, ContributionSubmitted, register_contribution_events
from oneplan_events.consumer import DurableConsumer
from oneplan_events.envelope import Envelope
from oneplan_events.reactions import Delivery, Reactions
from oneplan_events.schema import BACKBONE_METADATA
from oneplan_events.store import EventStore
from oneplan_events.streams import StreamSpec, ensure_stream, service_stream
from oneplan_events.uow import UnitOfWork

# A throwaway database of its own, so it never races the other benchmarks' tables.
DATABASE_URL = database_url("oneplan_bench_consumer")
ROUNDS = setting("BENCH_ROUNDS", 5, 1)
EVENTS = setting("BENCH_EVENTS", 20000, 2000)
RECORDS = min(EVENTS, setting("BENCH_RECORDS", 5000, 500))
BATCH = setting("BENCH_BATCH", 200, 200)
RAW = "raw nats-py fetch+ack"
ORM = "DurableConsumer, ORM projection"
CORE = "DurableConsumer, Core INSERT per event"
NOTHING = "DurableConsumer, handler writes nothing"


async def fresh_engine(*metadatas: MetaData) -> AsyncEngine:
    """An engine on the benchmark database with empty backbone and projection tables."""
    await ensure_database(DATABASE_URL)
    engine = create_async_engine(DATABASE_URL, pool_size=5, max_overflow=0)
    async with engine.begin() as connection:
        for metadata in (BACKBONE_METADATA, *metadatas):
            await connection.run_sync(metadata.drop_all)
            await connection.run_sync(metadata.create_all)
    return engine


@dataclass
class BenchService:
    """A throwaway agency service: its own catalogue, stream and contribution events."""

    name: str
    catalogue: Catalogue
    spec: StreamSpec
    versions: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def stream(self) -> str:
        return self.spec.name

    @property
    def source(self) -> str:
        return f"/oneplan/{self.name}"

    @classmethod
    async def create(cls, nc: Client) -> BenchService:
        name = f"bench{uuid.uuid4().hex[:10]}"
        catalogue = Catalogue(name)
        register_contribution_events(name, catalogue)
        service = cls(name, catalogue, service_stream(name))
        await ensure_stream(nc.jetstream(), service.spec)
        return service

    async def delete(self, nc: Client) -> None:
        await nc.jetstream().delete_stream(self.stream)

    def envelope(self, n: int, record: str | None = None) -> Envelope:
        """Record ``record``'s next contribution (a new record when None), as the store
        would append it: its stream id as subject, its version (no real personal data)."""
        event = register_contribution_events(self.name, self.catalogue).submitted(
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
        stream_id = f"contribution/{record or uuid.uuid4()}"
        version = self.versions.get(stream_id, 0) + 1
        self.versions[stream_id] = version
        envelope = self.catalogue.envelope_for(event, source=self.source, subject=stream_id)
        return dataclasses.replace(envelope, streamversion=version)

    def work(self, session: AsyncSession, envelope: Envelope) -> UnitOfWork:
        """The unit of work a reaction runs in, as the kit's runtime builds it."""
        return UnitOfWork.bound_to(
            session,
            EventStore(self.catalogue),
            source=self.source,
            correlation_id=envelope.correlationid or envelope.id,
            causation_id=envelope.id,
        )


async def publish_all(nc: Client, service: BenchService, count: int) -> None:
    """``count`` events over RECORDS records, version after version, pipelined; every ack
    awaited."""
    js = nc.jetstream()
    records = [str(uuid.uuid4()) for _ in range(RECORDS)]
    window: list[asyncio.Future[Any]] = []
    for n in range(count):
        envelope = service.envelope(n, records[n % RECORDS])
        headers, body = envelope.to_nats()
        window.append(await js.publish_async(envelope.nats_subject, body, headers=headers))
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


def orm_reactions() -> Reactions:
    reactions = Reactions()

    @reactions.handles(ContributionSubmitted)
    async def project(event: ContributionSubmitted, delivery: Delivery) -> None:
        delivery.session.add(
            Contribution(
                event_id=delivery.envelope.id, child_id=str(event.child_id), title=event.title
            )
        )

    return reactions


INSERT_CONTRIBUTION = insert(Contribution)


def core_reactions() -> Reactions:
    reactions = Reactions()

    @reactions.handles(ContributionSubmitted)
    async def project(event: ContributionSubmitted, delivery: Delivery) -> None:
        await delivery.session.execute(
            INSERT_CONTRIBUTION,
            {
                "event_id": delivery.envelope.id,
                "child_id": str(event.child_id),
                "title": event.title,
            },
        )

    return reactions


async def raw_fetch_ack(nc: Client, service: BenchService) -> float:
    js = nc.jetstream()
    subscription = await js.pull_subscribe(
        f"oneplan.{service.name}.>", durable="raw", stream=service.stream
    )
    started = time.perf_counter()
    handled = 0
    while handled < EVENTS:
        for msg in await subscription.fetch(BATCH, timeout=5):
            await msg.ack()
            handled += 1
    elapsed = time.perf_counter() - started
    await subscription.unsubscribe()
    return EVENTS / elapsed


def durable(
    reactions: Callable[[], Reactions],
) -> Callable[[Client, BenchService], Awaitable[float]]:
    async def run(nc: Client, service: BenchService) -> float:
        engine = await fresh_engine(Base.metadata)
        try:
            return await _consume(nc, engine, service, reactions())
        finally:
            await engine.dispose()

    return run


async def _consume(
    nc: Client, engine: AsyncEngine, service: BenchService, reactions: Reactions
) -> float:
    consumer = DurableConsumer(
        nc,
        async_sessionmaker(engine, expire_on_commit=False),
        name=f"projector_{uuid.uuid4().hex[:8]}",
        stream=service.stream,
        reactions=reactions,
        catalogue=service.catalogue,
        work_factory=service.work,
        batch=BATCH,
    )
    started = time.perf_counter()
    task = asyncio.create_task(consumer.run())
    await wait_until(lambda: consumer.stats.applied >= EVENTS, limit=300)
    elapsed = time.perf_counter() - started
    await consumer.stop()
    await task
    stats = consumer.stats
    if stats.applied != EVENTS or stats.parked or stats.duplicates:
        raise RuntimeError(f"consumer handled {stats} of {EVENTS}")
    return EVENTS / elapsed


def idle_reactions() -> Reactions:
    reactions = Reactions()

    @reactions.handles(ContributionSubmitted)
    async def project(event: ContributionSubmitted, delivery: Delivery) -> None:
        return None

    return reactions


CONTENDERS = {
    RAW: raw_fetch_ack,
    ORM: durable(orm_reactions),
    CORE: durable(core_reactions),
    NOTHING: durable(idle_reactions),
}


async def main() -> None:
    async with bench_nats() as url:
        nc = await connect(url)
        try:
            await run(nc)
        finally:
            await nc.close()


async def run(nc: Client) -> None:
    rates: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    cpu: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    print(
        f"consumer benchmark: {EVENTS} events over {RECORDS} records, batch {BATCH}, "
        f"{ROUNDS} rounds"
    )
    names = list(CONTENDERS)
    for round_number in range(ROUNDS):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            service = await BenchService.create(nc)
            try:
                await publish_all(nc, service, EVENTS)
                cpu_started = time.process_time()
                rates[name].append(await CONTENDERS[name](nc, service))
                cpu[name].append((time.process_time() - cpu_started) / EVENTS * 1e6)
            finally:
                await service.delete(nc)
            print(
                f"  round {round_number + 1}: {name}: {rates[name][-1]:,.0f} events/s, "
                f"client CPU {cpu[name][-1]:.0f} us/event",
                flush=True,
            )
    print_results(rates, cpu)


def print_results(rates: dict[str, list[float]], cpu: dict[str, list[float]]) -> None:
    """Medians, every round, and the ratio to the raw nats-py baseline; the client CPU per
    event (this process: on a shared machine it swings less than wall-clock rates)."""
    baseline = statistics.median(rates[RAW])
    quick = " [BENCH_QUICK: tiny sizes, figures meaningless]" if QUICK else ""
    print(
        f"\nConsumer throughput ({EVENTS} events per round, batch {BATCH}; target: "
        f"{ORM} >= 0.6x raw){quick}"
    )
    print(f"{'contender':<42}{'median events/s':>17}{'vs raw':>9}{'CPU us/event':>14}   rounds")
    for name, values in rates.items():
        median = statistics.median(values)
        rounds = ", ".join(f"{value:,.0f}" for value in values)
        used = statistics.median(cpu[name])
        print(f"{name:<42}{median:>17,.0f}{median / baseline:>8.2f}x{used:>14.0f}   {rounds}")


if __name__ == "__main__":
    asyncio.run(main())
