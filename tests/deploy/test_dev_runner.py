"""`oneplan dev` end to end: the real services, a nats-server of its own, Ctrl-C, a crash.

Each test runs the CLI in a subprocess from a temporary checkout (the repository's services/,
a fresh var/) with every port moved by a free offset, so it never meets a developer's own
`oneplan dev` or another test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import nats
import pytest

from oneplan_kit.dev import ServiceInfo, discover_services, port_in_use
from oneplan_testkit import NatsProcess

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Press Ctrl-C to stop"
pytestmark = pytest.mark.slow


def free_offset() -> int:
    """A port offset under which every service port (8001..8020) is free."""
    for _ in range(50):
        offset = random.randrange(20_000, 40_000, 100)
        if not any(port_in_use(8001 + offset + i) for i in range(20)):
            return offset
    raise RuntimeError("no free port range for the dev runner")


class Runner:
    """A running `oneplan dev` subprocess and everything it printed so far."""

    def __init__(self, process: asyncio.subprocess.Process, root: Path, offset: int) -> None:
        self.process = process
        self.root = root
        self.services: list[ServiceInfo] = discover_services(offset)
        self.lines: list[str] = []
        self.offset = offset
        self.pump = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.lines.append(line.decode(errors="replace").rstrip())

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    async def wait_for_line(self, text: str, seconds: float) -> str:
        async with asyncio.timeout(seconds):
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                if self.process.returncode is not None:
                    raise AssertionError(f"oneplan dev exited early:\n{self.output[-4000:]}")
                await asyncio.sleep(0.1)

    async def wait_exit(self, seconds: float) -> int:
        async with asyncio.timeout(seconds):
            code = await self.process.wait()
            await self.pump
        return code


def checkout_env(root: Path) -> dict[str, str]:
    """The environment of a CLI run against the temporary checkout at ``root``."""
    env = {**os.environ, "ONEPLAN_ROOT": str(root), "ONEPLAN_ENV": "development"}
    for name in ("ONEPLAN_JWKS_URL", "ONEPLAN_NATS_URL", "ONEPLAN_VAR_DIR"):
        env.pop(name, None)
    return env


async def oneplan(root: Path, *argv: str, seconds: float = 120) -> tuple[int, str]:
    """Run one CLI command to completion; its exit code and output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "oneplan_kit.cli",
        *argv,
        env=checkout_env(root),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(seconds):
            output, _ = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


@contextlib.asynccontextmanager
async def oneplan_dev(tmp_path: Path) -> AsyncIterator[Runner]:
    (tmp_path / "services").symlink_to(ROOT / "services")
    (tmp_path / "pyproject.toml").write_text("")
    offset = free_offset()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "oneplan_kit.cli",
        "dev",
        "--port-offset",
        str(offset),
        env=checkout_env(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        limit=1 << 20,
    )
    runner = Runner(process, tmp_path, offset)
    try:
        await runner.wait_for_line(READY_LINE, seconds=120)
        yield runner
    finally:
        await stop(process)


