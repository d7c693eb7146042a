"""The backbone tables every OnePlan service database holds.

``BACKBONE_METADATA`` describes the event store, the transactional outbox, the consumers'
inbox and record positions, the dead letters and the relay lease; the same tables run on
PostgreSQL and on SQLite. A service's first Alembic migration calls
:func:`create_backbone_tables`, which creates the first set of them; tables added since
come with the kit's own migrations (the ``backbone`` branch every service runs), so no
service edits a migration when the backbone grows.

On PostgreSQL an ``AFTER INSERT`` statement trigger on ``outbox`` sends
``NOTIFY oneplan_outbox`` so the relay wakes as soon as a command commits; NOTIFY is delivered
at commit, so the relay is never woken for work that can roll back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.types import JSON, TypeDecorator

if TYPE_CHECKING:
    from alembic.operations import Operations

__all__ = [
    "BACKBONE_METADATA",
    "NAMING_CONVENTION",
    "NOTIFY_CHANNEL",
    "TimestampOutOfRange",
    "UtcDateTime",
    "consumer_positions",
    "create_backbone_tables",
    "dead_letters",
    "drop_backbone_tables",
    "event_store",
    "inbox",
    "outbox",
    "relay_lease",
]

NOTIFY_CHANNEL = "oneplan_outbox"
"""The PostgreSQL LISTEN/NOTIFY channel the outbox trigger signals after each insert."""

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""The one constraint and index naming convention of every OnePlan table (backbone, kit and
every service's own, through ``oneplan_kit.tables.Base``)."""

BACKBONE_METADATA = MetaData(naming_convention=NAMING_CONVENTION)

# BIGINT on PostgreSQL; on SQLite only "INTEGER PRIMARY KEY" is the auto-assigned rowid.
_BigId = BigInteger().with_variant(Integer(), "sqlite")
_Json = JSON().with_variant(JSONB(), "postgresql")


class TimestampOutOfRange(ValueError):
    """A datetime whose UTC instant a timestamp column cannot hold (beyond year 1..9999)."""


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every dialect.

    PostgreSQL keeps the zone (``timestamptz``); SQLite stores text without one, so values are
    normalised to UTC on the way in and marked UTC on the way out: no naive datetime escapes.
    A value whose UTC instant falls outside years 1..9999 (e.g. 9999-12-31T23:59:59-23:59) is
    refused with :class:`TimestampOutOfRange`, never an ``OverflowError``; input should never
    get here, because the API types (``oneplan_events.types``) bound every datetime far inside.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given for a UTC timestamp column")
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise TimestampOutOfRange(
                f"{value.isoformat()} is outside the years 1 to 9999 once converted to UTC"
            ) from None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


_Timestamp = UtcDateTime()

