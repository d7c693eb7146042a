"""Fixtures for the messaging tests: a JetStream connection, a backbone database, a projection.

Every test gets its own service name (so its own stream and subjects) and a fresh database
holding the backbone tables and a ``projection`` table the test handlers write to. The
projection has no unique key on purpose: an event applied twice shows up as two rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
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

from oneplan_events.catalogue import CATALOGUE, Event, register_contribution_events
from oneplan_events.consumer import DurableConsumer, Handler
from oneplan_events.envelope import Envelope
from oneplan_events.schema import BACKBONE_METADATA, dead_letters, inbox
from oneplan_events.streams import StreamSpec, ensure_stream
from oneplan_testkit import unique_name

PROJECTION_METADATA = MetaData()
projection = Table(
    "projection",
    PROJECTION_METADATA,
    Column("row_id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("title", String(200), nullable=False),
)


async def connect(url: str) -> tuple[Client, JetStreamContext]:
    """A connection that keeps reconnecting, as a service's would."""
    nc = await nats.connect(
        url, max_reconnect_attempts=-1, reconnect_time_wait=0.2, connect_timeout=2
    )
    return nc, nc.jetstream(timeout=2)


async def record(event: Event, envelope: Envelope, session: AsyncSession) -> None:
    """The test projection's handler: one row per application."""
    await session.execute(
        insert(projection).values(event_id=envelope.id, title=getattr(event, "title", ""))
    )


@dataclass
class Harness:
    """One test's world: a JetStream, a database, a service stream, running consumers."""

    js: JetStreamContext
    engine: AsyncEngine
    service: str
    stream: StreamSpec
    published: list[Envelope] = field(default_factory=list)
    consumers: list[tuple[DurableConsumer, asyncio.Task[None]]] = field(default_factory=list)

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        return async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def submitted_subject(self) -> str:
        return f"oneplan.{self.service}.contribution.submitted"

    def envelope(self, title: str, **overrides: Any) -> Envelope:
        model = register_contribution_events(self.service).submitted
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
        return CATALOGUE.envelope_for(
            event, source=f"/oneplan/{self.service}", subject=None, **overrides
        )

    async def publish(self, envelope: Envelope, js: JetStreamContext | None = None) -> None:
        headers, body = envelope.to_nats()
        await (js or self.js).publish(envelope.type, body, headers=headers)
        self.published.append(envelope)

    async def publish_many(self, count: int, prefix: str = "e") -> None:
        for index in range(count):
            await self.publish(self.envelope(f"{prefix}{index}"))

    def consumer(
        self,
        name: str,
        handlers: Mapping[str, Handler] | None = None,
        js: JetStreamContext | None = None,
        **options: Any,
    ) -> DurableConsumer:
        """Build and start a consumer; it is stopped when the test ends."""
        consumer = DurableConsumer(
            js or self.js,
            self.sessionmaker,
            name=name,
            stream=self.stream.name,
            subjects=[f"oneplan.{self.service}.>"],
            handlers=handlers or {f"oneplan.{self.service}.contribution.submitted": record},
            **options,
        )
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

    async def count(self, table: Table) -> int:
        async with self.engine.connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(table)) or 0)

    async def projected_count(self) -> int:
        return await self.count(projection)

    async def inbox_count(self) -> int:
        return await self.count(inbox)

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
    js: JetStreamContext, engine: AsyncEngine, duplicate_window: timedelta | None = None
) -> Harness:
    service = unique_name("svc").lower()
    spec = StreamSpec(
        name=service.upper(),
        subjects=(f"oneplan.{service}.>",),
        duplicate_window=duplicate_window or timedelta(minutes=2),
    )
    await ensure_stream(js, spec)
    return Harness(js=js, engine=engine, service=service, stream=spec)


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc, context = await connect(nats_url)
    yield context
    await nc.close()


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
async def harness(js: JetStreamContext, engine: AsyncEngine) -> AsyncIterator[Harness]:
    made = await make_harness(js, engine)
    yield made
    await made.stop_consumers()
    await js.delete_stream(made.stream.name)


@pytest.fixture
async def pg_harness(js: JetStreamContext, pg_engine: AsyncEngine) -> AsyncIterator[Harness]:
    made = await make_harness(js, pg_engine)
    yield made
    await made.stop_consumers()
    await js.delete_stream(made.stream.name)
