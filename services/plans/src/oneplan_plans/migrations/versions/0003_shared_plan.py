"""The shared plan's read model (plan items and their versions, the journey timeline, the
streams each child's plan is current to, the lead professional) and the day each child was
registered (an `as_of` before it is refused).

Revision ID: 0003_shared_plan
Revises: 0002_graduated_response
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from oneplan_events.schema import UtcDateTime

revision: str = "0003_shared_plan"
down_revision: str | None = "0002_graduated_response"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _contribution_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("section", sa.String(2), nullable=False),
        sa.Column("data_class", sa.String(40), nullable=False),
        sa.Column("service", sa.String(63), nullable=False),
        sa.Column("agency", sa.String(63), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("author_role", sa.String(120), nullable=True),
        sa.Column("author_contact", sa.String(255), nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=True),
    ]


def upgrade() -> None:
    """Create the shared plan's tables; child facts learn the registration day."""
    op.add_column("child_facts", sa.Column("registered_at", UtcDateTime(), nullable=True))
    op.create_table(
        "plan_items",
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        *_contribution_columns(),
        sa.Column("submitted_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("source_event", sa.String(255), nullable=False),
        sa.Column("source_stream", sa.String(64), nullable=False),
        sa.Column("source_sequence", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("item_id", name="pk_plan_items"),
    )
    op.create_index("ix_plan_items_child_section", "plan_items", ["child_id", "section"])
    op.create_table(
        "plan_item_versions",
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("source_event", sa.String(255), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("valid_from", UtcDateTime(), nullable=False),
        sa.Column("source_sequence", sa.BigInteger(), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        *_contribution_columns(),
        sa.PrimaryKeyConstraint("item_id", "source_event", name="pk_plan_item_versions"),
    )
    op.create_index("ix_plan_item_versions_child", "plan_item_versions", ["child_id", "valid_from"])
    op.create_table(
        "plan_timeline",
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("service", sa.String(63), nullable=False),
        sa.Column("agency", sa.String(63), nullable=False),
        sa.Column("data_class", sa.String(40), nullable=False),
        sa.Column("event_type", sa.String(255), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name="pk_plan_timeline"),
    )
    op.create_index("ix_plan_timeline_child", "plan_timeline", ["child_id", "occurred_at"])
    op.create_table(
        "plan_sources",
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("stream", sa.String(64), nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.Column("last_event_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("child_id", "stream", name="pk_plan_sources"),
    )
    op.create_table(
        "lead_professionals",
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("role", sa.String(120), nullable=False),
        sa.Column("agency", sa.String(63), nullable=False),
        sa.Column("contact", sa.String(255), nullable=False),
        sa.Column("named_on", sa.Date(), nullable=False),
        sa.Column("named_by", sa.String(255), nullable=False),
        sa.Column("source_sequence", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("child_id", name="pk_lead_professionals"),
    )


def downgrade() -> None:
    """Drop the shared plan's tables."""
    for table in (
        "lead_professionals",
        "plan_sources",
        "plan_timeline",
        "plan_item_versions",
        "plan_items",
    ):
        op.drop_table(table)
    op.drop_column("child_facts", "registered_at")