event_store = Table(
    "event_store",
    BACKBONE_METADATA,
    Column("position", _BigId, primary_key=True, autoincrement=True),
    # PostgreSQL: pg_current_xact_id() of the appending transaction (gap-safe read_all);
    # SQLite: 0, because its single writer makes position order the commit order.
    Column("tx_id", BigInteger, nullable=False),
    Column("stream_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("type", Text, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("data", _Json, nullable=False),
    Column("metadata", _Json, nullable=False),
    Column("recorded_at", _Timestamp, nullable=False),
    UniqueConstraint("stream_id", "version"),
    Index(None, "tx_id", "position"),
    # AUTOINCREMENT: a position is never reused, even after the last row is deleted.
    sqlite_autoincrement=True,
)

_NOTIFY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION oneplan_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{NOTIFY_CHANNEL}', '');
    RETURN NULL;
END
$$
"""
_NOTIFY_TRIGGER = (
    "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox "
    "FOR EACH STATEMENT EXECUTE FUNCTION oneplan_outbox_notify()"
)


def _create_notify_trigger(target: Table, connection: Connection, **kw: Any) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(_NOTIFY_FUNCTION)
        connection.exec_driver_sql(_NOTIFY_TRIGGER)


def _first_outbox_columns() -> list[Column[Any]]:
    """The outbox's columns as the first backbone migration created them."""
    return [
        Column("id", _BigId, primary_key=True, autoincrement=True),
        Column("position", BigInteger, nullable=False),
        Column("event_id", String(36), nullable=False),
        Column("stream_id", Text, nullable=False),
        Column("subject", Text, nullable=False),
        Column("headers", _Json, nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("created_at", _Timestamp, nullable=False),
        Column("published_at", _Timestamp, nullable=True),
    ]


def _outbox_table(metadata: MetaData, *later: Column[Any]) -> Table:
    table = Table("outbox", metadata, *_first_outbox_columns(), *later, sqlite_autoincrement=True)
    # The relay only ever scans unpublished rows: a partial index stays as small as the
    # backlog.
    Index(
        "ix_outbox_unpublished",
        table.c.id,
        postgresql_where=table.c.published_at.is_(None),
        sqlite_where=table.c.published_at.is_(None),
    )
    event.listen(table, "after_create", _create_notify_trigger)
    return table


outbox = _outbox_table(
    BACKBONE_METADATA,
    # JetStream's sequence of the published event, its position in the service's stream
    # (backbone_0003): a write answers with it as a consistency token.
    Column("stream_sequence", BigInteger, nullable=True),
)
# A write looks its events' sequences up by event id (backbone_0003).
Index(None, outbox.c.event_id)

inbox = Table(
    "inbox",
    BACKBONE_METADATA,
    Column("consumer", Text, primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("processed_at", _Timestamp, nullable=False),
)

dead_letters = Table(
    "dead_letters",
    BACKBONE_METADATA,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("consumer", Text, nullable=False),
    Column("event_id", String(36), nullable=True),
    Column("subject", Text, nullable=False),
    Column("headers", _Json, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("error", Text, nullable=False),
    Column("deliveries", Integer, nullable=False),
    Column("parked_at", _Timestamp, nullable=False),
    # Set by an operator (request_replay); the consumer that parked the message applies it
    # again itself and sets replayed_at, or clears this when it fails again.
    Column("replay_requested_at", _Timestamp, nullable=True),
    Column("replayed_at", _Timestamp, nullable=True),
    Index(None, "consumer", "parked_at"),
)
# Every running consumer looks for its pending replay requests about once a second: a partial
# index keeps that query as small as the handful of letters waiting.
Index(
    "ix_dead_letters_replay_pending",
    dead_letters.c.consumer,
    postgresql_where=dead_letters.c.replay_requested_at.is_not(None)
    & dead_letters.c.replayed_at.is_(None),
    sqlite_where=dead_letters.c.replay_requested_at.is_not(None)
    & dead_letters.c.replayed_at.is_(None),
)

consumer_positions = Table(
    "consumer_positions",
    BACKBONE_METADATA,
    # Per consumer and record: the last stream version applied or passed over (an event
    # without a handler, or one parked), so nothing older is applied again and a gap shows.
    Column("consumer", Text, primary_key=True),
    Column("stream_id", Text, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", _Timestamp, nullable=False),
)

relay_lease = Table(
    "relay_lease",
    BACKBONE_METADATA,
    Column("name", Text, primary_key=True),
    Column("holder", Text, nullable=False),
    Column("expires_at", _Timestamp, nullable=False),
)


@event.listens_for(outbox, "after_drop")
def _drop_notify_function(target: Table, connection: Connection, **kw: Any) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("DROP FUNCTION IF EXISTS oneplan_outbox_notify()")


# The tables a service's first migration creates; later ones come with the kit's backbone
# migrations (oneplan_kit/backbone_migrations), which existing databases also run.
FIRST_BACKBONE_TABLES = (event_store, outbox, inbox, dead_letters, relay_lease)


def create_backbone_tables(op: Operations) -> None:
    """Create the first backbone tables (and the PostgreSQL outbox trigger) in a migration.

    ``op`` is ``alembic.op`` (an ``alembic.operations.Operations``); the tables are created
    on its bound connection, inside the migration's transaction, as they first were: what
    was added since comes with the kit's backbone migrations, which every database runs.
    """
    bind: Connection = op.get_bind()
    first = MetaData(naming_convention=NAMING_CONVENTION)
    tables = [
        _outbox_table(first) if table is outbox else table.to_metadata(first)
        for table in FIRST_BACKBONE_TABLES
    ]
    first.create_all(bind, tables=tables)


def drop_backbone_tables(op: Operations) -> None:
    """Drop the first backbone tables (the downgrade of :func:`create_backbone_tables`)."""
    bind: Connection = op.get_bind()
    BACKBONE_METADATA.drop_all(bind, tables=list(FIRST_BACKBONE_TABLES))
