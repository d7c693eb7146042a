"""Shared helpers of the benchmarks (the database and NATS they use, synthetic events, one
percentile function for every latency figure, the throughput table).

The benchmarks run against real servers: BENCH_DATABASE_URL (default: a throwaway database
``oneplan_bench`` on the local PostgreSQL, created when missing) and BENCH_NATS_URL (default
the local NATS). They are scripts, not tests; every loop is bounded.
"""

from __future__ import annotations

import math
import os
import statistics
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from oneplan_events.envelope import Envelope, dataschema_for
from oneplan_events.schema import BACKBONE_METADATA

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/oneplan_bench"
)
NATS_URL = os.environ.get("BENCH_NATS_URL", "nats://127.0.0.1:4222")
EVENT_TYPE = "oneplan.bench.item.recorded"


def asyncpg_dsn(url: str = DATABASE_URL) -> str:
    """The plain libpq DSN asyncpg and psycopg understand."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def ensure_database(url: str = DATABASE_URL) -> None:
    """Create the benchmark database when it does not exist yet."""
    parsed = make_url(url)
    admin = await asyncpg.connect(asyncpg_dsn(url.replace(f"/{parsed.database}", "/postgres")))
    try:
        exists = await admin.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", parsed.database
        )
        if not exists:
            await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await admin.close()


async def fresh_backbone(pool_size: int = 10) -> AsyncEngine:
    """An engine on the benchmark database with empty backbone tables."""
    await ensure_database()
    engine = create_async_engine(DATABASE_URL, pool_size=pool_size, max_overflow=0)
    async with engine.begin() as conn:
        await conn.run_sync(BACKBONE_METADATA.drop_all)
        await conn.run_sync(BACKBONE_METADATA.create_all)
    return engine


def envelope(stream_id: str, n: int, size: int = 200) -> Envelope:
    """A synthetic event of about ``size`` bytes of data (no real personal data)."""
    return Envelope(
        id=str(uuid.uuid4()),
        source="/oneplan/bench",
        type=EVENT_TYPE,
        time=datetime.now(UTC),
        data={"n": n, "note": "x" * size},
        subject=stream_id,
        dataschema=dataschema_for(EVENT_TYPE, 1),
        correlationid=str(uuid.uuid4()),
        dataclass="education",
    )


@dataclass(frozen=True)
class Result:
    """Per-round throughputs (operations per second) of one contender."""

    name: str
    rates: Sequence[float]

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank: every latency figure of every contender
    comes from this one function."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    # the smallest value with q% of the samples at or below it (the epsilon absorbs float error)
    rank = math.ceil(q * len(ordered) / 100 - 1e-9)
    return ordered[min(len(ordered), max(1, rank)) - 1]


def print_table(title: str, unit: str, results: Sequence[Result], baselines: Sequence[str]) -> None:
    """Print medians, every round, and each contender's ratio to every baseline."""
    by_name = {result.name: result for result in results}
    print(f"\n{title}")
    columns = [f"median {unit}", *(f"vs {baseline}" for baseline in baselines), "rounds"]
    widths = [max(14, len(column) + 2) for column in columns]
    print(f"{'contender':<40}" + "".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
    for result in results:
        cells = [f"{result.median:,.0f}"]
        cells += [f"{result.median / by_name[b].median:.2f}x" for b in baselines]
        cells.append(", ".join(f"{rate:,.0f}" for rate in result.rates))
        line = f"{result.name:<40}" + "".join(
            f"{c:>{w}}" for c, w in zip(cells[:-1], widths[:-1], strict=True)
        )
        print(f"{line}  {cells[-1]}")
