"""Command append throughput: events + outbox rows in one transaction, 8 concurrent writers.

Contenders, run side by side on the same PostgreSQL (rounds interleaved, median reported):

* ``EventStore.append``: one command = ``engine.begin()`` from SQLAlchemy's pool, one append
  of one event (event row + outbox row, version check), commit;
* raw asyncpg: the same transaction shape written by hand (an asyncpg pool, BEGIN, insert the
  event, insert the outbox row, COMMIT), serialising the same envelope, into the same tables
  (so it pays for the outbox's NOTIFY trigger too);
* raw asyncpg, no NOTIFY trigger: the same, with the trigger disabled for that contender's round
  only, so the ratio also shows what the relay's wake-up costs (NOTIFY takes a global lock at
  commit); it is re-enabled before the next round and the ``EventStore`` round checks it is on;
* the ``eventsourcing`` library (POSTGRES persistence) saving an aggregate with one new event,
  8 threads (its API is synchronous).

Targets: at least 2x eventsourcing and at least 60% of raw asyncpg (the raw asyncpg with the
trigger: the store's contract includes the wake-up).

    uv run python bench/bench_append.py        # BENCH_DATABASE_URL, BENCH_ROUNDS, BENCH_COMMANDS
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).parent))

from _common import (
    DATABASE_URL,
    Result,
    asyncpg_dsn,
    envelope,
    fresh_backbone,
    print_table,
)

from oneplan_events.store import EventStore, metadata_of

WRITERS = 8
ONEPLAN = "EventStore.append (SQLAlchemy pool)"
RAW = "raw asyncpg"
RAW_NO_NOTIFY = "raw asyncpg, no NOTIFY trigger"
EVENTSOURCING = "eventsourcing 9.5 (POSTGRES)"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
COMMANDS_PER_WRITER = int(os.environ.get("BENCH_COMMANDS", "400"))

RAW_EVENT = """
INSERT INTO event_store
    (tx_id, stream_id, version, event_id, type, schema_version, data, metadata, recorded_at)
