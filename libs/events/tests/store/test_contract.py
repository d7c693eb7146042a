"""The event store contract, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from oneplan_events.schema import event_store, outbox
from oneplan_events.store import ConcurrencyError, EventStore, Position

from .conftest import ItemRecorded, all_visible, make_envelope


async def test_append_then_read_stream_round_trips_envelopes(
    engine: AsyncEngine, store: EventStore
) -> None:
    envelopes = [make_envelope("item/a", n) for n in range(3)]
    async with engine.begin() as conn:
        recorded = await store.append(conn, "item/a", 0, envelopes)
    assert [r.version for r in recorded] == [1, 2, 3]

    async with engine.connect() as conn:
        read = await store.read_stream(conn, "item/a")
        tail = await store.read_stream(conn, "item/a", after_version=2)
        version = await store.stream_version(conn, "item/a")
    # The store adds each envelope's version in its stream.
    assert [r.envelope for r in read] == [
        dataclasses.replace(e, streamversion=n) for n, e in enumerate(envelopes, start=1)
    ]
    assert [r.position for r in read] == [r.position for r in recorded]
    assert [r.version for r in tail] == [3]
    assert version == 3
    assert read[0].event == ItemRecorded(n=0, note="item 0 of item/a")


async def test_a_missing_stream_is_at_version_zero_and_empty(
    engine: AsyncEngine, store: EventStore
) -> None:
    async with engine.connect() as conn:
        assert await store.stream_version(conn, "item/none") == 0
        assert await store.read_stream(conn, "item/none") == []


async def test_appending_continues_from_the_expected_version(
    engine: AsyncEngine, store: EventStore
) -> None:
    async with engine.begin() as conn:
        await store.append(conn, "item/a", 0, [make_envelope("item/a", 0)])
    async with engine.begin() as conn:
        recorded = await store.append(conn, "item/a", 1, [make_envelope("item/a", 1)])
    assert recorded[0].version == 2


@pytest.mark.parametrize("expected", [0, 2, 5])
async def test_a_wrong_expected_version_raises_and_writes_nothing(
    engine: AsyncEngine, store: EventStore, expected: int
) -> None:
    async with engine.begin() as conn:
        await store.append(conn, "item/a", 0, [make_envelope("item/a", 0)])
    with pytest.raises(ConcurrencyError) as raised:
        async with engine.begin() as conn:
            await store.append(conn, "item/a", expected, [make_envelope("item/a", 1)])
    assert (raised.value.stream_id, raised.value.expected_version) == ("item/a", expected)
    assert raised.value.actual_version == 1
    assert await count(engine, event_store) == 1
    assert await count(engine, outbox) == 1


async def test_events_and_outbox_rows_commit_together(
    engine: AsyncEngine, store: EventStore
) -> None:
    envelopes = [make_envelope("item/a", n) for n in range(2)]
    async with engine.begin() as conn:
        recorded = await store.append(conn, "item/a", 0, envelopes)

    async with engine.connect() as conn:
        rows = (await conn.execute(select(outbox).order_by(outbox.c.id))).all()
    assert [row.event_id for row in rows] == [e.id for e in envelopes]
    assert [row.position for row in rows] == [r.position.position for r in recorded]
    for version, (row, envelope) in enumerate(zip(rows, envelopes, strict=True), start=1):
        headers, body = dataclasses.replace(envelope, streamversion=version).to_nats()
        assert headers["ce-streamversion"] == str(version)
        # The NATS subject carries the record: the type, then the record's key.
        assert (row.subject, row.stream_id) == (f"{envelope.type}.a", "item/a")
        assert (row.headers, row.body) == (headers, body)
        assert row.headers["Nats-Msg-Id"] == envelope.id
        assert row.published_at is None
        assert row.created_at.tzinfo is not None


async def test_a_rolled_back_command_leaves_neither_events_nor_outbox_rows(
    engine: AsyncEngine, store: EventStore
) -> None:
    async with engine.connect() as conn:
        await store.append(conn, "item/a", 0, [make_envelope("item/a", 0)])
        await conn.rollback()
    assert await count(engine, event_store) == 0
    assert await count(engine, outbox) == 0


async def test_read_all_pages_through_every_event_in_commit_order(
    engine: AsyncEngine, store: EventStore
) -> None:
    appended = []
    for n in range(7):
        stream_id = f"item/{n % 3}"
        async with engine.begin() as conn:
            version = await store.stream_version(conn, stream_id)
            appended += await store.append(conn, stream_id, version, [make_envelope(stream_id, n)])
    await all_visible(engine, len(appended))

    seen = []
    after = Position.START
    async with engine.connect() as conn:
        while page := await store.read_all(conn, after, limit=3):
            assert len(page) <= 3
            seen += page
            after = page[-1].position
    assert [r.envelope.id for r in seen] == [r.envelope.id for r in appended]
    assert [r.position for r in seen] == sorted(r.position for r in seen)
    assert [(r.stream_id, r.version) for r in seen] == [(r.stream_id, r.version) for r in appended]


async def test_read_all_limit_must_be_positive(engine: AsyncEngine, store: EventStore) -> None:
    async with engine.connect() as conn:
        with pytest.raises(ValueError, match="limit"):
            await store.read_all(conn, Position.START, 0)


async def test_an_event_id_is_stored_once(engine: AsyncEngine, store: EventStore) -> None:
    envelope = make_envelope("item/a", 0)
    async with engine.begin() as conn:
        await store.append(conn, "item/a", 0, [envelope])
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await store.append(conn, "item/b", 0, [envelope])


async def count(engine: AsyncEngine, table: object) -> int:
    async with engine.connect() as conn:
        result = await conn.execute(select(func.count()).select_from(table))  # type: ignore[arg-type]
        value: int = result.scalar_one()
        return value


async def test_concurrent_appends_at_one_version_let_exactly_one_win(
    pg_engine: AsyncEngine, store: EventStore
) -> None:
    """PostgreSQL: the loser waits for the winner's commit and gets ConcurrencyError."""
    started = asyncio.Event()

    async def command(n: int) -> str:
        try:
            async with pg_engine.begin() as conn:
                await store.append(conn, "item/a", 0, [make_envelope("item/a", n)])
                started.set()
                await asyncio.sleep(0.2)
        except ConcurrencyError:
            return "conflict"
        return "ok"

    async def second() -> str:
        await started.wait()
        return await command(1)

    assert sorted(await asyncio.gather(command(0), second())) == ["conflict", "ok"]
    assert await count(pg_engine, event_store) == 1


async def test_append_runs_inside_the_callers_transaction_even_as_its_first_statement(
    pg_engine: AsyncEngine, store: EventStore
) -> None:
    """The raw asyncpg hot path must not autocommit before SQLAlchemy has begun."""
    async with pg_engine.connect() as conn:
        await store.append(conn, "item/a", 0, [make_envelope("item/a", 0)])
        await conn.rollback()
    assert await count(pg_engine, event_store) == 0
