"""Transport cases opened from issued plans: a burst, and the latency at a steady rate.

The transport service runs in-process (its app and lifespan: migrations, the relay, its
consumers on every partition of PLANS, the consent replica) on PostgreSQL and a nats-server.

- **Burst**: PLANS issued plans (default 10,000: a county's September, several times over)
  are published at once, pipelined; timed from the first publish until every case is in the
  worklist table, then checked: exactly one case per plan, exactly one `case.opened` event
  each. Baseline in the same run: raw nats-py `fetch(200)` + `ack` of the same messages from
  the same stream, nothing else. Target: every case within 10 s on the 2-core machine.
- **Latency**: an open loop of plans at RATE per second (default 20) for SECONDS (default 10):
  from each plan's *scheduled* publish to the arrival of its `oneplan.transport.case.opened`
  on the TRANSPORT stream (an ordered consumer): so after the case's commit and the relay's
  publish, an upper bound of "visible". p50, p99 and the maximum (nearest rank). Target: p99
  under 1 s.

    uv run python bench/bench_transport_cases.py
    # BENCH_DATABASE_URL (default: oneplan_bench_transport on the local PostgreSQL, dropped
    # and created each run), BENCH_NATS_URL (default: the wheel's nats-server started here,
    # never a system one), BENCH_PLANS, BENCH_RATE, BENCH_SECONDS, BENCH_LOG_LEVEL (WARNING)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import nats
from nats.js import JetStreamContext
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))

from _common import asyncpg_dsn, percentile

from oneplan_events.envelope import Envelope, dataschema_for
from oneplan_events.schema import event_store
from oneplan_events.streams import ensure_stream, service_stream
from oneplan_kit import Runtime, create_app
from oneplan_testkit import NatsProcess
from oneplan_transport.adapters.tables import CaseRow
from oneplan_transport.bootstrap import SERVICE
from oneplan_transport.config import TransportSettings

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/oneplan_bench_transport"
)
NATS_URL = os.environ.get("BENCH_NATS_URL")
PLANS = int(os.environ.get("BENCH_PLANS", "10000"))
RATE = float(os.environ.get("BENCH_RATE", "20"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
ISSUED = "oneplan.plans.plan.issued"


def plan_issued() -> Envelope:
    """A synthetic plan naming a setting, as the plans service's contract has it."""
    child_id, plan_id = uuid.uuid4(), uuid.uuid4()
    data = {
        "plan_id": str(plan_id),
        "assessment_id": str(uuid.uuid4()),
        "child_id": str(child_id),
        "issued_on": "2026-09-01",
        "setting": {"name": "Brook Green School", "urn": "123456", "type": "state_special"},
        "start_date": "2026-09-21",
        "next_review_due_on": "2027-09-01",
    }
    return Envelope(
        id=str(uuid.uuid4()),
        source="/oneplan/plans",
        type=ISSUED,
        time=datetime.now(UTC),
        data=data,
        subject=f"plan/{plan_id}",
        dataschema=dataschema_for(ISSUED, 1),
        childid=str(child_id),
        dataclass="education",
        streamversion=1,
    )


async def fresh_database() -> None:
    name = make_url(DATABASE_URL).database
    admin = await asyncpg.connect(asyncpg_dsn(DATABASE_URL.replace(f"/{name}", "/postgres")))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def publish_all(js: JetStreamContext, envelopes: list[Envelope]) -> None:
    """Pipelined, every ack awaited."""
    window: list[asyncio.Future[Any]] = []
    for envelope in envelopes:
        headers, body = envelope.to_nats()
        window.append(await js.publish_async(envelope.nats_subject, body, headers=headers))
        if len(window) >= 1000:
            await asyncio.gather(*window)
            window.clear()
    await asyncio.gather(*window)


async def counts(runtime: Runtime) -> tuple[int, int]:
    async with runtime.sessionmaker() as session:
        cases = await session.scalar(select(func.count()).select_from(CaseRow))
        opened = await session.scalar(
            select(func.count())
            .select_from(event_store)
            .where(event_store.c.type == "oneplan.transport.case.opened")
        )
    return int(cases or 0), int(opened or 0)


