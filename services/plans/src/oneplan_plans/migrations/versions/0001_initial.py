"""The plans read models: the notes table.

The backbone and kit tables (event store, outbox, consumer positions, idempotency keys...) come
from the kit's own `backbone` branch, which every service database runs beside this one.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from oneplan_events.schema import UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the notes table."""
    op.create_table(
        "notes",
        sa.Column("note_id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("agency", sa.String(63), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("note_id", name="pk_notes"),
    )
    op.create_index("ix_notes_child_id", "notes", ["child_id"])


def downgrade() -> None:
    """Drop the notes table."""
    op.drop_table("notes")
