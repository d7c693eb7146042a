"""The graduated response's read models: SEN support plans, their provision gaps (the
worklist), the published SEND Provision Matrix versions, and the plan of each tracked outcome.

Revision ID: 0002_graduated_response
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_graduated_response"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the graduated response's tables."""
    op.create_table(
        "support_plans",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("plan_type", sa.String(40), nullable=False),
        sa.Column("setting_urn", sa.String(6), nullable=False),
        sa.Column("setting_name", sa.String(200), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("cycles", sa.Integer(), nullable=False),
        sa.Column("current_cycle_starts_on", sa.Date(), nullable=True),
        sa.Column("ehc_assessment_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", name="pk_support_plans"),
    )
    op.create_index("ix_support_plans_child_id", "support_plans", ["child_id"])
    op.create_index("ix_support_plans_setting_urn", "support_plans", ["setting_urn"])
    op.create_table(
        "provision_gaps",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("setting_urn", sa.String(6), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("gaps", sa.Integer(), nullable=False),
        sa.Column("kinds", sa.String(200), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", name="pk_provision_gaps"),
    )
    op.create_index(
        "ix_provision_gaps_setting", "provision_gaps", ["setting_urn", "child_id", "plan_id"]
    )
    op.create_table(
        "provision_matrix_versions",
        sa.Column("matrix_version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("entries", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("matrix_version", name="pk_provision_matrix_versions"),
    )
    op.create_index(
        "ix_provision_matrix_versions_effective_from",
        "provision_matrix_versions",
        ["effective_from"],
    )
    op.create_table(
        "tracked_outcomes",
        sa.Column("outcome_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("plan_type", sa.String(40), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("outcome_id", name="pk_tracked_outcomes"),
    )
    op.create_index("ix_tracked_outcomes_plan_id", "tracked_outcomes", ["plan_id"])


def downgrade() -> None:
    """Drop them."""
    for table in (
        "tracked_outcomes",
        "provision_matrix_versions",
        "provision_gaps",
        "support_plans",
    ):
        op.drop_table(table)
