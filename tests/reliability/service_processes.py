"""Services as real OS processes, for the service-level reliability tests.

Each instance is ``python -m uvicorn <package>.entrypoints.api:create_app --factory`` on its
own port, configured only through the environment, as a deployment runs it; so a SIGKILL is
a real process kill: no lifespan shutdown, no pin given up, no lease released.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from oneplan_testkit.ports import free_port

# Settings a test's own environment must not leak into a service it starts.
_SERVICE_VARIABLES = ("ONEPLAN_", "CONSENT_", "CHILDREN_")


@dataclass
class ServiceProcess:
    """One instance of a service, started, killed and restarted on the same port."""

    package: str  # "oneplan_consent"
    env_prefix: str  # "CONSENT_"
    label: str  # names its log files: "<label>-<start>.log"
    environment: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    starts: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.label}-{self.starts}.log"

    def start(self) -> None:
        self.starts += 1
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(_SERVICE_VARIABLES)
        }
        env = {
            **inherited,
            **self.environment,
            f"{self.env_prefix}PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
        }
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            f"{self.package}.entrypoints.api:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--timeout-graceful-shutdown",
            "5",
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)

    def kill(self) -> None:
        """SIGKILL: the process dies where it stands."""
        if self.alive:
            assert self.process is not None
            self.process.kill()
            self.process.wait(10)

    def terminate(self, timeout: float = 15.0) -> None:
        """SIGTERM: uvicorn runs the lifespan's shutdown (consumers give their pins up)."""
        if not self.alive:
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_count(self, text: str) -> int:
        """Lines containing ``text`` in every log this instance wrote (all its starts)."""
        return sum(
            line.count(text)
            for start in range(1, self.starts + 1)
            for line in (self.log_dir / f"{self.label}-{start}.log")
            .read_text(errors="replace")
            .splitlines()
        )

    def log_tail(self, characters: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-characters:]
        except OSError:
            return "(no log)"

    async def readiness(self, client: httpx.AsyncClient) -> dict[str, Any] | None:
        """The ``/readyz`` body, or None while the instance does not answer."""
        try:
            response = await client.get(f"{self.url}/readyz", timeout=2.0)
        except httpx.HTTPError:
            return None
        body: dict[str, Any] = response.json()
        return body if response.status_code == 200 else None

    async def wait_ready(self, client: httpx.AsyncClient, within: float = 120.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while await self.readiness(client) is None:
            if not self.alive:
                pytest.fail(f"{self.label} exited while starting:\n{self.log_tail()}")
            if loop.time() > deadline:
                pytest.fail(f"{self.label} not ready within {within}s:\n{self.log_tail()}")
            await asyncio.sleep(0.1)

    async def partitions(self, client: httpx.AsyncClient, consumer: str) -> list[int] | None:
        """The partitions ``consumer`` applies in this instance now (None: no answer)."""
        body = await self.readiness(client)
        if body is None:
            return None
        check = body["checks"].get(f"consumer:{consumer}")
        if check is None:
            return None
        partitions: list[int] = check["partitions"]
        return partitions
