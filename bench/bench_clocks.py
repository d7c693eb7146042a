"""The plans service's statutory clocks: the pure engine per assessment, and the worklist query.

1. Engine: every clock of one assessment (5 advice requests, a closure, a personal-
   circumstances exception, a draft) computed ROUNDS x CALLS times with
   ``assessment_clocks``; the figure is the median time of one call over the rounds. Baseline:
   the same number of bare ``date + timedelta`` additions the clocks need (the floor of any
   date arithmetic). Target: < 1 ms per assessment.
2. Worklist: ASSESSMENTS open assessments (their clock rows written exactly as the projection
   writes them, in bulk) in a fresh PostgreSQL database, then ``clock_worklist(status=overdue,
   limit=100)`` (what ``GET /v1/clocks?status=overdue`` runs, without HTTP and the token check)
   sent open-loop at RATE queries/s for SECONDS seconds on a pool of 10; latency from each
   query's scheduled start to its rows read (nearest-rank percentiles). Target: p99 < 50 ms.

    uv run python bench/bench_clocks.py
    # BENCH_DATABASE_URL (a database named oneplan_bench_plans is created beside it),
    # BENCH_ROUNDS (5), BENCH_CALLS (2000), BENCH_ASSESSMENTS (10000), BENCH_RATE (50),
    # BENCH_SECONDS (10)

All data is synthetic; every loop is bounded.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from uuid import uuid4

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).parent))

from _common import DATABASE_URL, ensure_database, percentile

from oneplan_kit.db import create_sessionmaker
from oneplan_kit.migrations import upgrade
from oneplan_plans.adapters.repository import clock_worklist
from oneplan_plans.adapters.tables import ClockRow
from oneplan_plans.bootstrap import SERVICE
from oneplan_plans.domain.clock import (
    AdviceTimeline,
    AssessmentTimeline,
    ClockStatus,
    ExceptionKind,
    RecordedException,
    assessment_clocks,
)

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
CALLS = int(os.environ.get("BENCH_CALLS", "2000"))
ASSESSMENTS = int(os.environ.get("BENCH_ASSESSMENTS", "10000"))
RATE = float(os.environ.get("BENCH_RATE", "50"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
TODAY = date(2026, 9, 1)
PLANS_URL = make_url(DATABASE_URL).set(database="oneplan_bench_plans").render_as_string(False)


def timeline(rng: random.Random, received: date) -> AssessmentTimeline:
    agencies = ("health", "social_care", "educational_psychology", "school", "send")
    advice = [
        AdviceTimeline(
            uuid4(),
            agency,
            "education" if agency == "school" else agency,
            received + timedelta(days=36 + rng.randrange(5)),
            None if rng.random() < 0.5 else received + timedelta(days=70),
        )
        for agency in agencies
    ]
    exceptions = [
        RecordedException(
            uuid4(),
            ExceptionKind.SETTING_CLOSURE,
            received + timedelta(days=30),
            received + timedelta(days=70),
            "Closure.",
        ),
        RecordedException(
            uuid4(),
            ExceptionKind.EXCEPTIONAL_PERSONAL_CIRCUMSTANCES,
            received + timedelta(days=80),
            received + timedelta(days=90),
            "Illness.",
        ),
    ]
    return AssessmentTimeline(
        received,
        received + timedelta(days=35),
        True,
        advice=advice,
        exceptions=exceptions,
        draft_issued_on=received + timedelta(days=100),
    )


def bench_engine() -> None:
    sample = timeline(random.Random(1), date(2026, 3, 2))
    ours, floor = [], []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(CALLS):
            assessment_clocks(sample, TODAY)
        ours.append((time.perf_counter() - started) / CALLS)
        started = time.perf_counter()
        for _ in range(CALLS):
            day = sample.received_on
            for weeks in (6, 16, 20, 6, 6, 6, 6, 6):
                day + timedelta(weeks=weeks)
        floor.append((time.perf_counter() - started) / CALLS)
    print(
        "engine: assessment_clocks, one assessment (10 clocks): "
        f"median {statistics.median(ours) * 1e6:.1f} us"
    )
    print(f"  baseline: 8 bare date additions: median {statistics.median(floor) * 1e6:.2f} us")


async def bench_worklist() -> None:
    await ensure_database(PLANS_URL)
    engine = create_async_engine(PLANS_URL, pool_size=10, max_overflow=0)
    async with engine.begin() as conn:
        await conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        await conn.exec_driver_sql("CREATE SCHEMA public")
    await upgrade(SERVICE.migrations_location, engine)
    sessions = create_sessionmaker(engine)
    rng = random.Random(2)
    started = time.perf_counter()
    rows = []
    for _ in range(ASSESSMENTS):
        assessment_id, child_id = uuid4(), uuid4()
        received = TODAY - timedelta(days=rng.randrange(10, 160))
        for position, clock in enumerate(assessment_clocks(timeline(rng, received), received)):
            rows.append(
                {
                    "assessment_id": assessment_id,
                    "child_id": child_id,
                    "clock_key": f"advice:{clock.advice_request_id}"
                    if clock.advice_request_id
                    else clock.name.value,
                    "name": clock.name.value,
                    "kind": clock.kind.value,
                    "label": clock.label,
                    "regulation": clock.regulation,
                    "agency": clock.agency,
                    "advice_request_id": clock.advice_request_id,
                    "starts_on": clock.starts_on,
                    "statutory_due_on": clock.statutory_due_on,
                    "due_on": clock.due_on,
                    "met_on": clock.met_on,
                    "how": clock.how,
                    "position": position,
                }
            )
    async with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            await conn.execute(ClockRow.__table__.insert(), rows[start : start + 5000])
        await conn.exec_driver_sql("ANALYZE clocks")
    print(
        f"worklist: {ASSESSMENTS} assessments, {len(rows)} clock rows loaded in "
        f"{time.perf_counter() - started:.1f} s"
    )

    latencies: list[float] = []

    async def one(scheduled: float) -> None:
        async with sessions() as session:
            found = await clock_worklist(
                session, TODAY, status=ClockStatus.OVERDUE, agency=None, limit=100
            )
        assert found
        latencies.append(time.perf_counter() - scheduled)

    loop_start = time.perf_counter()
    tasks = []
    for n in range(int(RATE * SECONDS)):
        scheduled = loop_start + n / RATE
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    await engine.dispose()
    ms = [value * 1000 for value in latencies]
    print(
        f"  clock_worklist(status=overdue, limit=100) at {RATE:.0f}/s for {SECONDS:.0f} s: "
        f"p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms ({len(ms)} queries)"
    )


if __name__ == "__main__":
    bench_engine()
    asyncio.run(bench_worklist())
