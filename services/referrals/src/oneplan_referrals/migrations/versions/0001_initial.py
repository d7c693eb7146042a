"""The referrals read models: known children, referrals, clinical notes, health advice tasks.

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
    """Create the tables."""
    op.create_table(
        "known_children",
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("child_id", name="pk_known_children"),
    )
    op.create_table(
        "referrals",
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("waiting", sa.Boolean(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("referral_id", name="pk_referrals"),
    )
    op.create_index("ix_referrals_child_id", "referrals", ["child_id"])
    op.create_index("ix_referrals_service_id", "referrals", ["service_id"])
    op.create_index("ix_referrals_waiting_received_on", "referrals", ["waiting", "received_on"])
    op.create_table(
        "clinical_notes",
        sa.Column("note_id", sa.Uuid(), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("written_by", sa.String(255), nullable=False),
        sa.Column("written_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("note_id", name="pk_clinical_notes"),
    )
    op.create_index("ix_clinical_notes_referral_id", "clinical_notes", ["referral_id"])
    op.create_table(
        "advice_tasks",
        sa.Column("advice_request_id", sa.Uuid(), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=True),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("advice_request_id", name="pk_advice_tasks"),
    )
    op.create_index("ix_advice_tasks_child_id", "advice_tasks", ["child_id"])


def downgrade() -> None:
    """Drop the tables."""
    for table in ("advice_tasks", "clinical_notes", "referrals", "known_children"):
        op.drop_table(table)
