"""Consent decisions: embedded (SharingState, ConsentReplica) per second on one core, and
HTTP latency at a steady request rate: ``POST /v1/decisions``, a children command
(``POST /v1/children``) and a bare FastAPI endpoint, in the same run.

The requests are the realistic mix: every one crosses an agency boundary (owner != recipient;
a request about an agency's own data is answered without any lookup, so it is never drawn),
owners ask about the data classes they record (the SEND team: identity, story, education;
health, social care and transport: their own), recipients for the purposes they read for. Half
ask for something one of the child's consents covers, half for any pair of the mix, and 2% are
about children nobody consented for, which gives a mix of permits (by consent, override or
duty) and denials; the shares are printed.

1. Embedded: CHILDREN synthetic children (1-3 consents each, some overrides and duties) are
   published to the CONSENT stream as the consent service's relay would; a ConsentReplica
   catches up (catch-up time reported). Each contender then answers the same DECISIONS
   requests, in the same order, in one thread, ROUNDS times (contenders take turns, their order
   rotating each round); a rate is that count over the ``time.perf_counter`` time of the plain
   loop that asks them. Contenders: ``SharingState.decide``, ``ConsentReplica.decide``, and the
   baseline, a plain ``dict`` lookup of the same requests' precomputed answers (the floor of
   any Python decision). Target: >= 200,000 decisions/s (the services ask
   ConsentReplica.decide).
2. HTTP: three contenders, each in its own uvicorn process (its own core), each sent the same
   number of requests open loop at RATE requests/s for SECONDS seconds per round, HTTP_ROUNDS
   rounds taking turns; latency runs from each request's scheduled send time to its response
   read (no coordinated omission), percentiles by nearest rank, medians over the rounds:
   - ``bare FastAPI endpoint (baseline)``: bench/_bare_app.py, a POST that validates the same
     bodies into a pydantic model and answers a constant (no token, database or replica);
   - ``consent service POST /v1/decisions``: the consent service on PostgreSQL, the mix above,
     each asked by a practitioner of the recipient agency (token checked, replica decides);
   - ``children service POST /v1/children``: the children service on PostgreSQL (with a
     nats-server of its own), a SEND caseworker registering a new child per request (the
     decider command: read models checked, event and outbox row appended, projection written,
     one commit; the relay publishes meanwhile).
   Targets: decisions p99 < 10 ms; the children command's p99 is printed beside the bare
   endpoint's.

    uv run python bench/bench_decisions.py
    # BENCH_DATABASE_URL (the server the services' throwaway databases are made on),
    # BENCH_NATS_URL, BENCH_CHILDREN (20000), BENCH_DECISIONS (500000), BENCH_ROUNDS (5),
    # BENCH_RATE (500), BENCH_SECONDS (10), BENCH_HTTP_ROUNDS (3); BENCH_QUICK=1: tiny sizes

Everything listens on 127.0.0.1; every loop is bounded; all data is synthetic.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import nats
from nats.js import JetStreamContext
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))

from _common import QUICK, bench_nats, database_url, percentile, setting

from oneplan_consent.config import ConsentSettings
from oneplan_consent.events import (
    CATALOGUE,
    CaptureMethod,
    ConsentCapacity,
    ConsentGiven,
    ConsentGiver,
    LawfulBasis,
    OverrideRecorded,
    StatutoryDutyRecorded,
)
from oneplan_events.catalogue import Event
from oneplan_events.streams import ensure_stream, service_stream
from oneplan_events.vocabulary import DataClass, Purpose
from oneplan_kit import issue_dev_token
from oneplan_sharing import ConsentReplica, Decision, DecisionRequest, SharingState
from oneplan_testkit import NatsProcess
from oneplan_testkit.ports import free_port, wait_for_port

# The PostgreSQL server the services' fresh databases are made on (and dropped afterwards).
PG_URL = database_url("postgres")
CHILDREN = setting("BENCH_CHILDREN", 20000, 500)
DECISIONS = setting("BENCH_DECISIONS", 500000, 5000)
ROUNDS = setting("BENCH_ROUNDS", 5, 1)
RATE = setting("BENCH_RATE", 500, 100)
SECONDS = setting("BENCH_SECONDS", 10, 1)
HTTP_ROUNDS = setting("BENCH_HTTP_ROUNDS", 3, 1)

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


def stream_id_of(event: Event) -> str:
    """The record an event of the consent service belongs to (each its own record here)."""
    if isinstance(event, ConsentGiven):
        return f"consent/{event.consent_id}"
    if isinstance(event, OverrideRecorded):
        return f"override/{event.override_id}"
    assert isinstance(event, StatutoryDutyRecorded)
    return f"duty/{event.duty_id}"


async def publish_all(js: JetStreamContext, events: Sequence[Event]) -> None:
    """Publish events as the consent service's relay would (each the first version of its
    record, on its type and record key), pipelined; wait for every ack."""
    for start in range(0, len(events), 2000):
        acks = []
        for event in events[start : start + 2000]:
            envelope = dataclasses.replace(
                CATALOGUE.envelope_for(
                    event, source="/oneplan/consent", subject=stream_id_of(event)
                ),
                streamversion=1,
            )
            headers, body = envelope.to_nats()
            acks.append(await js.publish_async(envelope.nats_subject, body, headers=headers))
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
    await ensure_stream(js, service_stream("consent"))
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


@dataclass(frozen=True)
class Call:
    """One HTTP request of an open-loop schedule: path, JSON body, header lines."""

    path: str
    body: bytes
    headers: str


def decision_calls(requests: Sequence[DecisionRequest], auth: dict[str, str]) -> list[Call]:
    """Each request as its recipient agency's practitioner asks it."""
    return [
        Call(
            "/v1/decisions",
            json.dumps(
                {
                    "child_id": str(request.child_id),
                    "owner_agency": request.owner_agency,
                    "recipient_agency": request.recipient_agency,
                    "data_class": request.data_class.value,
                    "purpose": request.purpose.value,
                }
            ).encode(),
            auth[request.recipient_agency],
        )
        for request in requests
    ]