async def stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM (the runner then stops its services and NATS), SIGKILL after 30 s."""
    if process.returncode is None:
        process.terminate()
        try:
            async with asyncio.timeout(30):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


def nats_port(runner: Runner) -> int:
    match = re.search(r"OnePlan is running \(NATS nats://127\.0\.0\.1:(\d+)", runner.output)
    assert match, runner.output[-2000:]
    return int(match.group(1))


def service_pid(port: int) -> int:
    """The service process serving ``port`` (``-m oneplan_kit.serve``, found in /proc, as
    `ps` would)."""
    wanted = ["--port", str(port)]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            argv = (entry / "cmdline").read_bytes().decode().split("\0")
            if "oneplan_kit.serve" in argv and any(
                argv[i : i + 2] == wanted for i in range(len(argv))
            ):
                return int(entry.name)
    raise AssertionError(f"no service process on port {port}")


def assert_a_quiet_start(runner: Runner) -> None:
    """What a newcomer reads on a normal start: every service's own port, structured lines
    only, no health probes, no retries of things that are merely not there yet."""
    for service in runner.services:
        assert f"{service.name} ready on port {service.port}" in runner.output
    lines = runner.output.splitlines()
    service_lines = [
        line.split(" | ", 1)[1]
        for line in lines
        if " | " in line and line.split(" | ", 1)[0].strip() in {s.name for s in runner.services}
    ]
    assert service_lines
    unstructured = [line for line in service_lines if re.match(r"^[A-Z]+:\s", line)]
    assert not unstructured, unstructured[:5]
    for noise in ("GET /readyz", "GET /healthz", "cannot reach JetStream", "Context impl"):
        assert noise not in runner.output, noise
    assert "JETSTREAM" not in runner.output  # nats-server's banner is in its own log file
    # Each consumer or replica of each service says once that a stream it follows is not
    # there yet (the line names the service, the consumer and the stream): never again.
    waiting = [line.strip() for line in lines if "does not exist yet" in line]
    repeated = [line for line in set(waiting) if waiting.count(line) > 1]
    assert not repeated, repeated


async def test_dev_runs_every_service_then_stops_on_ctrl_c(
    tmp_path: Path, nats_server_factory: Callable[..., NatsProcess]
) -> None:
    async with oneplan_dev(tmp_path) as runner:
        token = (await runner.wait_for_line("export TOKEN=", 1)).split("=", 1)[1]
        async with httpx.AsyncClient(timeout=10) as client:
            for service in runner.services:
                base = f"http://127.0.0.1:{service.port}"
                assert f"{base}/docs" in runner.output
                assert (await client.get(f"{base}/readyz")).status_code == 200
                assert (await client.get(f"{base}/docs")).status_code == 200
            # The printed token is one the services accept: without it, 401.
            children = next(s for s in runner.services if s.name == "children")
            search = f"http://127.0.0.1:{children.port}/v1/children?family_name=Example"
            assert (await client.get(search)).status_code == 401
            authorised = await client.get(search, headers={"Authorization": f"Bearer {token}"})
            assert authorised.status_code not in (401, 403), authorised.text
        own_nats = nats_port(runner)
        assert own_nats != 4222  # its own server, never the machine's
        assert_a_quiet_start(runner)

        code, demo = await oneplan(tmp_path, "demo", "--port-offset", str(runner.offset))
        assert code == 0, demo
        assert "demo loaded" in demo

        runner.process.send_signal(signal.SIGINT)
        assert await runner.wait_exit(60) == 0, runner.output[-3000:]
    assert "stopped; data kept in ./var" in runner.output
    assert not port_in_use(own_nats)
    assert not any(port_in_use(s.port) for s in runner.services)
    assert (runner.root / "var" / "nats" / "jetstream").is_dir()
    for service in runner.services:
        assert (runner.root / "var" / f"{service.name}.db").is_file()

    # JetStream lost: the database is the record, republish refills a new server from it.
    fresh = nats_server_factory()
    code, output = await oneplan(tmp_path, "republish", "children", "--nats-url", fresh.url)
    assert code == 0, output
    republished = int(re.findall(r"children: republished (\d+) events", output)[0])
    assert republished > 0
    nc = await nats.connect(fresh.url)
    try:
        info = await nc.jetstream().stream_info("CHILDREN")
    finally:
        await nc.close()
    assert info.state.messages == republished
    assert await oneplan(tmp_path, "deadletters", "list", "children") == (
        0,
        "children: no dead letters\n",
    )


async def test_dev_stops_everything_when_a_service_dies(tmp_path: Path) -> None:
    async with oneplan_dev(tmp_path) as runner:
        victim = runner.services[0]
        os.kill(service_pid(victim.port), signal.SIGKILL)
        assert await runner.wait_exit(60) == 1, runner.output[-3000:]
    assert f"service {victim.name} exited with code -9 unexpectedly" in runner.output
    assert "stopping the other services" in runner.output
    assert not port_in_use(nats_port(runner))
    assert not any(port_in_use(s.port) for s in runner.services)


async def test_nothing_outlives_a_killed_runner(tmp_path: Path) -> None:
    async with oneplan_dev(tmp_path) as runner:
        runner.process.kill()
        await runner.wait_exit(10)
        ports = [nats_port(runner), *(s.port for s in runner.services)]
        for _ in range(150):  # the children get SIGTERM from the kernel; allow them 30 s
            if not any(port_in_use(port) for port in ports):
                break
            await asyncio.sleep(0.2)
        assert not any(port_in_use(port) for port in ports)


async def test_a_service_that_is_not_ready_in_time_is_named(tmp_path: Path) -> None:
    (tmp_path / "services").symlink_to(ROOT / "services")
    (tmp_path / "pyproject.toml").write_text("")
    offset = free_offset()
    code, output = await oneplan(
        tmp_path, "dev", "--port-offset", str(offset), "--ready-timeout", "0.1"
    )
    services = discover_services(offset)
    assert code == 1, output
    assert f"not ready after 0s: {services[0].name}" in output
    assert f"{services[0].name} (" in output  # its last /readyz answer and log lines follow
    assert "stopped; data kept in ./var" in output
    assert not any(port_in_use(s.port) for s in services)
