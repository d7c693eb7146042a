"""Helpers for the end-to-end reliability tests: writers, a projection, consumers, the relay.

The projection table has no unique key on purpose: an event applied twice shows up as two
rows, and the rows' ``row_id`` order is the order the events were applied in.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from oneplan_events.catalogue import Catalogue, DataClass, Event
from oneplan_events.consumer import ConsumerTiming, DurableConsumer
from oneplan_events.envelope import Envelope, dataschema_for
from oneplan_events.reactions import Delivery, Reactions
from oneplan_events.schema import BACKBONE_METADATA, dead_letters, outbox
from oneplan_events.store import ConcurrencyError, EventStore, Position
from oneplan_events.uow import UnitOfWork
from oneplan_kit.db import create_engine

from .service_processes import ServiceProcess

PROJECTION_METADATA = MetaData()
applied = Table(
    "applied",
    PROJECTION_METADATA,
    Column("row_id", Integer, primary_key=True, autoincrement=True),
    Column("consumer", String(60), nullable=False),
    Column("instance", String(60), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("stream_id", String(60), nullable=False),
    Column("version", Integer, nullable=False),
)


@dataclass(frozen=True)
class Items:
    """The test service's catalogue, holding its one event type ``oneplan.<service>.item.recorded``.

    Its own catalogue, as every service has: the consumers decode with it
    (``DurableConsumer(catalogue=...)``) and their reactions handle its ``model``.
    """

    catalogue: Catalogue
    event_type: str
    model: type[Event]


def item_catalogue(service: str) -> Items:
    catalogue = Catalogue(service)
    event_type = f"oneplan.{service}.item.recorded"

    @catalogue.register(event_type, DataClass.EDUCATION, summary="A test item was recorded.")
    class ItemRecorded(Event):
        version: int
        note: str

    return Items(catalogue, event_type, ItemRecorded)


async def make_engine(url: str) -> AsyncEngine:
    """The service's engine (SQLite: WAL, busy timeout, BEGIN IMMEDIATE) with the tables."""
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(BACKBONE_METADATA.create_all)
        await conn.run_sync(PROJECTION_METADATA.create_all)
    return engine


async def connect(url: str) -> Client:
    """A connection that reconnects forever, as every service's does."""
    return await nats.connect(
        url, max_reconnect_attempts=-1, reconnect_time_wait=0.2, connect_timeout=2
    )


async def wait_for(check: Callable[[], Any], within: float, what: str) -> None:
    """Poll an async ``check`` until truthy; fail after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            pytest.fail(f"not reached within {within}s: {what}")
        await asyncio.sleep(0.05)


class _RolledBack(Exception):
    """Raised inside a command's transaction to roll it back on purpose."""


