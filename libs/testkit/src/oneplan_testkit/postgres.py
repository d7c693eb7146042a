"""A throwaway PostgreSQL cluster, started when no server is named or containerised."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from oneplan_testkit.nats import ServerUnavailable
from oneplan_testkit.ports import free_port, wait_for_port

_UNPRIVILEGED_USER = "postgres"


def find_postgres_bin_dir() -> Path:
    """The directory holding `initdb`, `pg_ctl` and `postgres`, or ServerUnavailable saying why."""
    candidates = [Path(p).parent for p in (shutil.which("pg_ctl"),) if p]
    candidates += sorted((Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")), reverse=True)
    for directory in candidates:
        real = directory.resolve() if (directory / "pg_ctl").is_symlink() else directory
        pg_ctl = (directory / "pg_ctl").resolve().parent
        for candidate in (pg_ctl, real):
            if all((candidate / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
                return candidate
    raise ServerUnavailable(
        "PostgreSQL: no DATABASE_URL is set, no Docker engine answers and no PostgreSQL server "
        "binaries (initdb, pg_ctl, postgres) were found. Install them (Debian/Ubuntu: "
        "`apt-get install postgresql`) or set DATABASE_URL to a server the tests may create "
        "databases on, e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/postgres."
    )


class PostgresCluster:
    """initdb + pg_ctl in a temporary directory, trust auth, listening on 127.0.0.1:<free port>.

    PostgreSQL refuses to run as root, so under root the cluster belongs to the `postgres`
    system user. fsync is off: this cluster is thrown away after the run.
    """

    def __init__(self) -> None:
        self.bin_dir = find_postgres_bin_dir()
        self.port = free_port()
        self.base_dir = Path(tempfile.mkdtemp(prefix="oneplan-pg-"))
        self.data_dir = self.base_dir / "data"
        self.log_path = self.base_dir / "postgres.log"
        self._run_as = _UNPRIVILEGED_USER if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> PostgresCluster:
        if self._run_as:
            user = pwd.getpwnam(self._run_as)
            os.chown(self.base_dir, user.pw_uid, user.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        )
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base_dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_path),
            "-o",
            options,
            "-w",
            "start",
        )
        if not wait_for_port(self.port, 30):
            raise ServerUnavailable(f"PostgreSQL did not listen on {self.port}: {self._log_tail()}")
        return self

    def stop(self) -> None:
        if self.data_dir.exists():
            self._run(
                "pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", check=False
            )
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def _run(self, tool: str, *args: str, check: bool = True) -> None:
        command = [str(self.bin_dir / tool), *args]
        if self._run_as:
            command = ["runuser", "-u", self._run_as, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if check and result.returncode != 0:
            reason = result.stderr.strip()[-1500:]
            raise ServerUnavailable(f"PostgreSQL: `{tool}` failed ({result.returncode}): {reason}")

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"
