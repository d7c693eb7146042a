"""The outbox keeps the JetStream sequence of each published event (consistency tokens).

Revision ID: backbone_0003
Revises: backbone_0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "backbone_0003"
down_revision: str | None = "backbone_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``outbox.stream_sequence`` (empty for rows published before it existed), and an
    index to find a write's rows by event id."""
    op.add_column("outbox", sa.Column("stream_sequence", sa.BigInteger(), nullable=True))
    op.create_index("ix_outbox_event_id", "outbox", ["event_id"])


def downgrade() -> None:
    """Drop ``outbox.stream_sequence`` and the event id index."""
    op.drop_index("ix_outbox_event_id", table_name="outbox")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite (3.35+) drops a column in place; Alembic's batch copy would rebuild the
        # table and its partial index for nothing.
        op.execute("ALTER TABLE outbox DROP COLUMN stream_sequence")
        return
    op.drop_column("outbox", "stream_sequence")
