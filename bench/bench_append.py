"""Command append throughput: events + outbox rows in one transaction, 8 concurrent writers.

Contenders, run side by side on the same PostgreSQL (rounds interleaved, median reported).
Every contender but eventsourcing does the same commands on the same shape of records: each
writer works through records of RECORD_EVENTS events (the first command creates the record,
the next ones append to it), one event per command, as a service's records grow:

* ``UnitOfWork.execute (decider)``: the path every service command takes. A unit of work
  (``AsyncSession`` from SQLAlchemy's pool, and the ``StateCache`` a service's runtime
  shares between its commands) runs ``execute``: it loads the record (from the cache when
  this process wrote it last, else its stream, decoded through the catalogue and folded with
  the decider's ``evolve``), checks the expected version (the ``If-Match`` of an update),
  ``decide``s, appends the event with its outbox row (the store checks the version in the
  same statement), evolves the state and runs the aggregate's projection (an upsert of the
  record's row in a read-model table, as a service's projection does); then ``commit``;
* ``UnitOfWork.execute, no state cache``: the same, every command reading its record's
  stream (what a command costs on a record another instance wrote last);
* the same command by hand: what a service wrote before the kit ran deciders, on
  ``engine.begin()``: ``EventStore.read_stream``, fold, decide, ``Catalogue.envelope_for``,
  ``EventStore.append``, the same upsert through the connection, commit. The decider's ratio
  to it is what the pipeline itself (unit of work, session, decider protocol) costs;
* ``EventStore.append``: one command = ``engine.begin()`` from SQLAlchemy's pool, one append
  of one ready-made envelope (event row + outbox row, version check), commit;
* raw asyncpg: the same transaction shape written by hand (an asyncpg pool, BEGIN, insert the
  event, insert the outbox row, COMMIT), serialising the same envelope, into the same tables
  (so it pays for the outbox's NOTIFY trigger too);
* raw asyncpg, no NOTIFY trigger: the same, with the trigger disabled for that contender's round
  only, so the ratio also shows what the relay's wake-up costs (NOTIFY takes a global lock at
  commit); it is re-enabled before the next round and the other rounds check it is on;
* the ``eventsourcing`` library (POSTGRES persistence) saving an aggregate with one new event,
  8 threads (its API is synchronous; its aggregate stays in memory, so it never reloads).

Targets: the decider path within 10% of ``EventStore.append`` (>= 0.9x); the store at least 2x
eventsourcing and at least 60% of raw asyncpg (the raw asyncpg with the trigger: the store's
contract includes the wake-up).

    uv run python bench/bench_append.py
    # BENCH_DATABASE_URL, BENCH_ROUNDS (5), BENCH_COMMANDS (400 per writer),
    # BENCH_RECORD_EVENTS (5); BENCH_QUICK=1: 1 round of 40 commands per writer
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import Column, Integer, MetaData, Table, Text, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

sys.path.insert(0, str(Path(__file__).parent))

from _common import (
    BENCH_CATALOGUE,
    DATABASE_URL,
    ItemRecorded,
    Result,
    asyncpg_dsn,
    envelope,
    fresh_backbone,
    print_table,
    setting,
)

from oneplan_events.catalogue import Event
from oneplan_events.decider import Aggregate
from oneplan_events.store import EventStore, RecordedEvent, metadata_of
from oneplan_events.uow import StateCache, UnitOfWork

WRITERS = 8
DECIDER = "UnitOfWork.execute (decider)"
DECIDER_UNCACHED = "UnitOfWork.execute, no state cache"
BY_HAND = "the same command by hand (EventStore + Core)"
ONEPLAN = "EventStore.append (SQLAlchemy pool)"
RAW = "raw asyncpg"
RAW_NO_NOTIFY = "raw asyncpg, no NOTIFY trigger"
EVENTSOURCING = "eventsourcing 9.5 (POSTGRES)"
ROUNDS = setting("BENCH_ROUNDS", 5, 1)
COMMANDS_PER_WRITER = setting("BENCH_COMMANDS", 400, 40)
RECORD_EVENTS = setting("BENCH_RECORD_EVENTS", 5, 5)
NOTE = "x" * 200


# -- the decider contender's record: a decider, its projection, its read model ---------------


@dataclass(frozen=True)
class RecordItem:
    """The benchmark's command: record item ``n`` on a record."""

    n: int


@dataclass(frozen=True)
class ItemState:
    """A record's state: how many items it holds, and the last one."""

    count: int = 0
    last_n: int = -1


