"""The wait's inputs as columns of `referrals` (the worklist and the report read no state),
the waiting list's partial indexes, the children's stories, and the directory's services.

Existing referrals get their new columns from their stored state (the same rules as the
projection: `domain/waits.py`); the directory's services are listed by the service's next
start, from its CSV, as events.

Revision ID: 0002
Revises: 0001
"""

import json
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NEW_COLUMNS = (
    ("referrer_agency", sa.String(63)),
    ("urgency", sa.String(20)),
    ("breach_on", sa.Date()),
    ("first_seen_on", sa.Date()),
    ("earliest_booked_on", sa.Date()),
    ("booked_dates", sa.Text()),
)
_REQUIRED = ("referrer_agency", "urgency", "breach_on", "booked_dates")


def _columns_of(state: dict[str, Any]) -> dict[str, Any]:
    appointments = state.get("appointments") or []
    attended = sorted(a["appointment_on"] for a in appointments if a["status"] == "attended")
    booked = sorted(a["appointment_on"] for a in appointments if a["status"] == "booked")
    received = date.fromisoformat(state["received_on"])
    return {
        "referrer_agency": state["referrer_agency"],
        "urgency": state["urgency"],
        "breach_on": received + timedelta(weeks=18),
        "first_seen_on": date.fromisoformat(attended[0]) if attended else None,
        "earliest_booked_on": date.fromisoformat(booked[0]) if booked else None,
        "booked_dates": " ".join(booked),
    }


def _backfill() -> None:
    bind = op.get_bind()
    referrals = sa.table(
        "referrals",
        sa.column("referral_id", sa.Uuid()),
        sa.column("state", sa.JSON()),
        *(sa.column(name, kind) for name, kind in _NEW_COLUMNS),
    )
    rows = bind.execute(sa.select(referrals.c.referral_id, referrals.c.state)).all()
    for referral_id, state in rows:
        values = _columns_of(state if isinstance(state, dict) else json.loads(state))
        bind.execute(
            referrals.update().where(referrals.c.referral_id == referral_id).values(**values)
        )


def upgrade() -> None:
    """Add the columns (filled from each referral's state), the indexes and the tables."""
    for name, kind in _NEW_COLUMNS:
        op.add_column("referrals", sa.Column(name, kind, nullable=True))
    _backfill()
    with op.batch_alter_table("referrals") as batch:
        for name, kind in _NEW_COLUMNS:
            if name in _REQUIRED:
                batch.alter_column(name, existing_type=kind, nullable=False)
    op.drop_index("ix_referrals_waiting_received_on", table_name="referrals")
    op.create_index(
        "ix_referrals_waiting_list",
        "referrals",
        ["received_on", "referral_id"],
        postgresql_where=sa.text("waiting"),
        sqlite_where=sa.text("waiting = 1"),
    )
    op.create_index(
        "ix_referrals_waiting_list_by_service",
        "referrals",
        ["service_id", "received_on", "referral_id"],
        postgresql_where=sa.text("waiting"),
        sqlite_where=sa.text("waiting = 1"),
    )
    op.create_table(
        "child_stories",
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("story", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("child_id", name="pk_child_stories"),
    )
    op.create_table(
        "directory_services",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("entry", sa.JSON(), nullable=False),
        sa.Column("retired_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("service_id", name="pk_directory_services"),
        sa.UniqueConstraint("code", name="uq_directory_services_code"),
    )


def downgrade() -> None:
    """Drop the tables, the indexes and the columns."""
    op.drop_table("directory_services")
    op.drop_table("child_stories")
    op.drop_index("ix_referrals_waiting_list_by_service", table_name="referrals")
    op.drop_index("ix_referrals_waiting_list", table_name="referrals")
    op.create_index("ix_referrals_waiting_received_on", "referrals", ["waiting", "received_on"])
    with op.batch_alter_table("referrals") as batch:
        for name, _ in reversed(_NEW_COLUMNS):
            batch.drop_column(name)
