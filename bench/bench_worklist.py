"""The referrals waiting-list worklist over 50,000 referrals on PostgreSQL, at a steady rate,
beside a bare FastAPI endpoint and the same query by raw asyncpg, in the same run.

1. A fresh PostgreSQL database is migrated and its `referrals` read model seeded with
   REFERRALS synthetic referrals (what the projection writes: `referral_columns`, the
   wait's inputs as columns and the state as JSON), received over the last two years across
   the directory's services, about a quarter still waiting, some with appointments. The
   seed writes the read model directly, not through the event store: the worklist reads
   only the read model, and 50,000 commands would time the store, not the read.
2. Three contenders, each sent the same schedule open loop at RATE requests/s for SECONDS
   seconds per round, ROUNDS rounds taking turns (who goes first rotates); latency runs
   from each request's scheduled send time to its response read, so a request queued
   behind a slow one counts its wait; percentiles by nearest rank, medians over the rounds:
   - ``referrals service GET /v1/referrals``: the service under uvicorn in its own process
     (PostgreSQL, a private nats-server), a health clinician's token,
     `?status=open&order=weeks_waiting&limit=PAGE`, each request one of the first PAGES
     pages (their `after` positions read once before the rounds);
   - ``bare FastAPI GET (baseline)``: bench/_bare_app.py's `GET /v1/bare/page?limit=PAGE`
     in its own uvicorn process, a page of PAGE items of the worklist's shape serialised
     per request (no token, database or replica): the framework's floor for this response;
   - ``raw asyncpg, the same query (baseline)``: the service's page query (the same SQL,
     keyset and count) by asyncpg from the benchmark's process, no HTTP: the read's floor.
   The server CPU per request of each process is read from /proc. Target: the service's
   p99 < 50 ms at 50 requests/s.

    uv run python bench/bench_worklist.py
    # BENCH_PG_URL, BENCH_REFERRALS (50000), BENCH_RATE (50), BENCH_SECONDS (20),
    # BENCH_ROUNDS (3), BENCH_PAGES (5), BENCH_PAGE (50, the service's default page);
    # BENCH_QUICK=1: tiny sizes

Everything listens on 127.0.0.1; every loop is bounded; all data is synthetic.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import asyncpg
import httpx
import nats
from sqlalchemy import insert
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))

from _common import (
    QUICK,
    RawClient,
    Service,
    percentile,
    private_nats,
    service_env,
    service_process,
    setting,
    wait_ready,
)

from oneplan_events.streams import ensure_stream, service_stream
from oneplan_kit.auth import issue_dev_token
from oneplan_kit.db import create_engine
from oneplan_kit.migrations import ensure_database, upgrade
from oneplan_referrals.adapters.repository import referral_columns
from oneplan_referrals.adapters.tables import ReferralRow
from oneplan_referrals.bootstrap import SERVICE
from oneplan_referrals.config import ReferralsSettings
from oneplan_referrals.domain.directory import demo_directory_csv, parse_directory
from oneplan_referrals.domain.referral import (
    Appointment,
    AppointmentStatus,
    Referral,
    ReferralStatus,
)
from oneplan_referrals.events import Urgency

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
REFERRALS = setting("BENCH_REFERRALS", 50000, 2000)
RATE = setting("BENCH_RATE", 50, 20)
SECONDS = setting("BENCH_SECONDS", 20, 1)
ROUNDS = setting("BENCH_ROUNDS", 3, 1)
PAGES = setting("BENCH_PAGES", 5, 2)
PAGE = setting("BENCH_PAGE", 50, 50)
TODAY = date.today()
SERVICES = [entry.id for entry in parse_directory(demo_directory_csv()).listed()]

SERVICE_NAME = "referrals service GET /v1/referrals"
BARE = "bare FastAPI GET (baseline)"
RAW = "raw asyncpg, the same query (baseline)"

# The service's page query (adapters/repository.py, _waiting_list_query), by hand.
_COLUMNS = (
    "SELECT r.referral_id, r.child_id, r.service_id, d.name, r.referrer_agency, r.urgency, "
    "r.status, r.received_on, r.booked_dates, "
    "(SELECT count(*) FROM referrals WHERE referrals.waiting) AS total "
    "FROM referrals r LEFT OUTER JOIN directory_services d ON d.service_id = r.service_id "
)
FIRST_PAGE = _COLUMNS + "WHERE r.waiting ORDER BY r.received_on, r.referral_id LIMIT $1"
NEXT_PAGE = (
    _COLUMNS + "WHERE r.waiting AND (r.received_on, r.referral_id) > ($2, $3) "
    "ORDER BY r.received_on, r.referral_id LIMIT $1"
)


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A new PostgreSQL database (migrated by the seed), dropped afterwards."""
    base = make_url(PG_URL)
    name = f"bench_referrals_{uuid4().hex[:8]}"
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(
            user=base.username,
            password=base.password,
            host=base.host,
            port=base.port,
            database="postgres",
        )
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


