"""Backbone and kit tables, child facts, consent read models and the disclosure log.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from oneplan_events.schema import create_backbone_tables, drop_backbone_tables
from oneplan_kit.schema import create_kit_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    create_backbone_tables(op)  # type: ignore[arg-type]  # alembic.op proxies Operations
    create_kit_tables(op)
    op.create_table(
        "child_facts",
        sa.Column("child_id", sa.Uuid(), primary_key=True),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("compulsory_school_age_ends_on", sa.Date(), nullable=False),
    )
    op.create_table(
        "family_members",
        sa.Column("child_id", sa.Uuid(), primary_key=True),
        sa.Column("member_id", sa.Uuid(), primary_key=True),
        sa.Column("relationship", sa.String(50), nullable=False),
        sa.Column("parental_responsibility", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "consents",
        sa.Column("consent_id", sa.Uuid(), primary_key=True),
        sa.Column("child_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("status", sa.String(20), nullable=False),
        _ts("valid_from"),
        _ts("valid_until"),
        _ts("ended_at", nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
    )
    op.create_index("ix_consents_status_valid_until", "consents", ["status", "valid_until"])
    op.create_table(
        "overrides",
        sa.Column("override_id", sa.Uuid(), primary_key=True),
        sa.Column("child_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("needs_review", sa.Boolean(), nullable=False, index=True),
        sa.Column("hide_from_family", sa.Boolean(), nullable=False),
        _ts("starts_at"),
        _ts("ends_at"),
        _ts("ended_at", nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("reviews", sa.JSON(), nullable=False),
    )
    op.create_table(
        "refusals",
        sa.Column("refusal_id", sa.Uuid(), primary_key=True),
        sa.Column("child_id", sa.Uuid(), nullable=False, index=True),
        _ts("recorded_at"),
        sa.Column("record", sa.JSON(), nullable=False),
    )
    op.create_table(
        "duties",
        sa.Column("duty_id", sa.Uuid(), primary_key=True),
        sa.Column("child_id", sa.Uuid(), nullable=False, index=True),
        _ts("ended_at", nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
    )
    op.create_table(
        "disclosures",
        sa.Column("disclosure_id", sa.Uuid(), primary_key=True),
        sa.Column("child_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("service", sa.String(63), nullable=False),
        sa.Column("owner_agency", sa.String(63), nullable=False),
        sa.Column("recipient_agency", sa.String(63), nullable=False),
        sa.Column("recipient", sa.String(300), nullable=False),
        sa.Column("data_classes", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(63), nullable=False),
        sa.Column("basis", sa.String(20), nullable=False),
        sa.Column("reference_id", sa.Uuid(), nullable=True),
        _ts("disclosed_at"),
    )
    op.create_index("ix_disclosures_disclosed_at", "disclosures", ["disclosed_at"])


def downgrade() -> None:
    for table in ("disclosures", "duties", "refusals", "overrides", "consents"):
        op.drop_table(table)
    op.drop_table("family_members")
    op.drop_table("child_facts")
    op.drop_table("idempotency_keys")
    drop_backbone_tables(op)  # type: ignore[arg-type]  # alembic.op proxies Operations
