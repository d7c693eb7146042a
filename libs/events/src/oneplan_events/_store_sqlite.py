"""SQLite event store backend (the embedded default), with SQLAlchemy Core.

SQLite has one writer at a time and a writing transaction holds the lock from its first write
to its commit, so positions are handed out in commit order: ``tx_id`` is always 0 and
``read_all`` orders by position alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from oneplan_events._store_base import ConcurrencyError, StoredRow, metadata_of
from oneplan_events.schema import event_store, outbox
from oneplan_events.store import Position

if TYPE_CHECKING:
    from oneplan_events.envelope import Envelope

_TX_ID: Final = 0
_VERSION_CONSTRAINT_MESSAGE: Final = "event_store.stream_id, event_store.version"
_COLUMNS: Final = (
    event_store.c.position,
    event_store.c.tx_id,
    event_store.c.stream_id,
    event_store.c.version,
    event_store.c.data,
    event_store.c.metadata,
    event_store.c.type,
    event_store.c.schema_version,
)


async def append(
    conn: AsyncConnection,
    stream_id: str,
    expected_version: int,
    envelopes: Sequence[Envelope],
) -> list[Position]:
    """Check the stream's version, then insert the events and their outbox rows."""
    found = await stream_version(conn, stream_id)
    if found != expected_version:
        raise ConcurrencyError(stream_id, expected_version, found)
    now = datetime.now(UTC)
    try:
        result = await conn.execute(
            insert(event_store).returning(event_store.c.position, sort_by_parameter_order=True),
            [
                _event_row(envelope, stream_id, expected_version + offset, now)
                for offset, envelope in enumerate(envelopes, start=1)
            ],
        )
    except IntegrityError as error:
        if _VERSION_CONSTRAINT_MESSAGE in str(error.orig):
            raise ConcurrencyError(
                stream_id, expected_version, None, "a concurrent append committed first"
            ) from error
        raise
    positions = list(result.scalars())
    await conn.execute(
        insert(outbox),
        [
            _outbox_row(envelope, stream_id, position, now)
            for envelope, position in zip(envelopes, positions, strict=True)
        ],
    )
    return [Position(_TX_ID, position) for position in positions]


def _event_row(envelope: Envelope, stream_id: str, version: int, now: datetime) -> dict[str, Any]:
    return {
        "tx_id": _TX_ID,
        "stream_id": stream_id,
        "version": version,
        "event_id": envelope.id,
        "type": envelope.type,
        "schema_version": envelope.schema_version,
        "data": dict(envelope.data),
        "metadata": metadata_of(envelope),
        "recorded_at": now,
    }


def _outbox_row(envelope: Envelope, stream_id: str, position: int, now: datetime) -> dict[str, Any]:
    headers, body = envelope.to_nats()
    return {
        "position": position,
        "event_id": envelope.id,
        "stream_id": stream_id,
        "subject": envelope.nats_subject,
        "headers": headers,
        "body": body,
        "created_at": now,
    }


def _stored(row: Any) -> StoredRow:
    position, tx_id, stream_id, version, data, metadata, type_, schema_version = row
    return StoredRow(position, tx_id, stream_id, version, data, metadata, type_, schema_version)


async def read_stream(conn: AsyncConnection, stream_id: str, after_version: int) -> list[StoredRow]:
    """The stream's rows after ``after_version``, in version order."""
    result = await conn.execute(
        select(*_COLUMNS)
        .where(event_store.c.stream_id == stream_id, event_store.c.version > after_version)
        .order_by(event_store.c.version)
    )
    return [_stored(row) for row in result]


async def stream_version(conn: AsyncConnection, stream_id: str) -> int:
    """The stream's last version (0 when empty)."""
    result = await conn.execute(
        select(func.coalesce(func.max(event_store.c.version), 0)).where(
            event_store.c.stream_id == stream_id
        )
    )
    version: int = result.scalar_one()
    return version


async def read_all(
    conn: AsyncConnection, after_tx_id: int, after_position: int, limit: int
) -> list[StoredRow]:
    """Rows after the cursor in position order (every tx_id is 0 on SQLite)."""
    result = await conn.execute(
        select(*_COLUMNS)
        .where(event_store.c.position > after_position)
        .order_by(event_store.c.position)
        .limit(limit)
    )
    return [_stored(row) for row in result]
