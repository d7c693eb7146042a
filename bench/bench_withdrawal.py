"""Withdrawal takes effect everywhere quickly: from the withdrawal's 200 response to the moment
the children service refuses the child's story to the recipient agency.

The consent service runs in its own process; the children service runs in this process (so
the benchmark can see the instant its consent replica applies each withdrawal); both on
PostgreSQL and a private nats-server. For each of WITHDRAWALS children (registered, parent
with parental responsibility, story told, consent send -> health for story/health_care): a
reader keeps asking for the story as health; the consent is withdrawn; latency runs from the
withdrawal's 200 to the end of the first refused (403) read that started after it.
Target: p99 < 250 ms. Also asserted: no read that started after the children service's
replica applied the withdrawal returned the story.

    uv run python bench/bench_withdrawal.py
    # BENCH_DATABASE_URL (the server the services' throwaway databases are made on),
    # BENCH_NATS_URL, BENCH_WITHDRAWALS (50); BENCH_QUICK=1: 5 withdrawals

Everything listens on 127.0.0.1; every loop is bounded; all data is synthetic.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

sys.path.insert(0, str(Path(__file__).parent))

from _common import (
    QUICK,
    bench_nats,
    fresh_databases,
    percentile,
    service_env,
    service_process,
    setting,
    token,
    wait_ready,
)

from oneplan_children.config import ChildrenSettings
from oneplan_children.entrypoints.api import create_app as create_children_app
from oneplan_events.envelope import Envelope
from oneplan_kit import Runtime
from oneplan_testkit.ports import free_port

WITHDRAWALS = setting("BENCH_WITHDRAWALS", 50, 5)
STORY_MARKER = "bench-story-marker"
READS_AFTER_REFUSAL = 3


@dataclass(frozen=True)
class Read:
    started: float
    ended: float
    status: int
    has_story: bool


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve `app` with uvicorn in this process on a free port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            if task.done() or time.monotonic() > deadline:
                raise RuntimeError("the children service did not start")
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def until_ok(request: Any, accept: Any, within: float = 30) -> httpx.Response:
    deadline = time.monotonic() + within
    while True:
        response: httpx.Response = await request()
        if accept(response):
            return response
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up: {response.status_code} {response.text[:300]}")
        await asyncio.sleep(0.05)


def not_learned_yet(response: httpx.Response) -> bool:
    """False while the consent service has not yet learned the child or its parent (it learns
    them from the children service's events)."""
    if response.status_code == 404:
        return False
    if response.status_code == 422:
        locations = [e["location"] for e in response.json().get("errors", [])]
        return ["body", "given_by", "person_id"] not in locations
    return True


class Journey:
    """The HTTP calls a partner agency makes."""

    def __init__(self, client: httpx.AsyncClient, children: str, consent: str, var: Path):
        self.client, self.children, self.consent = client, children, consent
        self.send = {"Authorization": f"Bearer {token(var, 'send', ['caseworker'])}"}
        self.health = {"Authorization": f"Bearer {token(var, 'health', ['practitioner'])}"}

    async def child_with_consent(self, n: int) -> tuple[str, str]:
        born = date(date.today().year - 9, 1, 1) + timedelta(days=n)
        child = await self.client.post(
            f"{self.children}/v1/children",
            json={
                "given_name": "Bench",
                "family_name": f"Child{n}",
                "date_of_birth": born.isoformat(),
            },
            headers=self.send,
        )
        child.raise_for_status()
        child_id = child.json()["child_id"]
        parent = await self.client.post(
            f"{self.children}/v1/children/{child_id}/family-members",
            json={
                "given_name": "Bench",
                "family_name": "Parent",
                "relationship": "parent",
                "parental_responsibility": True,
            },
            headers={**self.send, "If-Match": child.headers["etag"]},
        )
        parent.raise_for_status()
        story = {
            "like_and_admire": {
                "text": STORY_MARKER,
                "author": {"name": "Bench", "role": "child"},
                "told_on": date.today().isoformat(),
            }
        }
        told = await self.client.put(
            f"{self.children}/v1/children/{child_id}/story",
            json=story,
            headers={**self.send, "If-Match": parent.headers["etag"]},
        )
        told.raise_for_status()
        body = {
            "given_by": {
                "person_id": parent.json()["member_id"],
                "name": "Bench Parent",
                "capacity": "parent_with_pr",
            },
            "owner_agencies": ["send"],
            "recipient_agencies": ["health"],
            "data_classes": ["story"],
            "purposes": ["health_care"],
            "valid_until": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
            "capture_method": "signed_form",
        }
        given = await until_ok(
            lambda: self.client.post(
                f"{self.consent}/v1/children/{child_id}/consents", json=body, headers=self.send
            ),
            not_learned_yet,
        )
        given.raise_for_status()
        return child_id, given.json()["consent_id"]

    async def read_story(self, child_id: str) -> Read:
        started = time.perf_counter()
        response = await self.client.get(
            f"{self.children}/v1/children/{child_id}/story",
            params={"purpose": "health_care"},
            headers=self.health,
        )
        return Read(
            started, time.perf_counter(), response.status_code, STORY_MARKER in response.text
        )

    async def withdraw(self, consent_id: str) -> float:
        response = await self.client.post(
            f"{self.consent}/v1/consents/{consent_id}/withdrawal", json={}, headers=self.send
        )
        response.raise_for_status()
        return time.perf_counter()


async def measure_one(
    journey: Journey, child_id: str, consent_id: str, applied: dict[str, float]
) -> tuple[float, list[Read], float]:
    """Withdraw while a reader reads; (latency, reads, when the replica applied it)."""
    reads: list[Read] = []
    withdrawn_at: list[float] = []

    async def reader() -> None:
        deadline = time.perf_counter() + 10
        refused = 0
        # Read on for a few refusals more: each is one more check that nothing leaks after.
        while time.perf_counter() < deadline and refused < 1 + READS_AFTER_REFUSAL:
            read = await journey.read_story(child_id)
            reads.append(read)
            if withdrawn_at and read.started > withdrawn_at[0] and read.status == 403:
                refused += 1

    task = asyncio.create_task(reader())
    await asyncio.sleep(0.02)
    withdrawn_at.append(await journey.withdraw(consent_id))
    await asyncio.wait_for(task, 15)
    refused = next(r for r in reads if r.started > withdrawn_at[0] and r.status == 403)
    deadline = time.perf_counter() + 5
    while consent_id not in applied and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    return refused.ended - withdrawn_at[0], reads, applied[consent_id]


async def main() -> None:
    async with bench_nats() as nats_url:
        with tempfile.TemporaryDirectory() as tmp:
            await journeys(nats_url, Path(tmp))


async def journeys(nats_url: str, var: Path) -> None:
    async with fresh_databases("children", "consent") as (children_db, consent_db):
        env = service_env(nats_url, var, CONSENT_DATABASE_URL=consent_db)
        settings = ChildrenSettings(
            database_url=children_db, nats_url=nats_url, var_dir=var, log_level="WARNING"
        )
        app = create_children_app(settings)
        with service_process("oneplan_consent.entrypoints.api", env, var) as service:
            consent = service.url
            async with serving(app) as children, httpx.AsyncClient(timeout=30) as client:
                await wait_ready(client, consent)
                await wait_ready(client, children)
                await run(Journey(client, children, consent, var), app.state.runtime)


async def run(journey: Journey, runtime: Runtime) -> None:
    replica = runtime.replica
    assert replica is not None
    applied: dict[str, float] = {}

    def on_applied(envelope: Envelope, _seq: int) -> None:
        if envelope.type == "oneplan.consent.consent.withdrawn":
            applied[str(envelope.data["consent_id"])] = time.perf_counter()

    replica.on_applied(on_applied)
    pairs = [await journey.child_with_consent(n) for n in range(WITHDRAWALS)]
    for child_id, _ in pairs:
        await until_ok(
            lambda c=child_id: journey.read_story(c),  # type: ignore[misc]
            lambda r: r.status == 200,
        )
    latencies: list[float] = []
    violations = 0
    reads_after_applied = 0
    for child_id, consent_id in pairs:
        latency, reads, applied_at = await measure_one(journey, child_id, consent_id, applied)
        latencies.append(latency)
        after = [r for r in reads if r.started >= applied_at]
        reads_after_applied += len(after)
        violations += sum(1 for r in after if r.status != 403 or r.has_story)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    quick = " [BENCH_QUICK: tiny sizes, figures meaningless]" if QUICK else ""
    print(
        f"\nWithdrawal -> children service refuses the story to health: {len(latencies)} "
        f"withdrawals (services on PostgreSQL + NATS){quick}"
    )
    print(
        f"  p50 {p50 * 1000:.1f} ms   p90 {percentile(latencies, 90) * 1000:.1f} ms   "
        f"p99 {p99 * 1000:.1f} ms   max {max(latencies) * 1000:.1f} ms   "
        f"target p99 < 250 ms: {'MET' if p99 < 0.250 else 'MISSED'}"
    )
    print(
        f"  reads started after the replica applied the withdrawal: {reads_after_applied}, "
        f"of which returned the story: {violations}"
    )
    if violations:
        raise SystemExit("FAILED: a read after the withdrawal was applied released the story")


if __name__ == "__main__":
    asyncio.run(main())
