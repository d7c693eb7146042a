"""The referrals waiting-list worklist over 50,000 referrals on PostgreSQL, at a steady rate.

1. A fresh PostgreSQL database is migrated and its `referrals` read model seeded with
   REFERRALS synthetic referrals (what the projection writes: the indexed columns and the
   referral's state as JSON), received over the last two years across the directory's
   services, about a third still waiting, some with appointments. The seed writes the read
   model directly, not through the event store: the worklist reads only the read model, and
   50,000 commands would time the store, not the read.
2. The referrals service runs under uvicorn in its own process (PostgreSQL, a private
   nats-server). `GET /v1/referrals?status=open&order=weeks_waiting&limit=100` (a health
   clinician's token) is sent open loop at RATE requests/s for SECONDS seconds, each request
   cycling through the first PAGES pages; latency is measured from each request's scheduled
   send time to its response read, so a request queued behind a slow one counts its wait.
   Target: p99 < 50 ms at 50 requests/s.
3. Baseline, the same schedule: the same page query by raw asyncpg (`SELECT ... WHERE waiting
   ORDER BY received_on, referral_id LIMIT 100 OFFSET n` and the count), no HTTP, no JSON of
   the waits: the floor of the read.

    uv run python bench/bench_worklist.py
    # BENCH_PG_URL, BENCH_REFERRALS (50000), BENCH_RATE (50), BENCH_SECONDS (20), BENCH_PAGES (5)

Everything listens on 127.0.0.1; every loop is bounded; all data is synthetic.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx
import nats
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).parent))

from _common import (
    Schedule,
    fresh_databases,
    open_loop,
    percentile,
    private_nats,
    service_env,
    service_process,
    token,
    wait_ready,
)

from oneplan_events.streams import ensure_stream, service_stream
from oneplan_kit.db import create_engine
from oneplan_kit.migrations import ensure_database, upgrade
from oneplan_referrals.adapters.repository import seen, state_json
from oneplan_referrals.adapters.tables import ReferralRow
from oneplan_referrals.bootstrap import SERVICE
from oneplan_referrals.domain.directory import demo_directory_csv, parse_directory
from oneplan_referrals.domain.referral import (
    Appointment,
    AppointmentStatus,
    Referral,
    ReferralStatus,
)
from oneplan_referrals.events import Urgency

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
REFERRALS = int(os.environ.get("BENCH_REFERRALS", "50000"))
RATE = int(os.environ.get("BENCH_RATE", "50"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
PAGES = int(os.environ.get("BENCH_PAGES", "5"))
PAGE = 100
COUNT = RATE * SECONDS
TODAY = date.today()
SERVICES = [entry.id for entry in parse_directory(demo_directory_csv()).listed()]


# -- the data and the schedule ------------------------------------------------------------


def synthetic_referral(rng: random.Random) -> Referral:
    received = TODAY - timedelta(days=rng.randrange(0, 730))
    status = rng.choices(
        [
            ReferralStatus.RECEIVED,
            ReferralStatus.ACCEPTED,
            ReferralStatus.DISCHARGED,
            ReferralStatus.DECLINED,
        ],
        weights=[1, 3, 4, 1],
    )[0]
    appointments: tuple[Appointment, ...] = ()
    if status in (ReferralStatus.ACCEPTED, ReferralStatus.DISCHARGED):
        on = received + timedelta(days=rng.randrange(14, 200))
        seen = on <= TODAY and rng.random() < 0.6
        appointments = (
            Appointment(
                uuid4(),
                received + timedelta(days=7),
                on,
                AppointmentStatus.ATTENDED if seen else AppointmentStatus.BOOKED,
            ),
        )
    return Referral(
        referral_id=uuid4(),
        child_id=uuid4(),
        service_id=rng.choice(SERVICES),
        referrer_agency=rng.choice(["school", "send", "health", "social_care"]),
        urgency=Urgency.ROUTINE,
        received_on=received,
        status=status,
        accepted_on=received + timedelta(days=7) if status is not ReferralStatus.RECEIVED else None,
        closed_on=TODAY if not status.open else None,
        appointments=appointments,
    )


async def seed(database: str) -> int:
    """Migrate and fill the read model; the number on the waiting list."""
    await ensure_database(database)
    engine = create_engine(database)
    await upgrade(SERVICE.migrations_location, engine)
    rng = random.Random(20260601)
    waiting = 0
    try:
        for start in range(0, REFERRALS, 5000):
            rows = []
            for _ in range(min(5000, REFERRALS - start)):
                referral = synthetic_referral(rng)
                is_waiting = referral.status.open and not seen(referral)
                waiting += is_waiting
                rows.append(
                    {
                        "referral_id": referral.referral_id,
                        "child_id": referral.child_id,
                        "service_id": referral.service_id,
                        "status": referral.status.value,
                        "open": referral.status.open,
                        "waiting": is_waiting,
                        "received_on": referral.received_on,
                        "state": state_json(referral),
                        "version": referral.version,
                    }
                )
            async with engine.begin() as conn:
                await conn.execute(insert(ReferralRow), rows)
    finally:
        await engine.dispose()
    # As autovacuum would have by now: statistics, and the visibility map that lets the
    # waiting-list count be an index-only scan.
    conn = await asyncpg.connect(database.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute("VACUUM ANALYZE referrals")
    finally:
        await conn.close()
    return waiting


def report(name: str, schedule: Schedule) -> None:
    latencies, errors, late = schedule.latencies, schedule.errors, schedule.late
    ms = [value * 1000 for value in latencies]
    print(
        f"{name:<55} p50 {statistics.median(ms):6.1f} ms  p99 {percentile(ms, 99):6.1f} ms  "
        f"max {max(ms):6.1f} ms  ({len(ms)} requests, {errors} errors, "
        f"latest start {late * 1000:.1f} ms)"
    )


async def main() -> None:
    with private_nats() as server, tempfile.TemporaryDirectory() as tmp:
        var_dir = Path(tmp)
        nc = await nats.connect(server.url)
        js = nc.jetstream(timeout=10)
        for name in ("consent", "children", "plans"):
            await ensure_stream(js, service_stream(name))
        async with fresh_databases("referrals", server=PG_URL) as (database,):
            started = time.perf_counter()
            waiting = await seed(database)
            print(
                f"seeded {REFERRALS} referrals ({waiting} waiting) in "
                f"{time.perf_counter() - started:.1f} s; {RATE} requests/s for {SECONDS} s"
            )
            env = service_env(server.url, var_dir, REFERRALS_DATABASE_URL=database)
            module = "oneplan_referrals.entrypoints.api"
            with service_process(module, env, var_dir) as service:
                limits = httpx.Limits(max_connections=64)
                async with httpx.AsyncClient(
                    base_url=service.url, limits=limits, timeout=60
                ) as client:
                    await wait_ready(client, service.url)
                    auth = {"Authorization": f"Bearer {token(var_dir, 'health', ['clinician'])}"}

                    async def http(n: int) -> bool:
                        params = {
                            "status": "open",
                            "order": "weeks_waiting",
                            "limit": PAGE,
                            "offset": (n % PAGES) * PAGE,
                        }
                        answer = await client.get("/v1/referrals", params=params, headers=auth)
                        return answer.status_code == 200 and len(answer.json()["items"]) == PAGE

                    for n in range(20):  # warm-up, not timed
                        await http(n)
                    report(
                        "referrals service GET /v1/referrals", await open_loop(http, COUNT, RATE)
                    )
            dsn = database.replace("postgresql+asyncpg", "postgresql")
            pool = await asyncpg.create_pool(dsn, min_size=4, max_size=16)
            try:

                async def raw(n: int) -> bool:
                    async with pool.acquire() as conn:
                        rows = await conn.fetch(
                            "SELECT referral_id, state FROM referrals WHERE waiting "
                            "ORDER BY received_on, referral_id LIMIT $1 OFFSET $2",
                            PAGE,
                            (n % PAGES) * PAGE,
                        )
                        await conn.fetchval("SELECT count(*) FROM referrals WHERE waiting")
                    return len(rows) == PAGE

                report(
                    "raw asyncpg, the same page and count (baseline)",
                    await open_loop(raw, COUNT, RATE),
                )
            finally:
                await pool.close()
        await nc.close()


if __name__ == "__main__":
    asyncio.run(main())
