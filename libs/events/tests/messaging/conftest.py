"""Fixtures for the messaging tests: a JetStream connection, a backbone database, a projection.

Every test gets its own service name (so its own partitioned stream and subjects) and a fresh
database holding the backbone tables and a ``projection`` table the test handlers write to.
The projection has no unique key on purpose: an event applied twice shows up as two rows, and
it records each event's record and version, so order per record can be checked.

Events are published as the relay would: the generic contribution events of the test's
service, one record per contribution stream (``contribution/<uuid>``), versions 1, 2, 3...
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from oneplan_events.catalogue import (
    Catalogue,
    ContributionSubmitted,
    register_contribution_events,
)
from oneplan_events.consumer import ConsumerTiming, DurableConsumer
from oneplan_events.envelope import Envelope
from oneplan_events.reactions import Delivery, Reactions
from oneplan_events.schema import BACKBONE_METADATA, consumer_positions, dead_letters, inbox
from oneplan_events.store import EventStore
from oneplan_events.streams import StreamSpec, ensure_stream, service_stream
from oneplan_events.uow import UnitOfWork
from oneplan_testkit import unique_name

PROJECTION_METADATA = MetaData()
projection = Table(
    "projection",
    PROJECTION_METADATA,
    Column("row_id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("stream_id", String(80), nullable=True),
    Column("version", Integer, nullable=True),
    Column("title", String(200), nullable=False),
)

# Short timings: a pull expires in 0.5 s, a silent partition is taken over after 1 s.
FAST = ConsumerTiming(ack_wait=3.0, expires=0.5, heartbeat=0.1, pin_ttl=1.0, replay_every=0.1)


async def connect(url: str) -> tuple[Client, JetStreamContext]:
    """A connection that keeps reconnecting, as a service's would."""
    nc = await nats.connect(
        url, max_reconnect_attempts=-1, reconnect_time_wait=0.2, connect_timeout=2
    )
    return nc, nc.jetstream(timeout=2)


async def record(event: Any, delivery: Delivery) -> None:
    """The test projection's handler: one row per application."""
    await delivery.session.execute(
        insert(projection).values(
            event_id=delivery.envelope.id,
            stream_id=delivery.envelope.subject,
            version=delivery.envelope.streamversion,
            title=getattr(event, "title", ""),
        )
    )


def recording() -> Reactions:
    """Reactions that record every contribution of any service."""
    reactions = Reactions()
    reactions.handles(ContributionSubmitted)(record)
    return reactions


