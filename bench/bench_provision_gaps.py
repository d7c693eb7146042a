"""The provision-gaps worklist: `GET /v1/provision-gaps?setting=URN` for a school with 300
children on SEN support, on PostgreSQL, at a steady rate, beside a bare FastAPI endpoint.

1. A fresh PostgreSQL database is migrated and filled through the plans service's own
   handlers and projections (a unit of work per plan: the matrix published, each plan opened
   and its first cycle planned, some provision recorded as not delivered): CHILDREN plans at
   the school measured (URN 100001) and OTHER plans at the directory's other settings, so the
   worklist's table holds other schools' rows too. The checks run in the projection; the read
   is one indexed query of `provision_gaps` (`ix_provision_gaps_setting`).
2. The plans service runs under uvicorn in its own process (that database, a private
   nats-server), and bench/_bare_app.py in another. Each is sent `GET` open loop at RATE
   requests/s for SECONDS seconds per round, ROUNDS rounds taking turns: the plans service
   `GET /v1/provision-gaps?setting=100001` with a SEND caseworker's token, the bare endpoint
   `GET /v1/bare` (no token, no database). Latency runs from each request's scheduled send
   time to its response read; percentiles by nearest rank, medians over the rounds.
   Target: the worklist's p99 < 50 ms at 50 requests/s.

    uv run python bench/bench_provision_gaps.py
    # BENCH_DATABASE_URL (the server the throwaway database is made on), BENCH_CHILDREN (300),
    # BENCH_OTHER (1200), BENCH_RATE (50), BENCH_SECONDS (10), BENCH_ROUNDS (3);
    # BENCH_QUICK=1: tiny sizes

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
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx
import nats

sys.path.insert(0, str(Path(__file__).parent))

from _common import (
    QUICK,
    asyncpg_dsn,
    fresh_databases,
    open_loop,
    percentile,
    private_nats,
    service_env,
    service_process,
    setting,
    wait_ready,
)

from oneplan_events.clock import FixedClock
from oneplan_events.store import EventStore
from oneplan_events.streams import ensure_stream, service_stream
from oneplan_events.uow import UnitOfWork
from oneplan_kit.auth import issue_dev_token
from oneplan_kit.db import create_engine, create_sessionmaker
from oneplan_kit.migrations import ensure_database, upgrade
from oneplan_plans.adapters.support_repository import SUPPORT_PLANS
from oneplan_plans.bootstrap import SERVICE
from oneplan_plans.config import PlansSettings, load_directory, load_plan_types
from oneplan_plans.domain.provision_matrix import parse_matrix_yaml
from oneplan_plans.domain.support_commands import LineIn, NeedIn, OutcomeIn, RecordDelivery
from oneplan_plans.domain.support_vocabulary import AreaOfNeed, Tier
from oneplan_plans.service_layer import support_handlers as handlers

CHILDREN = setting("BENCH_CHILDREN", 300, 20)
OTHER = setting("BENCH_OTHER", 1200, 20)
RATE = setting("BENCH_RATE", 50, 20)
SECONDS = setting("BENCH_SECONDS", 10, 2)
ROUNDS = setting("BENCH_ROUNDS", 3, 1)
SCHOOL = "100001"
OTHERS = ("100002", "100003", "100004", "100009")
TODAY = date(2026, 9, 1)
CLOCK = FixedClock(datetime(2026, 9, 1, 10, tzinfo=UTC))
ENTRIES = {
    AreaOfNeed.COMMUNICATION_AND_INTERACTION: ("CI-U1", "CI-T1", "CI-S1"),
    AreaOfNeed.COGNITION_AND_LEARNING: ("CL-U1", "CL-T1", "CL-S1"),
    AreaOfNeed.SOCIAL_EMOTIONAL_MENTAL_HEALTH: ("SEMH-U1", "SEMH-T1", "SEMH-S1"),
    AreaOfNeed.SENSORY_AND_PHYSICAL: ("SP-U1", "SP-T1", "SP-S1"),
}
TIERS = (Tier.UNIVERSAL, Tier.TARGETED, Tier.SPECIALIST)

BARE = "bare FastAPI endpoint GET /v1/bare (baseline)"
GAPS = "plans service GET /v1/provision-gaps"


async def seed_plan(uow: UnitOfWork, rng: random.Random, urn: str) -> None:
    """One child's plan and first cycle: 1-3 needs, an outcome each, provision for most."""
    plan_id = uuid4()
    opened_on = TODAY - timedelta(days=rng.randrange(60, 400))
    await handlers.open_support_plan(
        uow,
        load_plan_types(None),
        load_directory(None),
        plan_id=plan_id,
        child_id=uuid4(),
        plan_type="sen_support",
        urn=urn,
        opened_on=opened_on,
        opened_by="senco-bench",
        opened_by_agency="school",
    )
    needs, outcomes, lines = [], [], []
    starts_on = opened_on + timedelta(days=7)
    for area in rng.sample(list(AreaOfNeed), rng.randint(1, 3)):
        tier = rng.choice(TIERS[:2])
        need, outcome = NeedIn(uuid4(), area, "A synthetic need.", tier), uuid4()
        needs.append(need)
        outcomes.append(OutcomeIn(outcome, "A synthetic outcome.", (need.need_id,)))
        if rng.random() < 0.7:  # else: a need without provision, an outcome without it
            entry = ENTRIES[area][TIERS.index(tier) + rng.choice((0, 0, -1 if tier else 0))]
            lines.append(LineIn(uuid4(), entry, "20 minutes", starts_on, outcome_ids=(outcome,)))
    await handlers.start_cycle(
        uow,
        plan_id,
        starts_on=starts_on,
        needs=tuple(needs),
        outcomes=tuple(outcomes),
        lines=tuple(lines),
        recorded_by="senco-bench",
        by_agency="school",
        views={"child_views": "Synthetic views."},
        expected_version=None,
    )
    if lines and rng.random() < 0.4:
        recorded_on = starts_on + timedelta(days=14)
        delivery = RecordDelivery(lines[0].line_id, recorded_on, False, "senco-bench", "school")
        await uow.execute(SUPPORT_PLANS, plan_id, delivery)