class ItemDecider:
    """A record of items: every command records one (a decision with a rule to check)."""

    stream_prefix = "item"

    def initial_state(self) -> ItemState:
        return ItemState()

    def decide(self, state: ItemState, command: RecordItem, now: datetime) -> Sequence[Event]:
        if command.n <= state.last_n:
            raise ValueError(f"item {command.n} is not after item {state.last_n}")
        return [ItemRecorded(n=command.n, note=NOTE)]

    def evolve(self, state: ItemState, event: Event) -> ItemState:
        assert isinstance(event, ItemRecorded)
        return ItemState(state.count + 1, event.n)


READ_MODELS = MetaData()
bench_item = Table(
    "bench_item",
    READ_MODELS,
    Column("stream_id", Text, primary_key=True),
    Column("item_count", Integer, nullable=False),
    Column("last_n", Integer, nullable=False),
)


_UPSERT = insert(bench_item)
# Built once, as a service's projection would keep its statements (SQLAlchemy caches the SQL).
UPSERT_ITEM = _UPSERT.on_conflict_do_update(
    index_elements=[bench_item.c.stream_id],
    set_={"item_count": _UPSERT.excluded.item_count, "last_n": _UPSERT.excluded.last_n},
)


async def project_item(
    session: AsyncSession, state: ItemState, recorded: Sequence[RecordedEvent]
) -> None:
    """The read model of a record: one row, upserted in the command's transaction."""
    await session.execute(
        UPSERT_ITEM,
        {"stream_id": recorded[-1].stream_id, "item_count": state.count, "last_n": state.last_n},
    )


ITEMS: Aggregate[ItemState, RecordItem] = Aggregate(ItemDecider(), project_item)


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


def record_of(label: str, round_no: int, writer: int, command: int) -> tuple[str, int]:
    """The record a writer's command works on and the record's version before it."""
    return f"{label}-{round_no}-{writer}-{command // RECORD_EVENTS}", command % RECORD_EVENTS


async def truncate(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE event_store, outbox, bench_item RESTART IDENTITY"))


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


async def require_notify_trigger(engine: AsyncEngine) -> None:
    # The store must always be measured as deployed, i.e. with the relay's wake-up trigger.
    if not await notify_trigger_enabled(engine):
        raise RuntimeError("the outbox NOTIFY trigger is not enabled for this round")


async def decider_round(engine: AsyncEngine, round_no: int, cached: bool = True) -> float:
    await require_notify_trigger(engine)
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    store = EventStore(BENCH_CATALOGUE)
    # As a service's runtime keeps one (oneplan_kit.Runtime.states), shared by its commands.
    states = StateCache() if cached else None
    label = "decider" if cached else "uncached"

    async def writer(w: int) -> None:
        for n in range(COMMANDS_PER_WRITER):
            record_id, version = record_of(label, round_no, w, n)
            unit = UnitOfWork(sessionmaker, store, source="/oneplan/bench", states=states)
            async with unit as uow:
                # An update names the version it saw (If-Match); a creation names none.
                await uow.execute(ITEMS, record_id, RecordItem(n), expected_version=version or None)
                await uow.commit()

    return await timed(writer)


async def uncached_round(engine: AsyncEngine, round_no: int) -> float:
    return await decider_round(engine, round_no, cached=False)


async def by_hand_round(engine: AsyncEngine, round_no: int) -> float:
    await require_notify_trigger(engine)
    store = EventStore(BENCH_CATALOGUE)
    decider = ItemDecider()

    async def writer(w: int) -> None:
        for n in range(COMMANDS_PER_WRITER):
            record_id, _ = record_of("by-hand", round_no, w, n)
            stream_id = f"item/{record_id}"
            async with engine.begin() as conn:
                recorded = await store.read_stream(conn, stream_id)
                state = decider.initial_state()
                for item in recorded:
                    state = decider.evolve(state, item.event)
                events = decider.decide(state, RecordItem(n), datetime.now(UTC))
                envelopes = [
                    BENCH_CATALOGUE.envelope_for(event, source="/oneplan/bench", subject=stream_id)
                    for event in events
                ]
                await store.append(conn, stream_id, len(recorded), envelopes)
                for event in events:
                    state = decider.evolve(state, event)
                await conn.execute(
                    UPSERT_ITEM,
                    {"stream_id": stream_id, "item_count": state.count, "last_n": state.last_n},
                )

    return await timed(writer)


async def oneplan_round(engine: AsyncEngine, round_no: int) -> float:
    await require_notify_trigger(engine)
    store = EventStore()

    async def writer(w: int) -> None:
        for n in range(COMMANDS_PER_WRITER):
            record_id, version = record_of("oneplan", round_no, w, n)
            stream_id = f"item/{record_id}"
            async with engine.begin() as conn:
                await store.append(conn, stream_id, version, [envelope(stream_id, n)])

    return await timed(writer)


async def raw_round(pool: asyncpg.Pool, label: str, round_no: int) -> float:
    async def writer(w: int) -> None:
        for n in range(COMMANDS_PER_WRITER):
            record_id, version = record_of(label, round_no, w, n)
            stream_id = f"item/{record_id}"
            event = envelope(stream_id, n)
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
                    event.nats_subject,
                    json.dumps(headers, separators=(",", ":")),
                    body,
                )

    return await timed(writer)


