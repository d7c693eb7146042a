"""Record ids become native UUIDs (the house table style), keeping every row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, nullable): the columns that held a UUID as 36 characters of text.
_ID_COLUMNS = (
    ("child_summary", "child_id", False),
    ("child_summary", "merged_into", True),
    ("child_identifiers", "child_id", False),
)


def upgrade() -> None:
    """Text ids -> uuid; on SQLite, where a UUID is stored as 32 hex digits, strip dashes."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, column, nullable in _ID_COLUMNS:
        if sqlite:
            # Table and column names are this module's constants, never input.
            op.execute(sa.text(f"UPDATE {table} SET {column} = replace({column}, '-', '')"))  # noqa: S608
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column,
                existing_type=sa.String(36),
                type_=sa.Uuid(),
                existing_nullable=nullable,
                postgresql_using=f"{column}::uuid",
            )


def downgrade() -> None:
    """uuid -> text ids with dashes, as 0001 stored them."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, column, nullable in _ID_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column,
                existing_type=sa.Uuid(),
                type_=sa.String(36),
                existing_nullable=nullable,
                postgresql_using=f"{column}::text",
            )
        if sqlite:
            dashed = (
                f"lower(substr({column},1,8)||'-'||substr({column},9,4)||'-'||"
                f"substr({column},13,4)||'-'||substr({column},17,4)||'-'||substr({column},21))"
            )
            # Table and column names are this module's constants, never input.
            statement = f"UPDATE {table} SET {column} = {dashed} WHERE {column} IS NOT NULL"  # noqa: S608
            op.execute(sa.text(statement))
