"""Replay 1,000,000 stored events into a projection with rebuild_projection. Target: < 60 s.

The store is filled once with server-side SQL (1,000 streams x 1,000 events of ~200 bytes; kept
for later runs when already there). The projection decodes every event through a catalogue
(pydantic validation, as a service's projection would) and upserts one summary row per stream
per page. BENCH_ROUNDS rounds (3), the two contenders taking turns; BENCH_REPLAY_EVENTS makes
it smaller.

Baseline, on the same rows in the same run: the raw asyncpg driver reading ``event_store`` in
``(tx_id, position)`` order with keyset pagination, pages of the same size, the next page read
while the current one is applied (as ``rebuild_projection`` does), the payload parsed with
``json.loads`` for ``n`` (no envelope, no metadata, no pydantic, no ``xmin`` guard), and the same
upsert statement per page. The ratio is what ``read_all``'s gap-safety guard, envelope rebuilding
and event decoding cost. Both read from the OS cache: a warm-up pass reads the table and the
index first, so neither contender pays for the disk alone.

    uv run python bench/bench_replay.py
    # BENCH_DATABASE_URL (default: database oneplan_bench_replay, kept between runs),
    # BENCH_REPLAY_EVENTS (1000000), BENCH_ROUNDS (3); BENCH_QUICK=1: 1 round of 20,000
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

sys.path.insert(0, str(Path(__file__).parent))

from _common import (
    BENCH_CATALOGUE,
    EVENT_TYPE,
    ItemRecorded,
    Result,
    asyncpg_dsn,
    database_url,
    ensure_database,
    print_table,
    setting,
)

from oneplan_events.replay import rebuild_projection
from oneplan_events.schema import BACKBONE_METADATA
from oneplan_events.store import EventStore, Position, RecordedEvent

# A database of its own: the other benchmarks empty theirs, this one keeps its million events.
DATABASE_URL = database_url("oneplan_bench_replay")
EVENTS = setting("BENCH_REPLAY_EVENTS", 1_000_000, 20_000)
ROUNDS = setting("BENCH_ROUNDS", 3, 1)
STREAMS = 1000
CHUNK = 100_000
BATCH = 5000  # rebuild_projection's default page size; the baseline uses the same
ONEPLAN = f"rebuild_projection (batch {BATCH})"
RAW = f"raw asyncpg keyset (batch {BATCH})"

FILL = f"""
WITH g AS (
    SELECT g, gen_random_uuid()::text AS id
    FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS g
)
INSERT INTO event_store
    (tx_id, stream_id, version, event_id, type, schema_version, data, metadata, recorded_at)
SELECT pg_current_xact_id()::text::bigint, 'item/' || (g % {STREAMS}), g / {STREAMS} + 1, id,
       '{EVENT_TYPE}', 1,
       jsonb_build_object('n', g, 'note', repeat('x', 200)),
       jsonb_build_object(
           'id', id, 'source', '/oneplan/bench', 'type', '{EVENT_TYPE}', 'specversion', '1.0',
           'time', to_json(now()) #>> '{{}}', 'subject', 'item/' || (g % {STREAMS}),
           'dataschema', 'urn:oneplan:event:{EVENT_TYPE}:v1', 'dataclass', 'education'),
       now()
FROM g ORDER BY g
"""

# One statement text for both contenders, differing only in placeholder style (SQLAlchemy's
# named binds, asyncpg's numbered ones), so the write side of the comparison is identical.
_UPSERT = """
INSERT INTO bench_projection (stream_id, version, events, last_n)
SELECT * FROM unnest(CAST({0} AS text[]), CAST({1} AS int[]),
                     CAST({2} AS int[]), CAST({3} AS int[]))
ON CONFLICT (stream_id) DO UPDATE
SET version = excluded.version, events = bench_projection.events + excluded.events,
    last_n = excluded.last_n