async def seed(database: str) -> tuple[int, float]:
    """Migrate and fill through the service's handlers; the school's gap rows, the seconds."""
    started = time.perf_counter()
    await ensure_database(database)
    engine = create_engine(database)
    await upgrade(SERVICE.migrations_location, engine)
    sessions = create_sessionmaker(engine)
    store = EventStore(SERVICE.catalogue)
    rng = random.Random(20260901)
    try:
        text = files("oneplan_plans").joinpath("data/provision_matrix.yaml").read_text()
        async with UnitOfWork(sessions, store, source=SERVICE.source, clock=CLOCK) as uow:
            await handlers.publish_matrix(
                uow,
                effective_from=date(2024, 9, 1),
                title="Synthetic matrix",
                entries=parse_matrix_yaml(text),
                published_by="manager-bench",
                expected_version=None,
            )
            await uow.commit()
        settings = [SCHOOL] * CHILDREN + [OTHERS[i % len(OTHERS)] for i in range(OTHER)]
        rng.shuffle(settings)
        for urn in settings:
            async with UnitOfWork(sessions, store, source=SERVICE.source, clock=CLOCK) as uow:
                await seed_plan(uow, rng, urn)
                await uow.commit()
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(asyncpg_dsn(database))
    try:
        await conn.execute("VACUUM ANALYZE")  # as autovacuum would have by now
        gaps = await conn.fetchval(
            "SELECT sum(gaps) FROM provision_gaps WHERE setting_urn = $1", SCHOOL
        )
        plan = await conn.fetch(
            "EXPLAIN ANALYZE SELECT child_id, gaps, document FROM provision_gaps "
            "WHERE setting_urn = $1 ORDER BY child_id, plan_id",
            SCHOOL,
        )
        print("  query plan: " + " | ".join(row[0].strip() for row in plan[:2]))
        print("  " + plan[-1][0])
    finally:
        await conn.close()
    return int(gaps), time.perf_counter() - started


