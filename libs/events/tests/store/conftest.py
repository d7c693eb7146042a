"""Fixtures for the event store, relay and replay tests: real databases, a real JetStream.

Each test gets a fresh empty database (SQLite file or PostgreSQL database) holding the backbone
tables, and event types of its own (``oneplan.<unique>.item.recorded``) so that the JetStream
stream it creates never overlaps another test's subjects on the shared NATS server.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from oneplan_events.catalogue import Catalogue, DataClass, Event
from oneplan_events.envelope import Envelope, dataschema_for
from oneplan_events.relay import OutboxRelay
from oneplan_events.schema import BACKBONE_METADATA, outbox
from oneplan_events.store import EventStore, Position
from oneplan_testkit import unique_name

TEST_CATALOGUE = Catalogue()
ITEM_RECORDED = "oneplan.storetest.item.recorded"


@TEST_CATALOGUE.register(ITEM_RECORDED, DataClass.EDUCATION, summary="A test item was recorded.")
class ItemRecorded(Event):
    """The event the contract suite stores and decodes."""

    n: int
    note: str


def make_envelope(stream_id: str, n: int, event_type: str = ITEM_RECORDED) -> Envelope:
    """A synthetic event for ``stream_id`` (no personal data)."""
    return Envelope(
        id=str(uuid.uuid4()),
        source="/oneplan/storetest",
        type=event_type,
        time=datetime.now(UTC),
        data={"n": n, "note": f"item {n} of {stream_id}"},
        subject=stream_id,
        dataschema=dataschema_for(event_type, 1),
        correlationid=str(uuid.uuid4()),
        dataclass=DataClass.EDUCATION.value,
    )


async def create_engine_with_backbone(url: str) -> AsyncEngine:
    """An engine on ``url`` whose database holds the backbone tables."""
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(BACKBONE_METADATA.create_all)
    return engine


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A fresh database with the backbone tables; runs once on SQLite, once on PostgreSQL."""
    engine = await create_engine_with_backbone(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def pg_engine(pg_database_url: str) -> AsyncIterator[AsyncEngine]:
    """A fresh PostgreSQL database with the backbone tables."""
    engine = await create_engine_with_backbone(pg_database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def store() -> EventStore:
    return EventStore(TEST_CATALOGUE)


async def connect_nats(url: str) -> Client:
    """A connection that reconnects forever, as the relay's must."""
    return await nats.connect(
        url, max_reconnect_attempts=-1, reconnect_time_wait=0.2, connect_timeout=2
    )


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await connect_nats(nats_url)
    yield client
    await client.close()


@dataclass(frozen=True)
class JsStream:
    """A JetStream stream of the test's own: its name and the one event type it carries."""

    name: str
    event_type: str


async def create_test_stream(js: JetStreamContext, duplicate_window: float = 120.0) -> JsStream:
    """A file-backed stream on a subject no other test uses."""
    name = unique_name("STORE")
    event_type = f"oneplan.{name.lower()}.item.recorded"
    await js.add_stream(name=name, subjects=[f"{event_type}.>"], duplicate_window=duplicate_window)
    return JsStream(name, event_type)


@pytest.fixture
async def js_stream(nc: Client) -> AsyncIterator[JsStream]:
    js = nc.jetstream()
    stream = await create_test_stream(js)
    yield stream
    with contextlib.suppress(NotFoundError):
        await js.delete_stream(stream.name)


@contextlib.asynccontextmanager
async def running(relay: OutboxRelay) -> AsyncIterator[OutboxRelay]:
    """Run ``relay`` for the block; stop it cleanly (lease released) on the way out."""
    task = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        relay.stop()
        await asyncio.wait_for(task, 10)


async def stream_count(nc: Client, stream: JsStream) -> int:
    """How many messages ``stream`` holds."""
    info = await nc.jetstream().stream_info(stream.name)
    count: int = info.state.messages
    return count


@dataclass(frozen=True)
class StoredMessage:
    seq: int
    msg_id: str
    stream_id: str
    n: int


async def stream_messages(js: JetStreamContext, stream: str) -> list[StoredMessage]:
    """Every message stored in ``stream``, in stream order."""
    info = await js.stream_info(stream)
    messages = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        raw = await js.get_msg(stream, seq)
        assert raw.headers is not None
        envelope = Envelope.from_nats(raw.subject or "", raw.headers, raw.data or b"")
        assert raw.headers["Nats-Msg-Id"] == envelope.id
        assert envelope.subject is not None
        messages.append(StoredMessage(seq, envelope.id, envelope.subject, envelope.data["n"]))
    return messages


async def wait_for(
    condition: Callable[[], object], within: float, what: str, interval: float = 0.05
) -> None:
    """Poll a synchronous or asynchronous ``condition`` until truthy; fail after ``within`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if loop.time() > deadline:
            pytest.fail(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(interval)


async def unpublished(engine: AsyncEngine) -> int:
    """Outbox rows not yet marked published."""
    async with engine.connect() as conn:
        result = await conn.execute(
            select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        )
        count: int = result.scalar_one()
        return count


def assert_exactly_once_in_order(
    messages: Sequence[StoredMessage], expected: dict[str, list[str]]
) -> None:
    """Every expected event id is stored once, and each stream's ids in their append order."""
    ids = [m.msg_id for m in messages]
    assert len(ids) == len(set(ids)), "a message was stored twice"
    assert sorted(ids) == sorted(i for stream_ids in expected.values() for i in stream_ids)
    for stream_id, stream_ids in expected.items():
        assert [m.msg_id for m in messages if m.stream_id == stream_id] == stream_ids


async def all_visible(engine: AsyncEngine, count: int) -> None:
    """Wait until ``read_all`` returns ``count`` events.

    On a PostgreSQL cluster shared with other test runs, a transaction open elsewhere holds
    ``read_all`` back for a moment (it stalls, it never skips): tests that need every event
    visible wait for that first.
    """

    async def visible() -> bool:
        async with engine.connect() as conn:
            return len(await EventStore().read_all(conn, Position.START, count + 1)) >= count

    await wait_for(visible, 15, f"{count} events to be visible to read_all")
