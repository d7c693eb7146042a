"""The transport read models: the cases worklist, the decisions report and the children's
age facts.

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
    """Create the cases, decisions and child_facts tables."""
    op.create_table(
        "cases",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("setting_name", sa.String(200), nullable=False),
        sa.Column("setting_urn", sa.String(6), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("plan_issued_on", sa.Date(), nullable=False),
        sa.Column("has_arrangement", sa.Boolean(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("opened_at", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name="pk_cases"),
        sa.UniqueConstraint("child_id", name="uq_cases_child_id"),
    )
    op.create_index("ix_cases_status", "cases", ["status"])
    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("plan_issued_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("working_days_from_issue", sa.Integer(), nullable=True),
        sa.Column("target_working_days", sa.Integer(), nullable=False),
        sa.Column("within_target", sa.Boolean(), nullable=True),
        sa.Column("first_decision", sa.Boolean(), nullable=False),
        sa.Column("on_review", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("decision_id", name="pk_decisions"),
    )
    op.create_index("ix_decisions_case_id", "decisions", ["case_id"])
    op.create_index("ix_decisions_decided_on", "decisions", ["decided_on"])
    op.create_table(
        "child_facts",
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("compulsory_school_age_ends_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("child_id", name="pk_child_facts"),
    )


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("child_facts")
    op.drop_table("decisions")
    op.drop_table("cases")
