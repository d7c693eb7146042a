"""Alembic without an ini file, on both dialects; databases created on demand."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from oneplan_kit.db import create_engine
from oneplan_kit.migrations import current_is_head, ensure_database, head_revisions, upgrade

MIGRATIONS = Path(__file__).parent / "kit_migrations"


async def test_upgrade_reaches_head_and_is_repeatable(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert not await current_is_head(MIGRATIONS, engine)
        await upgrade(MIGRATIONS, engine)
        await upgrade(MIGRATIONS, engine)
        assert await current_is_head(MIGRATIONS, engine)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert {"event_store", "outbox", "idempotency_keys", "widget_names"} <= tables
    finally:
        await engine.dispose()


def test_heads_are_the_services_and_the_backbone_branchs() -> None:
    assert head_revisions(MIGRATIONS) == {"0001", "backbone_0003"}


async def test_the_backbone_branch_adds_its_tables_to_a_database_created_before_it(
    sqlite_url: str,
) -> None:
    """A database whose service migration made the first backbone tables (as children's
    and consent's did) gets the newer ones from the kit's branch, and the first ones again
    are not a problem, whichever branch runs first."""
    engine = create_engine(sqlite_url)
    try:
        await upgrade(MIGRATIONS, engine, "0001")
        async with engine.connect() as conn:
            before = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert "consumer_positions" not in before
        await upgrade(MIGRATIONS, engine)
        async with engine.connect() as conn:
            after = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert {"consumer_positions", "event_store", "idempotency_keys"} <= after
        assert await current_is_head(MIGRATIONS, engine)
    finally:
        await engine.dispose()


async def test_ensure_database_creates_a_missing_postgres_database(postgres_url: str) -> None:
    name = f"kit_{uuid4().hex[:12]}"
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    await ensure_database(url)
    await ensure_database(url)
    engine = create_engine(url)
    try:
        await upgrade(MIGRATIONS, engine)
        assert await current_is_head(MIGRATIONS, engine)
    finally:
        await engine.dispose()
        admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.dispose()


async def test_a_sqlite_file_gets_its_directory(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'deep' / 'down' / 'svc.db'}"
    await ensure_database(url)
    await upgrade(MIGRATIONS, url)
    assert (tmp_path / "deep" / "down" / "svc.db").exists()
