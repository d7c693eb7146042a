"""The plans read models: assessments, their clocks, plans, and the child facts children
events bring.

The backbone and kit tables (event store, outbox, consumer positions, idempotency keys...) come
from the kit's own `backbone` branch, which every service database runs beside this one.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the read-model tables."""
    op.create_table(
        "assessments",
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("requested_by", sa.String(20), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("assessment_id", name="pk_assessments"),
    )
    op.create_index("ix_assessments_child_id", "assessments", ["child_id"])
    op.create_table(
        "clocks",
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("clock_key", sa.String(80), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("regulation", sa.String(200), nullable=False),
        sa.Column("agency", sa.String(63), nullable=True),
        sa.Column("advice_request_id", sa.Uuid(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("statutory_due_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("met_on", sa.Date(), nullable=True),
        sa.Column("how", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("assessment_id", "clock_key", name="pk_clocks"),
    )
    op.create_index("ix_clocks_child_id", "clocks", ["child_id"])
    op.create_index("ix_clocks_advice_request_id", "clocks", ["advice_request_id"])
    op.create_index(
        "ix_clocks_open_due_on",
        "clocks",
        ["due_on", "assessment_id", "position"],
        postgresql_where=sa.text("met_on IS NULL"),
        sqlite_where=sa.text("met_on IS NULL"),
    )
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("setting_name", sa.String(200), nullable=True),
        sa.Column("setting_urn", sa.String(6), nullable=True),
        sa.Column("setting_type", sa.String(40), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("next_review_due_on", sa.Date(), nullable=False),
        sa.Column("amended_on", sa.Date(), nullable=True),
        sa.Column("amendments", sa.Integer(), nullable=False),
        sa.Column("last_reviewed_on", sa.Date(), nullable=True),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("ceasing", sa.Boolean(), nullable=False),
        sa.Column("appeal_by", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", name="pk_plans"),
    )
    op.create_index("ix_plans_child_id", "plans", ["child_id"])
    op.create_table(
        "child_facts",
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("compulsory_school_age_ends_on", sa.Date(), nullable=False),
        sa.Column("story_revision", sa.Integer(), nullable=True),
        sa.Column("story", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("child_id", name="pk_child_facts"),
    )


def downgrade() -> None:
    """Drop the read-model tables."""
    for table in ("child_facts", "plans", "clocks", "assessments"):
        op.drop_table(table)
