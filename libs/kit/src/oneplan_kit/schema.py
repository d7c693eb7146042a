"""Tables the kit adds to every service database (beside ``oneplan_events``' backbone tables)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
)

from oneplan_events.schema import NAMING_CONVENTION

__all__ = ["IDEMPOTENCY_KEYS", "KIT_METADATA", "create_kit_tables"]

KIT_METADATA = MetaData(naming_convention=NAMING_CONVENTION)


def _idempotency_columns() -> list[Column[Any]]:
    return [
        # Why the principal is part of the key: two partners may pick the same key by chance;
        # neither must ever see the other's response.
        Column("principal", String(300), primary_key=True),
        Column("key", String(255), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("method", String(10), nullable=False),
        Column("path", String(2000), nullable=False),
        Column("status_code", Integer, nullable=True),
        Column("headers", JSON, nullable=True),
        Column("body", LargeBinary, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("completed_at", DateTime(timezone=True), nullable=True),
    ]


# The retention task deletes by age once a minute: without this index each round scans the table.
_CREATED_AT_INDEX = "ix_idempotency_keys_created_at"

IDEMPOTENCY_KEYS = Table(
    "idempotency_keys",
    KIT_METADATA,
    *_idempotency_columns(),
    Index(_CREATED_AT_INDEX, "created_at"),
)


def create_kit_tables(op: Any) -> None:
    """Create whichever kit tables do not exist yet, from an Alembic migration (``op`` is
    ``alembic.op``): the kit's backbone branch and older services' first migrations both
    call it, in either order."""
    KIT_METADATA.create_all(op.get_bind(), checkfirst=True)
