"""The test service's tables: the backbone and the kit's, plus one read table.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from oneplan_events.schema import create_backbone_tables
from oneplan_kit.schema import create_kit_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_backbone_tables(op)
    create_kit_tables(op)
    op.create_table(
        "widget_names",
        sa.Column("widget_id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("widget_names")
