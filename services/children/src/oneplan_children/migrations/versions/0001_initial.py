"""The backbone and kit tables, then the children read models.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from oneplan_events.schema import UtcDateTime, create_backbone_tables, drop_backbone_tables
from oneplan_kit.schema import create_kit_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create every table the service needs."""
    create_backbone_tables(op)  # type: ignore[arg-type]  # alembic.op proxies Operations
    create_kit_tables(op)
    op.create_table(
        "child_summary",
        sa.Column("child_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("given_name", sa.String(100), nullable=False),
        sa.Column("family_name", sa.String(100), nullable=False),
        sa.Column("family_name_key", sa.String(100), nullable=False),
        sa.Column("given_name_key", sa.String(100), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("nhs_number", sa.String(10), nullable=True),
        sa.Column("upn", sa.String(13), nullable=True),
        sa.Column("merged_into", sa.String(36), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("child_id", name="pk_child_summary"),
    )
    op.create_index("ix_child_summary_family_name_key", "child_summary", ["family_name_key"])
    op.create_index("ix_child_summary_date_of_birth", "child_summary", ["date_of_birth"])
    op.create_table(
        "child_identifiers",
        sa.Column("child_id", sa.String(36), nullable=False),
        sa.Column("nhs_number", sa.String(10), nullable=True),
        sa.Column("upn", sa.String(13), nullable=True),
        sa.PrimaryKeyConstraint("child_id", name="pk_child_identifiers"),
        sa.UniqueConstraint("nhs_number", name="uq_child_identifiers_nhs_number"),
        sa.UniqueConstraint("upn", name="uq_child_identifiers_upn"),
    )


def downgrade() -> None:
    """Drop every table the service created."""
    op.drop_table("child_identifiers")
    op.drop_table("child_summary")
    op.drop_table("idempotency_keys")
    drop_backbone_tables(op)  # type: ignore[arg-type]  # alembic.op proxies Operations
