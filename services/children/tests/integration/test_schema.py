"""The migrations build exactly the tables the service's models declare, on both dialects."""

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from oneplan_children.bootstrap import SERVICE
from oneplan_kit.db import create_engine
from oneplan_kit.migrations import upgrade


def _table_of(difference: Any) -> str | None:
    """The table an Alembic difference is about (a list: changes of one column)."""
    kind, *details = difference[0] if isinstance(difference, list) else difference
    if kind in ("add_column", "remove_column") or kind.startswith("modify_"):
        return str(details[1])  # (schema, table, ...)
    subject = details[0]  # a Table, or an Index / constraint of one
    return getattr(getattr(subject, "table", subject), "name", None)


async def test_the_migrations_match_the_models(database_url: str) -> None:
    assert SERVICE.tables is not None
    engine = create_engine(database_url)
    try:
        await upgrade(SERVICE.migrations_location, engine)
        async with engine.connect() as conn:
            differences = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), SERVICE.tables)
            )
    finally:
        await engine.dispose()
    own = set(SERVICE.tables.tables)
    assert [d for d in differences if _table_of(d) in own] == []