@dataclass
class Writers:
    """Concurrent commands appending small batches to a few streams.

    About one command in ten rolls back after appending, and one in ten appends with a stale
    expected version (which must raise ``ConcurrencyError``); races between writers on one
    stream are retried as a command handler would. ``committed`` holds each stream's event ids
    in version order; ``discarded`` every id that was appended but never committed.
    """

    engine: AsyncEngine
    event_type: str
    streams: int = 8
    committed: dict[str, list[str]] = field(default_factory=dict)
    discarded: set[str] = field(default_factory=set)
    counts: Counter[str] = field(default_factory=Counter)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self, writers: int = 4) -> None:
        self._tasks = [asyncio.create_task(self._writer(seed)) for seed in range(writers)]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    @property
    def committed_ids(self) -> list[str]:
        return [event_id for ids in self.committed.values() for event_id in ids]

    async def _writer(self, seed: int) -> None:
        rng = random.Random(seed)
        store = EventStore()
        while not self._stop.is_set():
            stream_id = f"item/{rng.randrange(self.streams)}"
            roll = rng.random()
            if roll < 0.1:
                await self._rolled_back(store, stream_id, rng.randint(1, 3))
            elif roll < 0.2:
                await self._stale(store, stream_id)
            else:
                await self._command(store, stream_id, rng.randint(1, 3))
            await asyncio.sleep(rng.uniform(0.002, 0.02))

    def _envelopes(self, stream_id: str, after: int, size: int) -> list[Envelope]:
        return [
            Envelope(
                id=str(uuid.uuid4()),
                source="/oneplan/reliability",
                type=self.event_type,
                time=datetime.now(UTC),
                data={"version": after + k + 1, "note": f"item {after + k + 1} of {stream_id}"},
                subject=stream_id,
                dataschema=dataschema_for(self.event_type, 1),
                dataclass=DataClass.EDUCATION.value,
            )
            for k in range(size)
        ]

    async def _command(self, store: EventStore, stream_id: str, size: int) -> None:
        for _attempt in range(100):
            try:
                async with self.engine.begin() as conn:
                    version = await store.stream_version(conn, stream_id)
                    envelopes = self._envelopes(stream_id, version, size)
                    await store.append(conn, stream_id, version, envelopes)
            except ConcurrencyError:
                # Lost a race (or the xid rule): nothing committed; reload and retry.
                self.discarded.update(envelope.id for envelope in envelopes)
                self.counts["raced"] += 1
                continue
            self.committed.setdefault(stream_id, []).extend(e.id for e in envelopes)
            self.counts["committed_commands"] += 1
            return
        pytest.fail(f"command on {stream_id} kept conflicting")

    async def _rolled_back(self, store: EventStore, stream_id: str, size: int) -> None:
        try:
            async with self.engine.begin() as conn:
                version = await store.stream_version(conn, stream_id)
                envelopes = self._envelopes(stream_id, version, size)
                await store.append(conn, stream_id, version, envelopes)
                raise _RolledBack
        except _RolledBack:
            self.discarded.update(envelope.id for envelope in envelopes)
            self.counts["rolled_back"] += 1
        except ConcurrencyError:
            self.discarded.update(envelope.id for envelope in envelopes)

    async def _stale(self, store: EventStore, stream_id: str) -> None:
        async with self.engine.begin() as conn:
            version = await store.stream_version(conn, stream_id)
            if version == 0:
                return
            envelopes = self._envelopes(stream_id, version - 1, 1)
            with pytest.raises(ConcurrencyError):
                await store.append(conn, stream_id, version - 1, envelopes)
        self.discarded.update(envelope.id for envelope in envelopes)
        self.counts["conflicts"] += 1


# Short JetStream timings, so a stopped or killed instance's partitions move on in seconds.
TIMING = ConsumerTiming(ack_wait=3.0, expires=1.0, heartbeat=0.25, pin_ttl=2.0)


@dataclass
class Consumers:
    """Durable consumers projecting into ``applied``, each instance on its own connection.

    Instances of one durable share its partitions (pinned, one instance at a time each), as
    several instances of a service do.
    """

    engine: AsyncEngine
    stream: str
    items: Items
    running: list[tuple[DurableConsumer, asyncio.Task[None], Client]] = field(default_factory=list)

    async def start(self, nats_url: str, durable: str, instance: str) -> DurableConsumer:
        nc = await connect(nats_url)
        reactions = Reactions()

        @reactions.handles(self.items.model)
        async def project(event: Event, delivery: Delivery) -> None:
            await delivery.session.execute(
                insert(applied).values(
                    consumer=durable,
                    instance=instance,
                    event_id=delivery.envelope.id,
                    stream_id=delivery.envelope.subject,
                    version=event.model_dump()["version"],
                )
            )

        store = EventStore(self.items.catalogue)

        def work(session: AsyncSession, envelope: Envelope) -> UnitOfWork:
            return UnitOfWork.bound_to(session, store, source="/oneplan/reliability")

        consumer = DurableConsumer(
            nc,
            async_sessionmaker(self.engine, expire_on_commit=False),
            name=durable,
            stream=self.stream,
            reactions=reactions,
            catalogue=self.items.catalogue,
            work_factory=work,
            batch=20,
            timing=TIMING,
        )
        self.running.append((consumer, asyncio.create_task(consumer.run()), nc))
        return consumer

    async def stop(self) -> None:
        for consumer, task, nc in self.running:
            await consumer.stop(grace=10)
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
            await nc.close()
        self.running.clear()