#: This process's CPU per command (us) in each contender's rounds: on a shared machine it
#: swings less than the wall-clock rates (PostgreSQL's own CPU is not in it).
CPU: dict[str, list[float]] = {}


async def timed(writer: Callable[[int], Awaitable[None]]) -> float:
    cpu_started = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    elapsed = time.perf_counter() - started
    commands = WRITERS * COMMANDS_PER_WRITER
    used = (time.process_time() - cpu_started) / commands * 1e6
    CPU.setdefault(RUNNING["contender"], []).append(used)
    return commands / elapsed


RUNNING = {"contender": ""}  # whose round ``timed`` is timing


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
            item.record(n, NOTE)
            app.save(item)

    with ThreadPoolExecutor(WRITERS) as executor:
        started = time.perf_counter()
        list(executor.map(writer, range(WRITERS)))
        elapsed = time.perf_counter() - started
    return WRITERS * COMMANDS_PER_WRITER / elapsed


async def main() -> None:
    engine = await fresh_backbone(pool_size=WRITERS)
    async with engine.begin() as conn:
        await conn.run_sync(READ_MODELS.drop_all)
        await conn.run_sync(READ_MODELS.create_all)
    pool = await asyncpg.create_pool(asyncpg_dsn(), min_size=WRITERS, max_size=WRITERS)
    app = eventsourcing_app()
    rates: dict[str, list[float]] = {
        DECIDER: [],
        DECIDER_UNCACHED: [],
        BY_HAND: [],
        ONEPLAN: [],
        RAW: [],
        RAW_NO_NOTIFY: [],
        EVENTSOURCING: [],
    }
    loop = asyncio.get_running_loop()
    try:
        for round_no in range(ROUNDS):
            # The contenders the targets compare take turns going first.
            ours: list[tuple[str, Callable[[AsyncEngine, int], Awaitable[float]]]] = [
                (DECIDER, decider_round),
                (DECIDER_UNCACHED, uncached_round),
                (BY_HAND, by_hand_round),
                (ONEPLAN, oneplan_round),
            ]
            shift = round_no % len(ours)
            for name, contender in ours[shift:] + ours[:shift]:
                await truncate(engine)
                RUNNING["contender"] = name
                rates[name].append(await contender(engine, round_no))
            await truncate(engine)
            RUNNING["contender"] = RAW
            rates[RAW].append(await raw_round(pool, "raw", round_no))
            await truncate(engine)
            await set_notify_trigger(engine, enabled=False)
            try:
                RUNNING["contender"] = RAW_NO_NOTIFY
                rates[RAW_NO_NOTIFY].append(await raw_round(pool, "raw-quiet", round_no))
            finally:
                # Re-enabled even on failure: the database keeps the store's deployed shape.
                await set_notify_trigger(engine, enabled=True)
            rates[EVENTSOURCING].append(await loop.run_in_executor(None, eventsourcing_round, app))
            print(
                f"  round {round_no + 1}: "
                + ", ".join(f"{name} {values[-1]:,.0f}" for name, values in rates.items()),
                flush=True,
            )
    finally:
        await pool.close()
        await engine.dispose()
        app.close()
    print_table(
        f"append: {WRITERS} writers x {COMMANDS_PER_WRITER} commands (records of "
        f"{RECORD_EVENTS} events), 1 event + 1 outbox row per transaction, {ROUNDS} rounds "
        "(commands/s; target: decider >= 0.90x EventStore.append)",
        "cmd/s",
        [Result(name, values) for name, values in rates.items()],
        [ONEPLAN, BY_HAND, RAW, EVENTSOURCING],
    )
    for name, values in CPU.items():
        print(f"{name:<44} client CPU {statistics.median(values):7.0f} us/command (median)")


if __name__ == "__main__":
    asyncio.run(main())
