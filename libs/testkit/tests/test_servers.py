"""The test infrastructure itself: servers it starts are real and behave like servers."""

import asyncio

import asyncpg
import nats
import pytest
from sqlalchemy.engine import make_url

from oneplan_testkit import unique_name
from oneplan_testkit.plugin import NatsFactory, normalise_postgres_url


def test_unique_names_are_unique_and_valid_identifiers() -> None:
    names = {unique_name("S") for _ in range(1000)}
    assert len(names) == 1000
    assert all(name.replace("_", "").isalnum() for name in names)


def test_postgres_urls_are_normalised_to_asyncpg() -> None:
    url = normalise_postgres_url("postgresql://postgres@127.0.0.1:5432/db")
    assert url == "postgresql+asyncpg://postgres@127.0.0.1:5432/db"


async def test_nats_url_has_jetstream(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        info = await nc.jetstream().account_info()
        assert info.limits is not None
    finally:
        await nc.close()


async def test_a_started_nats_server_can_be_killed_and_restarted_with_its_data(
    nats_server_factory: NatsFactory,
) -> None:
    server = nats_server_factory()
    stream = unique_name("KEEP")
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    await js.add_stream(name=stream, subjects=[f"{stream}.>"])
    await js.publish(f"{stream}.a", b"kept")
    await nc.close()

    server.stop()
    assert not server.running
    server.start()

    nc = await nats.connect(server.url)
    try:
        info = await nc.jetstream().stream_info(stream)
        assert info.state.messages == 1
    finally:
        await nc.close()


async def test_each_test_gets_its_own_empty_postgres_database(pg_database_url: str) -> None:
    dsn = make_url(pg_database_url).set(drivername="postgresql").render_as_string(False)
    connection = await asyncpg.connect(dsn)
    try:
        tables = await connection.fetchval(
            "select count(*) from information_schema.tables where table_schema = 'public'"
        )
        assert tables == 0
        assert (
            await connection.fetchval("select current_database()")
            == make_url(pg_database_url).database
        )
    finally:
        await connection.close()


@pytest.mark.parametrize("attempt", [1, 2])
async def test_database_url_runs_on_both_dialects(database_url: str, attempt: int) -> None:
    assert database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://"))
    await asyncio.sleep(0)
