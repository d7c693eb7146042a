"""The backbone and kit tables every service database holds (event store, outbox, inbox,
dead letters, relay lease, idempotency keys).

Databases created before the kit had this branch got these tables from their service's first
migration; both create only what is missing, so either may run first.

Revision ID: backbone_0001
Revises:
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from oneplan_events.schema import create_backbone_tables
from oneplan_kit.schema import create_kit_tables

revision: str = "backbone_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("backbone",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create whichever of the first backbone and kit tables do not exist yet."""
    create_backbone_tables(op)  # type: ignore[arg-type]  # alembic.op proxies Operations
    create_kit_tables(op)


def downgrade() -> None:
    """Nothing: the event store is the system of record; it is never dropped by a downgrade."""