@dataclass
class Harness:
    """One test's world: a JetStream, a database, a service stream, running consumers."""

    nc: Client
    js: JetStreamContext
    engine: AsyncEngine
    service: str
    stream: StreamSpec
    catalogue: Catalogue
    published: list[Envelope] = field(default_factory=list)
    consumers: list[tuple[DurableConsumer, asyncio.Task[None]]] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        return async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def submitted_type(self) -> str:
        return f"oneplan.{self.service}.contribution.submitted"

    def envelope(self, title: str, record_id: str | None = None, **overrides: Any) -> Envelope:
        """The next event of record ``record_id`` (a new record when None), as stored."""
        model = register_contribution_events(self.service, self.catalogue).submitted
        event = model(
            contribution_id=uuid.uuid4(),
            child_id=uuid.uuid4(),
            section="F",
            data_class="education",
            title=title,
            content="Small-group phonics three times a week.",
            author="teacher-1",
            agency="school",
        )
        stream_id = f"contribution/{record_id or uuid.uuid4()}"
        version = self.versions.get(stream_id, 0) + 1
        self.versions[stream_id] = version
        envelope = self.catalogue.envelope_for(
            event, source=f"/oneplan/{self.service}", subject=stream_id, **overrides
        )
        return dataclasses.replace(envelope, streamversion=version)

    async def publish(self, envelope: Envelope, js: JetStreamContext | None = None) -> None:
        headers, body = envelope.to_nats()
        await (js or self.js).publish(envelope.nats_subject, body, headers=headers)
        self.published.append(envelope)

    async def publish_many(self, count: int, prefix: str = "e", records: int = 0) -> None:
        """``count`` events; over ``records`` records in turn (0: each its own record)."""
        ids = [str(uuid.uuid4()) for _ in range(records)]
        for index in range(count):
            record_id = ids[index % records] if records else None
            await self.publish(self.envelope(f"{prefix}{index}", record_id))

    def work(self, session: AsyncSession, envelope: Envelope) -> UnitOfWork:
        """The unit of work a reaction runs in (as the kit builds it)."""
        return UnitOfWork.bound_to(
            session,
            EventStore(self.catalogue),
            source=f"/oneplan/{self.service}",
            correlation_id=envelope.correlationid or envelope.id,
            causation_id=envelope.id,
        )

    def consumer(
        self,
        name: str,
        reactions: Reactions | None = None,
        *,
        nc: Client | None = None,
        start: bool = True,
        **options: Any,
    ) -> DurableConsumer:
        """Build and start a consumer; it is stopped when the test ends."""
        options.setdefault("timing", FAST)
        options.setdefault("backoff", (0.1, 0.2))
        consumer = DurableConsumer(
            nc or self.nc,
            self.sessionmaker,
            name=name,
            stream=self.stream.name,
            reactions=reactions or recording(),
            catalogue=self.catalogue,
            work_factory=self.work,
            **options,
        )
        if start:
            self.consumers.append((consumer, asyncio.create_task(consumer.run())))
        return consumer

    async def stop_consumers(self) -> None:
        for consumer, task in self.consumers:
            await consumer.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
        self.consumers.clear()

    async def projected(self) -> list[tuple[str, str]]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                select(projection.c.event_id, projection.c.title).order_by(projection.c.row_id)
            )
            return [(row.event_id, row.title) for row in rows]

    async def projected_per_record(self) -> dict[str, list[int]]:
        """Each record's versions, in the order they were applied."""
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                select(projection.c.stream_id, projection.c.version).order_by(projection.c.row_id)
            )
            applied: dict[str, list[int]] = {}
            for row in rows:
                applied.setdefault(row.stream_id, []).append(row.version)
            return applied

    async def count(self, table: Table) -> int:
        async with self.engine.connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(table)) or 0)

    async def projected_count(self) -> int:
        return await self.count(projection)

    async def inbox_count(self) -> int:
        return await self.count(inbox)

    async def position_count(self) -> int:
        return await self.count(consumer_positions)

    async def dead_letter_count(self) -> int:
        return await self.count(dead_letters)

    @staticmethod
    async def eventually(
        check: Callable[[], Awaitable[bool]], *, within: float = 20.0, message: str = ""
    ) -> None:
        """Poll ``check`` until it is true, failing after ``within`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not await check():
            if loop.time() > deadline:
                pytest.fail(f"not reached within {within}s: {message}")
            await asyncio.sleep(0.05)

    async def until_projected(self, count: int, within: float = 20.0) -> None:
        async def reached() -> bool:
            return await self.projected_count() >= count

        await self.eventually(reached, within=within, message=f"{count} events projected")


async def make_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(BACKBONE_METADATA.create_all)
        await connection.run_sync(PROJECTION_METADATA.create_all)
    return engine


async def make_harness(
    nc: Client,
    engine: AsyncEngine,
    duplicate_window: timedelta | None = None,
    partitions: int = 2,
) -> Harness:
    service = unique_name("svc").lower()
    spec = dataclasses.replace(
        service_stream(service, partitions),
        duplicate_window=duplicate_window or timedelta(minutes=2),
    )
    js = nc.jetstream(timeout=2)
    await ensure_stream(js, spec)
    return Harness(nc, js, engine, service, spec, Catalogue(service))


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client, _ = await connect(nats_url)
    yield client
    await client.close()


@pytest.fixture
async def js(nc: Client) -> JetStreamContext:
    return nc.jetstream(timeout=2)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The backbone tables on SQLite and on PostgreSQL (the test runs on each)."""
    engine = await make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def pg_engine(pg_database_url: str) -> AsyncIterator[AsyncEngine]:
    """The backbone tables on PostgreSQL only, for the slower fault tests."""
    engine = await make_engine(pg_database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def harness(nc: Client, engine: AsyncEngine) -> AsyncIterator[Harness]:
    made = await make_harness(nc, engine)
    yield made
    await made.stop_consumers()
    await made.js.delete_stream(made.stream.name)


@pytest.fixture
async def pg_harness(nc: Client, pg_engine: AsyncEngine) -> AsyncIterator[Harness]:
    made = await make_harness(nc, pg_engine)
    yield made
    await made.stop_consumers()
    await made.js.delete_stream(made.stream.name)