VALUES (pg_current_xact_id()::text::bigint, $1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, now())
RETURNING position
"""
RAW_OUTBOX = """
INSERT INTO outbox (position, event_id, stream_id, subject, headers, body, created_at)
VALUES ($1, $2, $3, $4, $5::jsonb, $6, now())
"""


async def truncate(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE event_store, outbox RESTART IDENTITY"))


async def notify_trigger_enabled(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        state = await conn.scalar(
            text(
                # tgenabled is the internal "char" type, which asyncpg returns as bytes.
                "SELECT tgenabled::text FROM pg_trigger "
                "WHERE tgrelid = 'outbox'::regclass AND tgname = 'outbox_notify'"
            )
        )
    # 'O' = fires in the default (origin) replication role; 'D' = disabled; None = missing.
    return bool(state == "O")


async def set_notify_trigger(engine: AsyncEngine, enabled: bool) -> None:
    # The same tables, indexes and sequences for both raw contenders: only the trigger differs.
    action = "ENABLE" if enabled else "DISABLE"
    async with engine.begin() as conn:
        await conn.execute(text(f"ALTER TABLE outbox {action} TRIGGER outbox_notify"))


async def oneplan_round(engine: AsyncEngine, round_no: int) -> float:
    # The store must always be measured as deployed, i.e. with the relay's wake-up trigger.
    if not await notify_trigger_enabled(engine):
        raise RuntimeError("the outbox NOTIFY trigger is not enabled for the EventStore round")
    store = EventStore()

    async def writer(w: int) -> None:
        stream_id = f"item/oneplan-{round_no}-{w}"
        for version in range(COMMANDS_PER_WRITER):
            async with engine.begin() as conn:
                await store.append(conn, stream_id, version, [envelope(stream_id, version)])

    return await timed(writer)


async def raw_round(pool: asyncpg.Pool, label: str, round_no: int) -> float:
    async def writer(w: int) -> None:
        stream_id = f"item/{label}-{round_no}-{w}"
        for version in range(COMMANDS_PER_WRITER):
            event = envelope(stream_id, version)
            headers, body = event.to_nats()
            metadata = json.dumps(metadata_of(event), separators=(",", ":"))
            async with pool.acquire() as conn, conn.transaction():
                position = await conn.fetchval(
                    RAW_EVENT,
                    stream_id,
                    version + 1,
                    event.id,
                    event.type,
                    event.schema_version,
                    body.decode(),
                    metadata,
                )
                await conn.execute(
                    RAW_OUTBOX,
                    position,
                    event.id,
                    stream_id,
                    event.type,
                    json.dumps(headers, separators=(",", ":")),
                    body,
                )

    return await timed(writer)


async def timed(writer: Callable[[int], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    return WRITERS * COMMANDS_PER_WRITER / (time.perf_counter() - started)


def eventsourcing_app() -> Any:
    # Its persistence is configured through the environment, read when the app is created.
    url = make_url(DATABASE_URL)
    os.environ.update(
        PERSISTENCE_MODULE="eventsourcing.postgres",
        POSTGRES_DBNAME=str(url.database),
        POSTGRES_HOST=str(url.host or "127.0.0.1"),
        POSTGRES_PORT=str(url.port or 5432),
        POSTGRES_USER=str(url.username or "postgres"),
        POSTGRES_PASSWORD=str(url.password or ""),
        POSTGRES_POOL_SIZE=str(WRITERS),
        POSTGRES_MAX_OVERFLOW="0",
        CREATE_TABLE="y",
    )
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    class Item(Aggregate):
        @event("Recorded")
        def record(self, n: int, note: str) -> None:
            self.last = n

    class Items(Application[UUID]):
        def create(self) -> Item:
            item = Item()
            self.save(item)
            return item

    app = Items()
    return app


def eventsourcing_round(app: Any) -> float:
    barrier = threading.Barrier(WRITERS)

    def writer(w: int) -> None:
        item = app.create()
        barrier.wait()
        for n in range(COMMANDS_PER_WRITER):
            item.record(n, "x" * 200)
            app.save(item)

    with ThreadPoolExecutor(WRITERS) as executor:
        started = time.perf_counter()
        list(executor.map(writer, range(WRITERS)))
        elapsed = time.perf_counter() - started
    return WRITERS * COMMANDS_PER_WRITER / elapsed


async def main() -> None:
    engine = await fresh_backbone(pool_size=WRITERS)
    pool = await asyncpg.create_pool(asyncpg_dsn(), min_size=WRITERS, max_size=WRITERS)
    app = eventsourcing_app()
    rates: dict[str, list[float]] = {ONEPLAN: [], RAW: [], RAW_NO_NOTIFY: [], EVENTSOURCING: []}
    loop = asyncio.get_running_loop()
    try:
        for round_no in range(ROUNDS):
            await truncate(engine)
            rates[ONEPLAN].append(await oneplan_round(engine, round_no))
            await truncate(engine)
            rates[RAW].append(await raw_round(pool, "raw", round_no))
            await truncate(engine)
            await set_notify_trigger(engine, enabled=False)
            try:
                rates[RAW_NO_NOTIFY].append(await raw_round(pool, "raw-quiet", round_no))
            finally:
                # Re-enabled even on failure: the database keeps the store's deployed shape.
                await set_notify_trigger(engine, enabled=True)
            rates[EVENTSOURCING].append(await loop.run_in_executor(None, eventsourcing_round, app))
    finally:
        await pool.close()
        await engine.dispose()
        app.close()
    print_table(
        f"append: {WRITERS} writers x {COMMANDS_PER_WRITER} commands, 1 event + 1 outbox row "
        f"per transaction, {ROUNDS} rounds (commands/s)",
        "cmd/s",
        [Result(name, values) for name, values in rates.items()],
        [RAW, RAW_NO_NOTIFY, EVENTSOURCING],
    )


if __name__ == "__main__":
    asyncio.run(main())