async def rows(engine: AsyncEngine, durable: str) -> list[tuple[str, str, int, str]]:
    """``(event_id, stream_id, version, instance)`` applied by ``durable``, in apply order."""
    async with engine.connect() as conn:
        result = await conn.execute(
            select(applied.c.event_id, applied.c.stream_id, applied.c.version, applied.c.instance)
            .where(applied.c.consumer == durable)
            .order_by(applied.c.row_id)
        )
        return [(r.event_id, r.stream_id, r.version, r.instance) for r in result]


async def applied_count(engine: AsyncEngine, durable: str) -> int:
    async with engine.connect() as conn:
        count = await conn.scalar(
            select(func.count()).select_from(applied).where(applied.c.consumer == durable)
        )
        return int(count or 0)


async def table_count(engine: AsyncEngine, table: Table, *where: Any) -> int:
    async with engine.connect() as conn:
        count = await conn.scalar(select(func.count()).select_from(table).where(*where))
        return int(count or 0)


async def unpublished(engine: AsyncEngine) -> int:
    return await table_count(engine, outbox, outbox.c.published_at.is_(None))


async def dead_letter_count(engine: AsyncEngine) -> int:
    return await table_count(engine, dead_letters)


async def stored_ids(engine: AsyncEngine) -> list[str]:
    """Every event id ``read_all`` returns, in commit order."""
    async with engine.connect() as conn:
        recorded = await EventStore().read_all(conn, Position.START, 1_000_000)
    return [event.envelope.id for event in recorded]


async def published_ids(engine: AsyncEngine) -> set[str]:
    """Event ids the relay has marked published (JetStream acknowledged them)."""
    async with engine.connect() as conn:
        result = await conn.execute(
            select(outbox.c.event_id).where(outbox.c.published_at.is_not(None))
        )
        return set(result.scalars())


async def jetstream_ids(js: JetStreamContext, stream: str) -> set[str]:
    """The Nats-Msg-Id of every message the stream holds."""
    info = await js.stream_info(stream)
    ids = set()
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(stream, seq)
        ids.add((message.headers or {})["Nats-Msg-Id"])
    return ids


@dataclass
class RelayProcess:
    """``python -m oneplan_events.relay`` as a child process, logging to a file."""

    database_url: str
    nats_url: str
    log_dir: Path
    starts: int = 0
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.starts += 1
        log = (self.log_dir / f"relay-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "oneplan_events.relay",
                "--database-url",
                self.database_url,
                "--nats-url",
                self.nats_url,
                "--lease-ttl",
                "1.0",
                "--batch",
                "20",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def kill(self) -> None:
        """SIGKILL: no clean stop, the lease stays held until it expires."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def relay_process(tmp_path: Path) -> Iterator[Callable[[str, str], RelayProcess]]:
    """Build relay processes; each is terminated when the test ends."""
    made: list[RelayProcess] = []

    def build(database_url: str, nats_url: str) -> RelayProcess:
        relay = RelayProcess(database_url, nats_url, tmp_path)
        made.append(relay)
        return relay

    yield build
    for relay in made:
        relay.terminate()


@pytest.fixture
def service_process(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """Build service instances (``ServiceProcess``); those still running are stopped (SIGTERM)
    when the test ends."""
    made: list[ServiceProcess] = []

    def build(package: str, env_prefix: str, label: str, **environment: str) -> ServiceProcess:
        instance = ServiceProcess(package, env_prefix, label, dict(environment), tmp_path)
        made.append(instance)
        return instance

    yield build
    for instance in made:
        instance.terminate()
