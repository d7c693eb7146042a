"""Consent decisions: embedded (SharingState, ConsentReplica) per second on one core, and
`POST /v1/decisions` latency at a steady request rate.

The requests are the realistic mix: every one crosses an agency boundary (owner != recipient;
a request about an agency's own data is answered without any lookup, so it is never drawn),
owners ask about the data classes they record (the SEND team: identity, story, education;
health, social care and transport: their own), recipients for the purposes they read for. Half
ask for something one of the child's consents covers, half for any pair of the mix, and 2% are
about children nobody consented for, which gives a mix of permits (by consent, override or
duty) and denials; the shares are printed.

1. Embedded: CHILDREN synthetic children (1-3 consents each, some overrides and duties) are
   published to a CONSENT stream on a private nats-server; a ConsentReplica catches up
   (catch-up time reported). Each contender then answers the same DECISIONS requests, in the
   same order, in one thread, ROUNDS times (contenders take turns, their order rotating each
   round); a rate is that count over the ``time.perf_counter`` time of the plain loop that asks
   them. Contenders: ``SharingState.decide``, ``ConsentReplica.decide``, and the baseline, a
   plain ``dict`` lookup of the same requests' precomputed answers (the floor of any Python
   decision). Target: >= 200,000 decisions/s (the services ask ConsentReplica.decide).
2. HTTP: the consent service (uvicorn subprocess, PostgreSQL, the same NATS) answers single
   decisions of the same mix sent open-loop at RATE requests/s for SECONDS seconds, each by a
   practitioner of the recipient agency; latency is measured from each request's scheduled
   send time to its response read (no coordinated omission). Target: p99 < 10 ms.

    uv run python bench/bench_decisions.py
    # BENCH_PG_URL, BENCH_CHILDREN (20000), BENCH_DECISIONS (500000), BENCH_ROUNDS (5),
    # BENCH_RATE (500), BENCH_SECONDS (20)

Everything listens on 127.0.0.1; every loop is bounded; all data is synthetic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import nats
from nats.js import JetStreamContext
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))

from _common import percentile

from oneplan_consent.config import ConsentSettings
from oneplan_events.catalogue import CATALOGUE, DataClass, Event
from oneplan_events.catalogue.consent import (
    CaptureMethod,
    ConsentCapacity,
    ConsentGiven,
    ConsentGiver,
    LawfulBasis,
    OverrideRecorded,
    Purpose,
    StatutoryDutyRecorded,
)
from oneplan_events.streams import ensure_stream, stream_for
from oneplan_kit import issue_dev_token
from oneplan_sharing import ConsentReplica, Decision, DecisionRequest, SharingState
from oneplan_testkit import NatsProcess
from oneplan_testkit.ports import free_port, wait_for_port

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
CHILDREN = int(os.environ.get("BENCH_CHILDREN", "20000"))
DECISIONS = int(os.environ.get("BENCH_DECISIONS", "500000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
RATE = int(os.environ.get("BENCH_RATE", "500"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))

# Who records which data class: the children and plans services record identity, the story
# and education as the SEND team; health, social care and transport keep their own records.
OWNED: dict[str, tuple[DataClass, ...]] = {
    "send": (DataClass.IDENTITY, DataClass.STORY, DataClass.EDUCATION),
    "health": (DataClass.HEALTH,),
    "social_care": (DataClass.SOCIAL_CARE,),
    "transport": (DataClass.TRANSPORT,),
}
# What each agency reads another agency's data for (schools read, they own nothing here).
READS_FOR: dict[str, tuple[Purpose, ...]] = {
    "send": (Purpose.EHC_ASSESSMENT, Purpose.PLAN_DELIVERY, Purpose.REVIEW),
    "school": (Purpose.PLAN_DELIVERY, Purpose.REVIEW),
    "health": (Purpose.HEALTH_CARE, Purpose.EHC_ASSESSMENT),
    "social_care": (Purpose.EARLY_HELP, Purpose.EHC_ASSESSMENT),
    "transport": (Purpose.TRANSPORT_PLANNING,),
}
AGENCIES = tuple(READS_FOR)
# Every cross-agency (owner, data class, recipient, purpose) of the mix.
MIX = [
    (owner, data_class, recipient, purpose)
    for owner, classes in OWNED.items()
    for data_class in classes
    for recipient in AGENCIES
    if recipient != owner
    for purpose in READS_FOR[recipient]
]
NOW = datetime.now(UTC)


# -- shared with bench_withdrawal ----------------------------------------------------------


@contextlib.contextmanager
def private_nats() -> Iterator[NatsProcess]:
    """A nats-server of the benchmark's own (fresh streams, nothing shared)."""
    server = NatsProcess().start()
    try:
        yield server
    finally:
        server.cleanup()


