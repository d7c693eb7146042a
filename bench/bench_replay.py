"""Replay 1,000,000 stored events into a projection with rebuild_projection. Target: < 60 s.

The store is filled once with server-side SQL (1,000 streams x 1,000 events of ~200 bytes; kept
for later runs when already there). The projection decodes every event through a catalogue
(pydantic validation, as a service's projection would) and upserts one summary row per stream
per page. Runs once (it takes a while); BENCH_REPLAY_EVENTS makes it smaller.

    uv run python bench/bench_replay.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

sys.path.insert(0, str(Path(__file__).parent))

from _common import DATABASE_URL, EVENT_TYPE, Result, ensure_database, print_table

from oneplan_events.catalogue import Catalogue, DataClass, Event
from oneplan_events.replay import rebuild_projection
from oneplan_events.schema import BACKBONE_METADATA
from oneplan_events.store import EventStore, Position, RecordedEvent

EVENTS = int(os.environ.get("BENCH_REPLAY_EVENTS", "1000000"))
STREAMS = 1000
CHUNK = 100_000

BENCH_CATALOGUE = Catalogue()


@BENCH_CATALOGUE.register(EVENT_TYPE, DataClass.EDUCATION, summary="A benchmark item.")
class ItemRecorded(Event):
    n: int
    note: str


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

UPSERT = """
INSERT INTO bench_projection (stream_id, version, events, last_n)
SELECT * FROM unnest(CAST(:streams AS text[]), CAST(:versions AS int[]),
                     CAST(:counts AS int[]), CAST(:last_n AS int[]))
ON CONFLICT (stream_id) DO UPDATE
SET version = excluded.version, events = bench_projection.events + excluded.events,
    last_n = excluded.last_n
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


async def main() -> None:
    await ensure_database()
    engine = create_async_engine(DATABASE_URL, pool_size=4)
    async with engine.begin() as conn:
        await conn.run_sync(BACKBONE_METADATA.create_all)
    await fill(engine)
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS bench_projection"))
        await conn.execute(
            text(
                "CREATE TABLE bench_projection (stream_id text PRIMARY KEY, version int, "
                "events int, last_n int)"
            )
        )

    last_report = time.perf_counter()

    def progress(done: int, at: Position) -> None:
        nonlocal last_report
        if time.perf_counter() - last_report > 5:
            last_report = time.perf_counter()
            print(f"  replayed {done:,} events (at {at})", flush=True)

    started = time.perf_counter()
    applied = await rebuild_projection(
        engine,
        lambda page: apply_page(engine, page),
        progress=progress,
        store=EventStore(BENCH_CATALOGUE),
    )
    elapsed = time.perf_counter() - started
    async with engine.connect() as conn:
        total = (await conn.execute(text("SELECT sum(events) FROM bench_projection"))).scalar_one()
    await engine.dispose()
    if applied != EVENTS or total != EVENTS:
        raise RuntimeError(f"replayed {applied}, projected {total}, expected {EVENTS}")
    print(f"replayed {applied:,} events in {elapsed:.1f}s (target < 60 s)")
    print_table(
        "replay: rebuild_projection, 1 round (events/s)",
        "ev/s",
        [Result("rebuild_projection (batch 5000)", [applied / elapsed])],
        [],
    )


if __name__ == "__main__":
    asyncio.run(main())