# -- the data -------------------------------------------------------------------------------


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
                columns = referral_columns(synthetic_referral(rng))
                waiting += columns["waiting"]
                rows.append(columns)
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


# -- the schedule -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """One contender's round: latencies (s) from each scheduled send; server CPU per
    request (None: no server process)."""

    latencies: list[float]
    errors: int
    cpu_per_request: float | None

    def at(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000


async def open_loop(send: Callable[[int], Awaitable[bool]]) -> tuple[list[float], int]:
    """RATE requests/s for SECONDS; latencies from each scheduled time, and errors."""
    latencies: list[float] = []
    errors = 0
    interval = 1 / RATE
    start = time.perf_counter() + 0.05

    async def one(scheduled: float, n: int) -> None:
        nonlocal errors
        try:
            ok = await send(n)
        except (httpx.HTTPError, OSError, asyncio.IncompleteReadError):
            ok = False
        latencies.append(time.perf_counter() - scheduled)
        errors += not ok

    tasks = []
    for n in range(RATE * SECONDS):
        delay = start + n * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(start + n * interval, n)))
    await asyncio.gather(*tasks)
    return latencies, errors


async def measure(
    send: Callable[[int], Awaitable[bool]], server: Service | None, client: RawClient | None
) -> Figures:
    # Connections of the round's own: uvicorn closes a keep-alive connection idle for 5 s.
    if client is not None:
        await client.open()
    try:
        for n in range(20):  # warm-up, not timed
            await send(n)
        before = server.cpu_seconds() if server else 0.0
        latencies, errors = await open_loop(send)
        cpu = (server.cpu_seconds() - before) / len(latencies) if server else None
    finally:
        if client is not None:
            await client.close()
    return Figures(latencies, errors, cpu)


def describe(figures: Figures) -> str:
    cpu = (
        f", server CPU {figures.cpu_per_request * 1000:.2f} ms/request"
        if figures.cpu_per_request is not None
        else ""
    )
    return (
        f"p50 {figures.at(50):.1f} ms, p99 {figures.at(99):.1f} ms, max "
        f"{max(figures.latencies) * 1000:.1f} ms, errors {figures.errors}{cpu}"
    )


def print_medians(results: dict[str, list[Figures]]) -> None:
    def median(name: str, q: float) -> float:
        return statistics.median(figures.at(q) for figures in results[name])

    quick = " [BENCH_QUICK: tiny sizes, figures meaningless]" if QUICK else ""
    print(
        f"\nWorklist pages of {PAGE}, open loop at {RATE} requests/s for {SECONDS} s per round, "
        f"median of {ROUNDS} rounds, from each request's scheduled send{quick}"
    )
    header = ["p50 ms", "p99 ms", "max ms", "errors", "CPU ms/req"]
    print(f"{'contender':<42}" + "".join(f"{column:>12}" for column in header))
    for name, rounds in results.items():
        cpus = [f.cpu_per_request for f in rounds if f.cpu_per_request is not None]
        cells = [
            f"{median(name, 50):.1f}",
            f"{median(name, 99):.1f}",
            f"{statistics.median(max(f.latencies) for f in rounds) * 1000:.1f}",
            str(sum(f.errors for f in rounds)),
            f"{statistics.median(cpus) * 1000:.2f}" if cpus else "-",
        ]
        print(f"{name:<42}" + "".join(f"{cell:>12}" for cell in cells))
    verdict = "MET" if median(SERVICE_NAME, 99) < 50 else "MISSED"
    print(f"target {SERVICE_NAME} p99 < 50 ms at 50 requests/s: {verdict} (here at {RATE}/s)")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"machine load average {load} on {os.cpu_count()} cores")


def _port(service: Service) -> int:
    return int(service.url.rsplit(":", 1)[1])


def _position(after: str | None) -> tuple[date, UUID] | None:
    if after is None:
        return None
    day, referral_id = after.split("_", 1)
    return date.fromisoformat(day), UUID(referral_id)


async def main() -> None:
    with private_nats() as server, tempfile.TemporaryDirectory() as tmp:
        var_dir = Path(tmp)
        nc = await nats.connect(server.url)
        js = nc.jetstream(timeout=10)
        for name in ("consent", "children", "plans"):
            await ensure_stream(js, service_stream(name))
        async with fresh_database() as database:
            started = time.perf_counter()
            waiting = await seed(database)
            print(
                f"seeded {REFERRALS} referrals ({waiting} waiting) in "
                f"{time.perf_counter() - started:.1f} s; {RATE} requests/s for {SECONDS} s, "
                f"{ROUNDS} rounds, pages of {PAGE}"
            )
            env = service_env(server.url, var_dir, REFERRALS_DATABASE_URL=database)
            bare_env = {"PYTHONPATH": str(Path(__file__).parent)}
            dsn = database.replace("postgresql+asyncpg", "postgresql")
            limits = httpx.Limits(max_connections=64)
            with (
                service_process("oneplan_referrals.entrypoints.api", env, var_dir) as referrals,
                service_process("_bare_app", bare_env, var_dir) as bare,
            ):
                async with (
                    httpx.AsyncClient(limits=limits, timeout=60) as client,
                    asyncpg.create_pool(dsn, min_size=4, max_size=16) as pool,
                ):
                    await wait_ready(client, referrals.url)
                    settings = ReferralsSettings(var_dir=var_dir)
                    token = issue_dev_token(settings, "health", ["clinician"], [])
                    auth = {"Authorization": f"Bearer {token}"}
                    url = f"{referrals.url}/v1/referrals"  # the pages' positions, once
                    positions: list[str | None] = [None]
                    while len(positions) < PAGES:
                        params = {"limit": PAGE, **({"after": a} if (a := positions[-1]) else {})}
                        page = await client.get(url, params=params, headers=auth)
                        page.raise_for_status()
                        positions.append(page.json()["next"])

                    # The load generator shares the machine: a raw keep-alive client costs it
                    # a fraction of httpx's CPU per request (bench_decisions.RawClient).
                    paths = [
                        "/v1/referrals?status=open&order=weeks_waiting&limit="
                        + str(PAGE)
                        + (f"&after={after}" if after else "")
                        for after in positions
                    ]
                    header = f"Authorization: Bearer {token}\r\n"
                    service_client = RawClient("127.0.0.1", _port(referrals))
                    bare_client = RawClient("127.0.0.1", _port(bare))

                    async def http(n: int) -> bool:
                        status, body = await service_client.get(paths[n % PAGES], header)
                        return status == 200 and body.count(b'"referral_id"') == PAGE

                    async def floor(n: int) -> bool:
                        status, body = await bare_client.get(f"/v1/bare/page?limit={PAGE}", "")
                        return status == 200 and body.count(b'"referral_id"') == PAGE

                    async def raw(n: int) -> bool:
                        position = _position(positions[n % PAGES])
                        async with pool.acquire() as conn:
                            if position is None:
                                rows = await conn.fetch(FIRST_PAGE, PAGE)
                            else:
                                rows = await conn.fetch(NEXT_PAGE, PAGE, *position)
                        return len(rows) == PAGE

                    contenders = [
                        (SERVICE_NAME, http, referrals, service_client),
                        (BARE, floor, bare, bare_client),
                        (RAW, raw, None, None),
                    ]
                    results: dict[str, list[Figures]] = {name: [] for name, *_ in contenders}
                    for round_number in range(ROUNDS):
                        shift = round_number % len(contenders)
                        for name, send, process, raw_client in (
                            contenders[shift:] + contenders[:shift]
                        ):
                            figures = await measure(send, process, raw_client)
                            results[name].append(figures)
                            print(f"  round {round_number + 1}: {name}: {describe(figures)}")
            print_medians(results)
        await nc.close()


if __name__ == "__main__":
    asyncio.run(main())
