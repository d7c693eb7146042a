"""The backbone's one private call into a dependency, pinned down: if a SQLAlchemy upgrade
changes how its asyncpg adapter begins a transaction, these tests fail, not production.

See ``oneplan_events._store_pg._begin_in_adapter`` for why the call exists.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from oneplan_events._store_pg import driver_connection


@pytest.fixture
async def pg_engine(pg_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(pg_database_url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE probe (n int)"))
    yield engine
    await engine.dispose()


def test_the_adapter_still_has_the_method_the_store_calls() -> None:
    method = getattr(AsyncAdapt_asyncpg_connection, "_start_transaction", None)
    assert method is not None, "SQLAlchemy's asyncpg adapter lost _start_transaction"
    assert inspect.iscoroutinefunction(method)


async def test_a_raw_statement_rolls_back_with_the_sqlalchemy_transaction(
    pg_engine: AsyncEngine,
) -> None:
    async with pg_engine.connect() as conn:
        driver = await driver_connection(conn)
        await driver.execute("INSERT INTO probe VALUES (1)")
        assert conn.in_transaction()
        await conn.rollback()
    async with pg_engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM probe"))).scalar() == 0


async def test_a_raw_statement_commits_with_the_sqlalchemy_transaction(
    pg_engine: AsyncEngine,
) -> None:
    async with pg_engine.connect() as conn:
        driver = await driver_connection(conn)
        await driver.execute("INSERT INTO probe VALUES (2)")
        await conn.commit()
    async with pg_engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM probe"))).scalar() == 1