def bare_calls(decisions: Sequence[Call]) -> list[Call]:
    """The same bodies to the bare endpoint (no token: it checks none)."""
    return [Call("/v1/bare", call.body, "") for call in decisions]


def registration_calls(n: int, auth: str, offset: int) -> list[Call]:
    """``n`` new children registered by a SEND caseworker (each a new record: a command that
    appends an event with its outbox row and writes the read models)."""
    born = date(date.today().year - 9, 1, 1)
    return [
        Call(
            "/v1/children",
            json.dumps(
                {
                    "given_name": "Bench",
                    "family_name": f"Child{offset + i}",
                    "date_of_birth": (born + timedelta(days=(offset + i) % 3000)).isoformat(),
                }
            ).encode(),
            auth,
        )
        for i in range(n)
    ]


@dataclass(frozen=True)
class HttpFigures:
    """One contender's round: latencies (s) from each request's scheduled send."""

    latencies: list[float]
    errors: int
    cpu_per_request: float

    def at(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000


async def measure_http(service: Service, calls: list[Call], warm_up: list[Call]) -> HttpFigures:
    client = RawClient("127.0.0.1", int(service.url.rsplit(":", 1)[1]))
    await client.open()
    try:
        await open_loop(client, warm_up)  # not reported
        cpu_before = service.cpu_seconds()
        latencies, errors = await open_loop(client, calls)
        cpu = (service.cpu_seconds() - cpu_before) / len(calls)
    finally:
        await client.close()
    return HttpFigures(latencies, errors, cpu)


BARE = "bare FastAPI endpoint (baseline)"
DECISIONS_HTTP = "consent service POST /v1/decisions"
CHILDREN_HTTP = "children service POST /v1/children"


async def http(nats_url: str, js: JetStreamContext) -> None:
    """Every contender the same number of requests at the same rate, open loop, rounds
    alternating; each service in its own process on PostgreSQL. The children service has a
    nats-server of its own, so the consent service never consumes its registrations while
    the others are measured."""
    rng = random.Random(11)
    children = [uuid4() for _ in range(2000)]
    events = synthetic_events(rng, children)
    await publish_all(js, events)
    count = RATE * SECONDS
    requests = synthetic_requests(rng, children, events, count + RATE)
    results: dict[str, list[HttpFigures]] = {BARE: [], DECISIONS_HTTP: [], CHILDREN_HTTP: []}
    with tempfile.TemporaryDirectory() as tmp, private_nats() as children_nats:
        var_dir = Path(tmp)
        # The children service's consent replica reads the CONSENT stream of its own NATS
        # (empty here: registering a child asks no consent question).
        children_nc = await nats.connect(children_nats.url)
        try:
            await ensure_stream(children_nc.jetstream(), service_stream("consent"))
        finally:
            await children_nc.close()
        async with fresh_databases("consent", "children") as (consent_db, children_db):
            consent_env = service_env(nats_url, var_dir, CONSENT_DATABASE_URL=consent_db)
            children_env = service_env(
                children_nats.url, var_dir, CHILDREN_DATABASE_URL=children_db
            )
            bare_env = {"PYTHONPATH": str(Path(__file__).parent)}
            with (
                service_process("_bare_app", bare_env, var_dir) as bare,
                service_process("oneplan_consent.entrypoints.api", consent_env, var_dir) as consent,
                service_process(
                    "oneplan_children.entrypoints.api", children_env, var_dir
                ) as children_service,
            ):
                async with httpx.AsyncClient() as probe:
                    for service in (consent, children_service):
                        await wait_ready(probe, service.url)
                auth = {
                    agency: f"Authorization: Bearer {token(var_dir, agency, ['practitioner'])}\r\n"
                    for agency in AGENCIES
                }
                caseworker = f"Authorization: Bearer {token(var_dir, 'send', ['caseworker'])}\r\n"
                decisions = decision_calls(requests, auth)
                warm, timed = decisions[:RATE], decisions[RATE:]
                for round_number in range(HTTP_ROUNDS):
                    offset = round_number * (count + RATE)
                    contenders = [
                        (BARE, bare, bare_calls(timed), bare_calls(warm)),
                        (DECISIONS_HTTP, consent, timed, warm),
                        (
                            CHILDREN_HTTP,
                            children_service,
                            registration_calls(count, caseworker, offset + RATE),
                            registration_calls(RATE, caseworker, offset),
                        ),
                    ]
                    shift = round_number % len(contenders)
                    for name, service, calls, warm_up in contenders[shift:] + contenders[:shift]:
                        figures = await measure_http(service, calls, warm_up)
                        results[name].append(figures)
                        print(f"  round {round_number + 1}: {name}: {describe_http(figures)}")
    print_http(results, count)


def describe_http(figures: HttpFigures) -> str:
    return (
        f"p50 {figures.at(50):.2f} ms, p90 {figures.at(90):.2f} ms, p99 {figures.at(99):.2f} "
        f"ms, max {max(figures.latencies) * 1000:.2f} ms, errors {figures.errors}, server CPU "
        f"{figures.cpu_per_request * 1000:.2f} ms/request"
    )


def print_http(results: dict[str, list[HttpFigures]], count: int) -> None:
    def median(name: str, q: float) -> float:
        return statistics.median(figures.at(q) for figures in results[name])

    quick = " [BENCH_QUICK: tiny sizes, figures meaningless]" if QUICK else ""
    print(
        f"\nHTTP, open loop at {RATE} requests/s for {SECONDS} s per round ({count:,} requests "
        f"per contender per round, median of {HTTP_ROUNDS} rounds), from each request's "
        f"scheduled send to its response read{quick}"
    )
    header = ["p50 ms", "p99 ms", "p99 vs bare", "errors", "CPU ms/req"]
    print(f"{'contender':<40}" + "".join(f"{column:>13}" for column in header))
    bare99 = median(BARE, 99)
    for name, rounds in results.items():
        p99 = median(name, 99)
        errors = sum(figures.errors for figures in rounds)
        cpu = statistics.median(figures.cpu_per_request for figures in rounds) * 1000
        cells = [f"{median(name, 50):.2f}", f"{p99:.2f}", f"{p99 / bare99:.1f}x", str(errors)]
        print(f"{name:<40}" + "".join(f"{cell:>13}" for cell in [*cells, f"{cpu:.2f}"]))
    verdict = "MET" if median(DECISIONS_HTTP, 99) < 10 else "MISSED"
    print(f"target {DECISIONS_HTTP} p99 < 10 ms: {verdict}")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"machine load average {load} on {os.cpu_count()} cores")


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

    async def get(self, path: str, headers: str) -> tuple[int, bytes]:
        """GET ``path`` (its query string included) with ``headers`` (complete header
        lines); the response's status and body."""
        reader, writer = await self._pool.get()
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {self._host}\r\n{headers}\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            return status, await reader.readexactly(length)
        finally:
            self._pool.put_nowait((reader, writer))


async def open_loop(client: RawClient, calls: list[Call]) -> tuple[list[float], int]:
    """Send each call at its scheduled time (RATE per second); latency counts from that
    time. An answer other than 200 or 201 counts as an error."""
    latencies: list[float] = []
    errors = 0
    interval = 1 / RATE
    start = time.perf_counter() + 0.05

    async def one(scheduled: float, call: Call) -> None:
        nonlocal errors
        status = await client.post_json(call.path, call.body, call.headers)
        latencies.append(time.perf_counter() - scheduled)
        if status not in (200, 201):
            errors += 1

    tasks = []
    for i, call in enumerate(calls):
        scheduled = start + i * interval
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled, call)))
    await asyncio.gather(*tasks)
    return latencies, errors


async def main() -> None:
    async with bench_nats() as url:
        nc = await nats.connect(url)
        js = nc.jetstream(timeout=10)
        try:
            await embedded(js)
            await http(url, js)
        finally:
            await nc.close()


if __name__ == "__main__":
    asyncio.run(main())
