"""Consumers' positions in each record's stream (per-record order, exactly once).

Revision ID: backbone_0002
Revises: backbone_0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from oneplan_events.schema import BACKBONE_METADATA, consumer_positions

revision: str = "backbone_0002"
down_revision: str | None = "backbone_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``consumer_positions``."""
    BACKBONE_METADATA.create_all(op.get_bind(), tables=[consumer_positions])


def downgrade() -> None:
    """Drop ``consumer_positions`` (consumers then fall back to re-reading from the start)."""
    BACKBONE_METADATA.drop_all(op.get_bind(), tables=[consumer_positions])
