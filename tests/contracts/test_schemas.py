"""Every installed service's migrations build exactly the tables its code declares, in the
house style, on SQLite and on PostgreSQL: no drift between models and migrations, one naming
convention, native UUIDs, timezone-aware timestamps."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import DateTime, Uuid
from sqlalchemy.engine import Connection

from oneplan_kit.db import create_engine
from oneplan_kit.migrations import alembic_config, upgrade
from oneplan_kit.service import ServiceDefinition, installed_services

SERVICES = installed_services()


def _drift(connection: Connection, definition: ServiceDefinition) -> list[Any]:
    metadata = alembic_config(definition.migrations_location, None, definition.tables)
    targets = metadata.attributes["target_metadata"]
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [diff for target in targets for diff in compare_metadata(context, target)
            if _owned(diff, target)]  # fmt: skip


def _owned(diff: Any, target: Any) -> bool:
    """A difference about one of ``target``'s tables (each metadata holds only some tables)."""
    kind, *rest = diff if isinstance(diff, tuple) else diff[0]
    if kind in {"add_table", "remove_table"}:
        table = rest[0]
        return table.name in target.tables if kind == "add_table" else False
    for item in rest:
        name = getattr(getattr(item, "table", None), "name", None) or (
            item if isinstance(item, str) else None
        )
        if name is not None:
            return name in target.tables
    return True


@pytest.mark.parametrize("name", sorted(SERVICES))
async def test_migrations_build_exactly_the_declared_tables(name: str, database_url: str) -> None:
    definition = SERVICES[name]
    engine = create_engine(database_url)
    try:
        await upgrade(definition.migrations_location, engine)
        async with engine.connect() as conn:
            drift = await conn.run_sync(_drift, definition)
    finally:
        await engine.dispose()
    assert drift == []


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_the_service_tables_follow_the_house_style(name: str) -> None:
    tables = SERVICES[name].tables
    assert tables is not None, f"{name} declares no tables metadata"
    assert tables.naming_convention["ix"] == "ix_%(table_name)s_%(column_0_N_name)s"
    for table in tables.tables.values():
        for column in table.columns:
            if column.name.endswith("_id") and column.name not in {"event_id"}:
                assert isinstance(column.type, Uuid), f"{table.name}.{column.name} is not a UUID"
            if isinstance(column.type, DateTime) or column.type.__class__.__name__ == "UtcDateTime":
                assert getattr(column.type, "timezone", True), f"{table.name}.{column.name}"