async def burst(js: JetStreamContext, runtime: Runtime) -> tuple[float, float]:
    envelopes = [plan_issued() for _ in range(PLANS)]
    started = time.perf_counter()
    await publish_all(js, envelopes)
    published = time.perf_counter() - started
    while (await counts(runtime))[0] < PLANS:
        if time.perf_counter() - started > 300:
            raise RuntimeError(f"only {await counts(runtime)} of {PLANS} cases after 300 s")
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    await asyncio.sleep(1.0)  # time for a stray second case to show, if there were one
    cases, opened = await counts(runtime)
    if (cases, opened) != (PLANS, PLANS):
        raise RuntimeError(f"{cases} cases and {opened} case.opened events for {PLANS} plans")
    print(f"  published {PLANS:,} plans in {published:.2f} s")
    print(f"  every case open after {elapsed:.2f} s ({PLANS / elapsed:,.0f} cases/s), once each")
    return elapsed, published


async def raw_fetch_ack(js: JetStreamContext) -> float:
    """The same messages again, fetched and acknowledged by plain nats-py."""
    subscription = await js.pull_subscribe(f"{ISSUED}.>", durable="bench_raw", stream="PLANS")
    started = time.perf_counter()
    handled = 0
    while handled < PLANS:
        for message in await subscription.fetch(200, timeout=5):
            await message.ack()
            handled += 1
    elapsed = time.perf_counter() - started
    await subscription.unsubscribe()
    return elapsed


async def latency(js: JetStreamContext) -> list[float]:
    """Open loop at RATE: scheduled publish -> case.opened on TRANSPORT."""
    scheduled: dict[str, float] = {}
    arrived: dict[str, float] = {}
    total = int(RATE * SECONDS)
    everyone = asyncio.Event()

    async def on_opened(message: Any) -> None:
        child = json.loads(message.data)["child_id"]
        arrived.setdefault(child, time.perf_counter())
        if len(arrived) >= total:
            everyone.set()

    watcher = await js.subscribe(
        "oneplan.transport.case.opened.>",
        stream="TRANSPORT",
        ordered_consumer=True,
        cb=on_opened,
        deliver_policy=nats.js.api.DeliverPolicy.NEW,
    )
    start = time.perf_counter() + 0.1
    late = 0
    for index in range(total):
        due = start + index / RATE
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            late += 1
        envelope = plan_issued()
        scheduled[envelope.data["child_id"]] = due
        headers, body = envelope.to_nats()
        await js.publish(envelope.nats_subject, body, headers=headers)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(everyone.wait(), timeout=30)
    await watcher.unsubscribe()
    if len(arrived) < total:
        raise RuntimeError(f"only {len(arrived)} of {total} cases opened within 30 s")
    print(f"  {total} plans at {RATE:g}/s ({late} publishes started late)")
    return [arrived[child] - due for child, due in scheduled.items()]


async def main() -> None:
    server = None
    url = NATS_URL
    if url is None:
        server = NatsProcess().start()
        url = server.url
    await fresh_database()
    folder = Path(tempfile.mkdtemp(prefix="bench-transport-"))
    nc = await nats.connect(url)
    js = nc.jetstream(timeout=10)
    for name in ("plans", "children", "consent"):
        await ensure_stream(js, service_stream(name))
    settings = TransportSettings(
        database_url=DATABASE_URL,
        nats_url=url,
        var_dir=folder,
        dev_signing_key=folder / "key.pem",
        log_level=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
    )
    app = create_app(SERVICE, settings)
    try:
        async with app.router.lifespan_context(app):
            runtime: Runtime = app.state.runtime
            print(f"transport cases benchmark: {PLANS:,} plans at once, then {RATE:g}/s")
            elapsed, _ = await burst(js, runtime)
            raw = await raw_fetch_ack(js)
            print(
                f"  raw nats-py fetch+ack of the same {PLANS:,}: {raw:.2f} s ({PLANS / raw:,.0f}/s)"
            )
            delays = await latency(js)
    finally:
        await nc.close()
        if server is not None:
            server.cleanup()
    print(f"\n{'contender':<44}{'seconds':>9}{'per second':>14}")
    for name, seconds in (
        ("OnePlan transport: burst to every case open", elapsed),
        ("raw nats-py fetch+ack (baseline)", raw),
    ):
        print(f"{name:<44}{seconds:>9.2f}{PLANS / seconds:>14,.0f}")
    print(
        f"\nplan issued -> case.opened on TRANSPORT at {RATE:g}/s: "
        f"p50 {percentile(delays, 50) * 1000:.0f} ms, p99 {percentile(delays, 99) * 1000:.0f} ms, "
        f"max {max(delays) * 1000:.0f} ms (target p99 < 1000 ms)"
    )
    print(f"burst target: every case within 10 s: {'met' if elapsed <= 10 else 'NOT met'}")


if __name__ == "__main__":
    asyncio.run(main())
