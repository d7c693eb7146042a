"""The backbone tables as a service's first Alembic migration creates and drops them."""

from __future__ import annotations

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from oneplan_events.schema import (
    FIRST_BACKBONE_TABLES,
    NOTIFY_CHANNEL,
    create_backbone_tables,
    drop_backbone_tables,
)

from .conftest import wait_for


def migrate(conn: Connection, step: str) -> None:
    op = Operations(MigrationContext.configure(conn))
    if step == "upgrade":
        create_backbone_tables(op)
    else:
        drop_backbone_tables(op)


def tables_and_indexes(conn: Connection) -> dict[str, set[str]]:
    inspector = inspect(conn)
    return {
        table: {index["name"] or "" for index in inspector.get_indexes(table)}
        for table in inspector.get_table_names()
    }


def notify_triggers(conn: Connection) -> list[str]:
    rows = conn.exec_driver_sql(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'outbox'::regclass AND NOT tgisinternal"
    )
    return [row[0] for row in rows]


async def test_the_first_migration_creates_and_drops_every_backbone_table(
    database_url: str,
) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(migrate, "upgrade")
            found = await conn.run_sync(tables_and_indexes)
            if conn.dialect.name == "postgresql":
                assert await conn.run_sync(notify_triggers) == ["outbox_notify"]
        assert set(found) == {table.name for table in FIRST_BACKBONE_TABLES}
        assert "ix_event_store_tx_id_position" in found["event_store"]
        assert "ix_outbox_unpublished" in found["outbox"]

        async with engine.begin() as conn:
            await conn.run_sync(migrate, "downgrade")
            assert await conn.run_sync(tables_and_indexes) == {}
    finally:
        await engine.dispose()


async def test_an_outbox_insert_notifies_listeners_at_commit(pg_database_url: str) -> None:
    engine = create_async_engine(pg_database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(migrate, "upgrade")
        async with engine.connect() as listener:
            driver = (await listener.get_raw_connection()).driver_connection
            assert driver is not None
            received: list[str] = []
            await driver.add_listener(NOTIFY_CHANNEL, lambda *args: received.append(args[2]))
            async with engine.begin() as conn:
                await conn.exec_driver_sql(
                    "INSERT INTO outbox (position, event_id, stream_id, subject, headers, body, "
                    "created_at) VALUES (1, 'e', 's', 'oneplan.t.x.happened', '{}', '', now())"
                )
                assert received == []  # nothing before the commit
            await wait_for(lambda: received, 5, "the outbox notification")
            assert received == [NOTIFY_CHANNEL]
    finally:
        await engine.dispose()