@contextlib.asynccontextmanager
async def fresh_databases(*prefixes: str) -> AsyncIterator[list[str]]:
    """New PostgreSQL databases (the services migrate them), dropped afterwards."""
    base = make_url(PG_URL)
    names = [f"bench_{prefix}_{uuid4().hex[:8]}" for prefix in prefixes]
    try:
        yield [base.set(database=name).render_as_string(hide_password=False) for name in names]
    finally:
        admin = await asyncpg.connect(
            user=base.username,
            password=base.password,
            host=base.host,
            port=base.port,
            database="postgres",
        )
        try:
            for name in names:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@dataclass(frozen=True)
class Service:
    """A service running in its own process."""

    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU the process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def service_process(module: str, env: dict[str, str], log_dir: Path) -> Iterator[Service]:
    """Run `<module>:create_app` under uvicorn in its own process (its own core)."""
    port = free_port()
    log = (log_dir / f"{module.split('.')[0]}.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"{module}:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        if not wait_for_port(port, 60):
            raise RuntimeError(f"{module} did not start; see {log.name}")
        yield Service(f"http://127.0.0.1:{port}", process.pid)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def service_env(nats_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """Environment shared by the benchmark's services (one dev signing key)."""
    return {
        "ONEPLAN_ENV": "development",
        "ONEPLAN_NATS_URL": nats_url,
        "ONEPLAN_VAR_DIR": str(var_dir),
        "ONEPLAN_LOG_LEVEL": "WARNING",
        **extra,
    }


async def wait_ready(client: httpx.AsyncClient, url: str, within: float = 60) -> None:
    """Until `/readyz` answers 200."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get(f"{url}/readyz")).status_code == 200:
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {within}s")


def token(var_dir: Path, agency: str, roles: Sequence[str], children: Sequence[Any] = ()) -> str:
    """A development token the benchmark's services accept."""
    settings = ConsentSettings(var_dir=var_dir)
    return issue_dev_token(settings, agency, roles, children)


async def publish_all(js: JetStreamContext, events: Sequence[Event]) -> None:
    """Publish events to their subjects, pipelined, and wait for every ack."""
    for start in range(0, len(events), 2000):
        acks = []
        for event in events[start : start + 2000]:
            envelope = CATALOGUE.envelope_for(event, source="/oneplan/consent", subject="bench")
            headers, body = envelope.to_nats()
            acks.append(await js.publish_async(envelope.type, body, headers=headers))
        await asyncio.gather(*acks)


# -- synthetic state ---------------------------------------------------------------------


def some(rng: random.Random, items: Sequence[Any], most: int) -> tuple[Any, ...]:
    """1 to ``most`` distinct items, in their given order."""
    chosen = set(rng.sample(range(len(items)), rng.randint(1, min(most, len(items)))))
    return tuple(item for i, item in enumerate(items) if i in chosen)


def synthetic_consent(rng: random.Random, child: UUID) -> ConsentGiven:
    """A consent as a family signs one: 1-2 owners' own data classes, to 1-3 other agencies,
    for purposes those agencies read for."""
    owners = some(rng, list(OWNED), 2)
    recipients = some(rng, [a for a in AGENCIES if a not in owners], 3)
    classes = [data_class for owner in owners for data_class in OWNED[owner]]
    purposes = list(dict.fromkeys(p for r in recipients for p in READS_FOR[r]))
    return ConsentGiven(
        consent_id=uuid4(),
        child_id=child,
        given_by=ConsentGiver(name="Bench Parent", capacity=ConsentCapacity.PARENT_WITH_PR),
        owner_agencies=owners,
        recipient_agencies=recipients,
        data_classes=some(rng, classes, 3),
        purposes=some(rng, purposes, 2),
        valid_from=NOW - timedelta(days=30),
        valid_until=NOW + timedelta(days=300),
        capture_method=CaptureMethod.SIGNED_FORM,
        recorded_by="bench",
        recorded_by_agency="send",
    )


def synthetic_events(rng: random.Random, children: list[UUID]) -> list[Event]:
    """1-3 consents per child; an override for 5% of them; a duty for 5%."""
    events: list[Event] = []
    for child in children:
        events.extend(synthetic_consent(rng, child) for _ in range(rng.randint(1, 3)))
        if rng.random() < 0.05:
            events.append(
                OverrideRecorded(
                    override_id=uuid4(),
                    child_id=child,
                    reason="bench",
                    lawful_basis=LawfulBasis.CHILDREN_ACT_1989_S47,
                    recipient_agencies=("social_care",),
                    data_classes=(DataClass.HEALTH,),
                    starts_at=NOW - timedelta(days=1),
                    ends_at=NOW + timedelta(days=29),
                    hide_from_family=False,
                    review_due_on=NOW.date(),
                    recorded_by="bench",
                    recorded_by_agency="social_care",
                )
            )
        if rng.random() < 0.05:
            events.append(
                StatutoryDutyRecorded(
                    duty_id=uuid4(),
                    child_id=child,
                    lawful_basis=LawfulBasis.COURT_ORDER,
                    description="bench",
                    owner_agencies=("health",),
                    recipient_agencies=("send",),
                    data_classes=(DataClass.HEALTH,),
                    purposes=(Purpose.EHC_ASSESSMENT,),
                    valid_from=NOW - timedelta(days=1),
                    recorded_by="bench",
                    recorded_by_agency="send",
                )
            )
    return events


def synthetic_requests(
    rng: random.Random, children: list[UUID], events: Sequence[Event], n: int
) -> list[DecisionRequest]:
    """``n`` cross-agency requests of the mix: 2% about children nobody consented for; of the
    rest, half for something one of the child's consents covers, half for any of MIX."""
    consents: dict[UUID, list[ConsentGiven]] = {}
    for event in events:
        if isinstance(event, ConsentGiven):
            consents.setdefault(event.child_id, []).append(event)
    unknown = [uuid4() for _ in range(max(1, len(children) // 50))]
    requests = []
    for _ in range(n):
        if rng.random() < 0.02:
            child, asked = rng.choice(unknown), rng.choice(MIX)
        else:
            child = rng.choice(children)
            covered = rng.random() < 0.5
            asked = covered_by(rng, rng.choice(consents[child])) if covered else rng.choice(MIX)
        owner, data_class, recipient, purpose = asked
        requests.append(DecisionRequest(child, owner, recipient, data_class, purpose, NOW))
    if any(r.owner_agency == r.recipient_agency for r in requests):
        raise AssertionError("an own-data request slipped into the mix")
    return requests


def covered_by(rng: random.Random, consent: ConsentGiven) -> tuple[str, DataClass, str, Purpose]:
    """Something ``consent`` covers, asked the way the mix asks it."""
    data_class = rng.choice(consent.data_classes)
    owner = rng.choice([o for o in consent.owner_agencies if data_class in OWNED[o]])
    purpose = rng.choice(consent.purposes)
    readers = [r for r in consent.recipient_agencies if purpose in READS_FOR[r]]
    return owner, data_class, rng.choice(readers or list(consent.recipient_agencies)), purpose


def rate_of(decide: Any, requests: list[DecisionRequest]) -> float:
    """Requests answered per second by ``decide``: the same loop for every contender."""
    started = time.perf_counter()
    for request in requests:
        decide(request)
    return len(requests) / (time.perf_counter() - started)


def describe_mix(decisions: Sequence[Decision]) -> str:
    """The shares of permits by basis and of denials."""
    kinds = Counter(d.basis if d.permit else "denied" for d in decisions)
    return ", ".join(f"{kind} {count / len(decisions):.1%}" for kind, count in kinds.most_common())


# -- 1. embedded -------------------------------------------------------------------------


async def embedded(js: JetStreamContext) -> None:
    rng = random.Random(7)
    children = [uuid4() for _ in range(CHILDREN)]
    events = synthetic_events(rng, children)
    requests = synthetic_requests(rng, children, events, DECISIONS)
    await ensure_stream(js, stream_for("consent"))
    await publish_all(js, events)

    started = time.perf_counter()
    # A long staleness bound: the timing loops below block the event loop for seconds, so the
    # freshness probe cannot run; with the default 5 s the replica would (rightly) fail closed
    # and answer "stale" at no cost, which would flatter the figure.
    replica = ConsentReplica(js, max_staleness=timedelta(hours=1))
    task = asyncio.create_task(replica.run())
    while not replica.ready:  # noqa: ASYNC110 - polling a plain flag of the replica
        await asyncio.sleep(0.01)
    catch_up = time.perf_counter() - started

    state = SharingState()
    state.apply_all(events)
    decisions = [state.decide(request) for request in requests]
    answers = dict(zip(requests, decisions, strict=True))
    if any(replica.decide(r) != d for r, d in zip(requests, decisions, strict=True)):
        raise AssertionError("the replica and SharingState disagree")

    baseline = "dict lookup of precomputed answers (baseline)"
    contenders: dict[str, Any] = {
        "SharingState.decide": state.decide,
        "ConsentReplica.decide": replica.decide,
        baseline: answers.__getitem__,
    }
    results: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_number in range(ROUNDS):
        # Every contender the same requests in the same order; who goes first rotates.
        for name in names[round_number % len(names) :] + names[: round_number % len(names)]:
            results[name].append(rate_of(contenders[name], requests))
        if not replica.ready:
            raise AssertionError("the replica went stale during the round: figures invalid")
    await replica.stop()
    await task

    print(
        f"\nEmbedded decisions: {CHILDREN:,} children, {len(events):,} consent events; "
        f"every contender {len(requests):,} cross-agency requests x {ROUNDS} rounds, one core"
    )
    print(f"  answers: {describe_mix(decisions)}")
    print(
        f"  replica catch-up from the stream: {catch_up:.2f} s "
        f"({len(events) / catch_up:,.0f} events/s)"
    )
    floor = statistics.median(results[baseline])
    for name, rates in results.items():
        median = statistics.median(rates)
        verdict = (
            ""
            if name == baseline
            else "  target >= 200,000/s: " + ("MET" if median >= 200_000 else "MISSED")
        )
        print(f"  {name:<48}{median:>12,.0f}/s  ({median / floor:.2f}x baseline){verdict}")


# -- 2. HTTP -----------------------------------------------------------------------------


async def http(nats_url: str, js: JetStreamContext) -> None:
    rng = random.Random(11)
    children = [uuid4() for _ in range(2000)]
    events = synthetic_events(rng, children)
    await publish_all(js, events)
    requests = synthetic_requests(rng, children, events, RATE * SECONDS)
    with tempfile.TemporaryDirectory() as tmp:
        var_dir = Path(tmp)
        async with fresh_databases("consent") as (database,):
            env = service_env(nats_url, var_dir, CONSENT_DATABASE_URL=database)
            with service_process("oneplan_consent.entrypoints.api", env, var_dir) as service:
                async with httpx.AsyncClient() as probe:
                    await wait_ready(probe, service.url)
                # Each request asked by a practitioner of its recipient agency.
                auth = {
                    agency: f"Authorization: Bearer {token(var_dir, agency, ['practitioner'])}\r\n"
                    for agency in AGENCIES
                }
                client = RawClient("127.0.0.1", int(service.url.rsplit(":", 1)[1]))
                await client.open()
                try:
                    await open_loop(client, auth, requests[: RATE * 2])  # warm-up, not reported
                    cpu_before = service.cpu_seconds()
                    latencies, errors = await open_loop(client, auth, requests)
                    cpu_per_request = (service.cpu_seconds() - cpu_before) / len(requests)
                finally:
                    await client.close()
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    print(
        f"\nHTTP POST /v1/decisions: {len(requests):,} cross-agency requests open-loop at "
        f"{RATE}/s for {SECONDS} s (consent service on PostgreSQL, own process), errors: {errors}"
    )
    print(
        "  consent service POST /v1/decisions, from scheduled send to response read: "
        f"p50 {p50 * 1000:.2f} ms   p90 {percentile(latencies, 90) * 1000:.2f} ms   "
        f"p99 {p99 * 1000:.2f} ms   max {max(latencies) * 1000:.2f} ms   "
        f"target p99 < 10 ms: {'MET' if p99 < 0.010 else 'MISSED'}"
    )
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"  server CPU per request {cpu_per_request * 1000:.2f} ms "
        f"({cpu_per_request * RATE:.0%} of a core at {RATE}/s); machine load average {load} "
        f"on {os.cpu_count()} cores"
    )


class RawClient:
    """A minimal HTTP/1.1 keep-alive client over asyncio streams (a pool of connections).

    Why not httpx here: the load generator shares the machine with the server, and httpx
    costs several times more CPU per request than the server's own work on this endpoint.
    """

    def __init__(self, host: str, port: int, size: int = 32) -> None:
        self._host, self._port, self._size = host, port, size
        self._pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )

    async def open(self) -> None:
        for _ in range(self._size):
            self._pool.put_nowait(await asyncio.open_connection(self._host, self._port))

    async def close(self) -> None:
        while not self._pool.empty():
            _, writer = self._pool.get_nowait()
            writer.close()

    async def post_json(self, path: str, body: bytes, headers: str) -> int:
        """POST ``body`` with ``headers`` (complete header lines); the response's status."""
        reader, writer = await self._pool.get()
        try:
            writer.write(
                f"POST {path} HTTP/1.1\r\nHost: {self._host}\r\n{headers}"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            return status
        finally:
            self._pool.put_nowait((reader, writer))


async def open_loop(
    client: RawClient, auth: dict[str, str], requests: list[DecisionRequest]
) -> tuple[list[float], int]:
    """Send each request at its scheduled time, as its recipient agency (``auth``: that
    agency's header line); latency counts from that time."""
    latencies: list[float] = []
    errors = 0
    interval = 1 / RATE
    start = time.perf_counter() + 0.05

    async def one(scheduled: float, request: DecisionRequest) -> None:
        nonlocal errors
        body = json.dumps(
            {
                "child_id": str(request.child_id),
                "owner_agency": request.owner_agency,
                "recipient_agency": request.recipient_agency,
                "data_class": request.data_class.value,
                "purpose": request.purpose.value,
            }
        ).encode()
        status = await client.post_json("/v1/decisions", body, auth[request.recipient_agency])
        latencies.append(time.perf_counter() - scheduled)
        if status != 200:
            errors += 1

    tasks = []
    for i, request in enumerate(requests):
        scheduled = start + i * interval
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled, request)))
    await asyncio.gather(*tasks)
    return latencies, errors


async def main() -> None:
    with private_nats() as server:
        nc = await nats.connect(server.url)
        js = nc.jetstream(timeout=10)
        try:
            await embedded(js)
            await http(server.url, js)
        finally:
            await nc.close()


if __name__ == "__main__":
    asyncio.run(main())