"""
UPSERT = _UPSERT.format(":streams", ":versions", ":counts", ":last_n")
RAW_UPSERT = _UPSERT.format("$1", "$2", "$3", "$4")

# Keyset pagination on the (tx_id, position) index, the order read_all returns, minus its xmin
# guard; data as text like the store reads it, metadata not at all (a raw projection ignores it).
RAW_READ = """
SELECT tx_id, position, stream_id, version, data::text FROM event_store
WHERE (tx_id, position) > ($1, $2)
ORDER BY tx_id, position
LIMIT $3
"""


async def fill(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        present = (await conn.execute(text("SELECT count(*) FROM event_store"))).scalar_one()
    if present == EVENTS:
        print(f"store already holds {EVENTS:,} events")
        return
    async with engine.begin() as conn:
        await conn.run_sync(BACKBONE_METADATA.drop_all)
        await conn.run_sync(BACKBONE_METADATA.create_all)
    started = time.perf_counter()
    for first in range(0, EVENTS, CHUNK):
        async with engine.begin() as conn:
            await conn.execute(text(FILL), {"first": first, "last": min(first + CHUNK, EVENTS) - 1})
        print(f"  filled {min(first + CHUNK, EVENTS):,} events", flush=True)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE event_store"))
    print(f"filled in {time.perf_counter() - started:.0f}s")


async def apply_page(engine: AsyncEngine, page: list[RecordedEvent]) -> None:
    latest: dict[str, tuple[int, int]] = {}
    counts: Counter[str] = Counter()
    for recorded in page:
        event = recorded.event
        assert isinstance(event, ItemRecorded)
        latest[recorded.stream_id] = (recorded.version, event.n)
        counts[recorded.stream_id] += 1
    streams = list(latest)
    async with engine.begin() as conn:
        await conn.execute(
            text(UPSERT),
            {
                "streams": streams,
                "versions": [latest[s][0] for s in streams],
                "counts": [counts[s] for s in streams],
                "last_n": [latest[s][1] for s in streams],
            },
        )


async def raw_replay(pool: asyncpg.Pool) -> int:
    """The baseline: the same pages and the same upserts, straight through the driver."""

    async def read(after_tx_id: int, after_position: int) -> list[asyncpg.Record]:
        async with pool.acquire() as conn:
            rows: list[asyncpg.Record] = await conn.fetch(
                RAW_READ, after_tx_id, after_position, BATCH
            )
            return rows

    async def apply(page: list[asyncpg.Record]) -> None:
        latest: dict[str, tuple[int, int]] = {}
        counts: Counter[str] = Counter()
        for stream_id, version, data in ((r[2], r[3], r[4]) for r in page):
            latest[stream_id] = (version, json.loads(data)["n"])
            counts[stream_id] += 1
        streams = list(latest)
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                RAW_UPSERT,
                streams,
                [latest[s][0] for s in streams],
                [counts[s] for s in streams],
                [latest[s][1] for s in streams],
            )

    applied = 0
    page = await read(0, 0)
    while page:
        # Read ahead while applying, as rebuild_projection does, so only decoding differs.
        following = asyncio.create_task(read(page[-1][0], page[-1][1]))
        try:
            await apply(page)
        except BaseException:
            following.cancel()
            raise
        applied += len(page)
        page = await following
    return applied


async def reset_projection(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS bench_projection"))
        await conn.execute(
            text(
                "CREATE TABLE bench_projection (stream_id text PRIMARY KEY, version int, "
                "events int, last_n int)"
            )
        )


async def check_projection(engine: AsyncEngine, name: str, applied: int) -> None:
    async with engine.connect() as conn:
        total = (await conn.execute(text("SELECT sum(events) FROM bench_projection"))).scalar_one()
    if applied != EVENTS or total != EVENTS:
        raise RuntimeError(f"{name}: replayed {applied}, projected {total}, expected {EVENTS}")


async def warm_up(engine: AsyncEngine) -> None:
    # A freshly filled (or long idle) table is partly on disk: whichever contender ran first
    # would pay for reading it. One sequential pass over the heap and one over the index first.
    started = time.perf_counter()
    async with engine.connect() as conn:
        await conn.execute(
            text("SELECT sum(length(data::text) + length(metadata::text)) FROM event_store")
        )
        await conn.execute(
            text(
                "SELECT count(*) FROM (SELECT tx_id, position FROM event_store "
                "ORDER BY tx_id, position) AS keys"
            )
        )
    print(f"warmed up in {time.perf_counter() - started:.1f}s")


async def oneplan_round(engine: AsyncEngine) -> tuple[float, float]:
    """One replay with rebuild_projection; (events/s, client CPU us/event)."""
    last_report = time.perf_counter()

    def progress(done: int, at: Position) -> None:
        nonlocal last_report
        if time.perf_counter() - last_report > 5:
            last_report = time.perf_counter()
            print(f"  replayed {done:,} events (at {at})", flush=True)

    await reset_projection(engine)
    cpu_started = time.process_time()
    started = time.perf_counter()
    applied = await rebuild_projection(
        engine,
        lambda page: apply_page(engine, page),
        batch=BATCH,
        progress=progress,
        store=EventStore(BENCH_CATALOGUE),
    )
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    await check_projection(engine, ONEPLAN, applied)
    print(f"{ONEPLAN}: {applied:,} events in {elapsed:.1f}s (target < 60 s)", flush=True)
    return applied / elapsed, cpu / applied * 1e6


async def raw_round(engine: AsyncEngine) -> tuple[float, float]:
    """One replay straight through the driver; (events/s, client CPU us/event)."""
    await reset_projection(engine)
    pool = await asyncpg.create_pool(asyncpg_dsn(DATABASE_URL), min_size=2, max_size=2)
    try:
        cpu_started = time.process_time()
        started = time.perf_counter()
        applied = await raw_replay(pool)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    finally:
        await pool.close()
    await check_projection(engine, RAW, applied)
    print(f"{RAW}: {applied:,} events in {elapsed:.1f}s", flush=True)
    return applied / elapsed, cpu / applied * 1e6


async def main() -> None:
    await ensure_database(DATABASE_URL)
    engine = create_async_engine(DATABASE_URL, pool_size=4)
    async with engine.begin() as conn:
        await conn.run_sync(BACKBONE_METADATA.create_all)
    await fill(engine)
    await warm_up(engine)
    rates: dict[str, list[float]] = {ONEPLAN: [], RAW: []}
    cpu: dict[str, list[float]] = {ONEPLAN: [], RAW: []}
    contenders = [(ONEPLAN, oneplan_round), (RAW, raw_round)]
    try:
        for round_number in range(ROUNDS):
            # The two take turns going first, so neither always finds a warmer cache.
            for name, contender in contenders[round_number % 2 :] + contenders[: round_number % 2]:
                rate, used = await contender(engine)
                rates[name].append(rate)
                cpu[name].append(used)
    finally:
        await engine.dispose()
    print_table(
        f"replay: {EVENTS:,} events into a projection, {ROUNDS} rounds (events/s)",
        "ev/s",
        [Result(name, values) for name, values in rates.items()],
        [RAW],
    )
    # Wall-clock rates swing with other load on a shared machine; this process's CPU per
    # event shows the decoding cost on its own (PostgreSQL's share is the same for both).
    for name, values in cpu.items():
        print(f"{name:<44} client CPU {statistics.median(values):6.1f} us/event (median)")


if __name__ == "__main__":
    asyncio.run(main())