def describe(latencies: list[float], errors: int) -> str:
    ms = [value * 1000 for value in latencies]
    return (
        f"p50 {statistics.median(ms):6.2f} ms, p99 {percentile(ms, 99):6.2f} ms, "
        f"max {max(ms):7.2f} ms, errors {errors}"
    )


async def main() -> None:
    with private_nats() as server, tempfile.TemporaryDirectory() as tmp:
        var_dir = Path(tmp)
        nc = await nats.connect(server.url)
        js = nc.jetstream(timeout=10)
        for name in ("consent", "children", "referrals"):
            await ensure_stream(js, service_stream(name))
        await nc.close()
        async with fresh_databases("plans") as (database,):
            gaps, seconds = await seed(database)
            print(
                f"seeded {CHILDREN} plans at {SCHOOL} ({gaps} gaps) and {OTHER} elsewhere in "
                f"{seconds:.1f} s; {RATE} requests/s for {SECONDS} s, {ROUNDS} rounds"
            )
            env = service_env(server.url, var_dir, PLANS_DATABASE_URL=database)
            bare_env = {"PYTHONPATH": str(Path(__file__).parent)}
            with (
                service_process("_bare_app", bare_env, var_dir) as bare,
                service_process("oneplan_plans.entrypoints.api", env, var_dir) as plans,
            ):
                limits = httpx.Limits(max_connections=64)
                async with httpx.AsyncClient(limits=limits, timeout=60) as client:
                    await wait_ready(client, plans.url)
                    token = issue_dev_token(PlansSettings(var_dir=var_dir), "send", ["caseworker"])
                    auth = {"Authorization": f"Bearer {token}"}
                    url = f"{plans.url}/v1/provision-gaps"

                    async def worklist(n: int) -> bool:
                        answer = await client.get(url, params={"setting": SCHOOL}, headers=auth)
                        return answer.status_code == 200 and len(answer.content) == size

                    first = await client.get(url, params={"setting": SCHOOL}, headers=auth)
                    assert first.json()["gaps"] == gaps, first.text[:300]
                    size = len(first.content)
                    print(f"  the worklist: {size:,} bytes, {len(first.json()['plans'])} plans")

                    async def baseline(n: int) -> bool:
                        return (await client.get(f"{bare.url}/v1/bare")).status_code == 200

                    for n in range(20):  # warm-up, not timed
                        await worklist(n)
                        await baseline(n)
                    results: dict[str, list[tuple[list[float], int]]] = {BARE: [], GAPS: []}
                    contenders = [(BARE, baseline), (GAPS, worklist)]
                    for round_number in range(ROUNDS):
                        order = contenders[round_number % 2 :] + contenders[: round_number % 2]
                        for name, send in order:
                            run = await open_loop(send, int(RATE * SECONDS), RATE)
                            latencies, errors = run.latencies, run.errors
                            results[name].append((latencies, errors))
                            print(
                                f"  round {round_number + 1}: {name}: {describe(latencies, errors)}"
                            )
    report(results)


def report(results: dict[str, list[tuple[list[float], int]]]) -> None:
    def median(name: str, q: float) -> float:
        return statistics.median(percentile(r[0], q) * 1000 for r in results[name])

    quick = " [BENCH_QUICK: tiny sizes, figures meaningless]" if QUICK else ""
    print(f"\nopen loop at {RATE} requests/s, median of {ROUNDS} rounds{quick}")
    print(f"{'contender':<48}{'p50 ms':>10}{'p99 ms':>10}{'p99 vs bare':>13}{'errors':>8}")
    for name in (BARE, GAPS):
        errors = sum(r[1] for r in results[name])
        ratio = median(name, 99) / median(BARE, 99)
        print(
            f"{name:<48}{median(name, 50):>10.2f}{median(name, 99):>10.2f}"
            f"{ratio:>12.1f}x{errors:>8}"
        )
    verdict = "MET" if median(GAPS, 99) < 50 else "MISSED"
    print(f"target {GAPS} p99 < 50 ms at 50 requests/s: {verdict}")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"machine load average {load} on {os.cpu_count()} cores")


if __name__ == "__main__":
    asyncio.run(main())
