"""PostgreSQL event store backend: raw asyncpg on the caller's SQLAlchemy connection.

The hot path bypasses SQLAlchemy's statement layer (compilation, result processing): it runs
asyncpg's prepared statements on the driver connection that SQLAlchemy has checked out, inside
the caller's transaction. ``append`` is one round trip: a single statement reads the stream's
head, checks the expected version and the xid order (see :mod:`oneplan_events.store`), and
inserts every event and outbox row from ``unnest``-ed arrays.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final

import asyncpg
from pydantic_core import from_json
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from oneplan_events._store_base import ConcurrencyError, StoredRow, metadata_of
from oneplan_events.store import Position

if TYPE_CHECKING:
    from oneplan_events.envelope import Envelope

_VERSION_CONSTRAINT: Final = "uq_event_store_stream_id_version"

# Data-modifying CTEs always run to completion; `ins` inserts nothing when a check fails and
# the final SELECT reports what was found, so a conflict costs no extra round trip.
_APPEND: Final = """
WITH head AS (
    SELECT version, tx_id FROM event_store WHERE stream_id = $1
    ORDER BY version DESC LIMIT 1
), chk AS (
    SELECT coalesce((SELECT version FROM head), 0) AS version,
           coalesce((SELECT tx_id FROM head), 0) AS last_tx,
           pg_current_xact_id()::text::bigint AS tx
), new AS (
    SELECT * FROM unnest($3::text[], $4::text[], $5::int[], $6::text[], $7::text[],
                         $8::text[], $9::text[], $10::bytea[])
        WITH ORDINALITY AS n(event_id, type, schema_version, data, metadata,
                             subject, headers, body, ord)
), ins AS (
    INSERT INTO event_store
        (tx_id, stream_id, version, event_id, type, schema_version, data, metadata, recorded_at)
    SELECT chk.tx, $1, $2 + new.ord, new.event_id, new.type, new.schema_version,
           new.data::jsonb, new.metadata::jsonb, now()
    FROM chk, new
    WHERE chk.version = $2 AND chk.last_tx <= chk.tx
    ORDER BY new.ord
    RETURNING position, event_id
), outb AS (
    INSERT INTO outbox (position, event_id, stream_id, subject, headers, body, created_at)
    SELECT ins.position, ins.event_id, $1, new.subject, new.headers::jsonb, new.body, now()
    FROM ins JOIN new USING (event_id)
    ORDER BY ins.position
)
SELECT chk.version, chk.last_tx, chk.tx,
       (SELECT array_agg(position ORDER BY position) FROM ins) AS positions
FROM chk
"""

_READ_STREAM: Final = """
SELECT position, tx_id, stream_id, version, data::text, metadata::text, type, schema_version
FROM event_store
WHERE stream_id = $1 AND version > $2
ORDER BY version
"""

_STREAM_VERSION: Final = "SELECT coalesce(max(version), 0) FROM event_store WHERE stream_id = $1"

# Only transactions below the snapshot's xmin have all finished: rows below it never change.
_READ_ALL: Final = """
SELECT position, tx_id, stream_id, version, data::text, metadata::text, type, schema_version
FROM event_store
WHERE (tx_id, position) > ($1, $2)
  AND tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
ORDER BY tx_id, position
LIMIT $3
"""


@contextlib.contextmanager
def translated_errors(statement: str) -> Iterator[None]:
    """Raise driver errors as SQLAlchemy's, as they would be through SQLAlchemy itself.

    Callers (the unit of work, the API's error handlers) then see one family of errors,
    whichever backend ran: IntegrityError, OperationalError (connection lost), DBAPIError.
    """
    try:
        yield
    except asyncpg.IntegrityConstraintViolationError as error:
        raise IntegrityError(statement, None, error) from error
    except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError) as error:
        raise OperationalError(statement, None, error) from error
    except asyncpg.PostgresError as error:
        raise DBAPIError(statement, None, error) from error


async def driver_connection(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn``, inside the caller's transaction.

    SQLAlchemy's asyncpg adapter sends BEGIN lazily, with the first statement it runs itself.
    A statement sent straight to the driver before that would run outside any transaction
    (autocommit), so the adapter is asked to begin first, exactly as its own cursor would.
    """
    if not conn.in_transaction():
        await conn.begin()
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if driver is None:
        raise RuntimeError("the SQLAlchemy connection has no live asyncpg connection")
    if not driver.is_in_transaction():
        await _begin_in_adapter(raw.dbapi_connection)
    return driver


async def _begin_in_adapter(adapter: Any) -> None:
    """Begin the transaction the way SQLAlchemy's asyncpg adapter itself would.

    The one private call of a dependency in the backbone, kept here alone. Why: the adapter
    begins lazily, on the first statement it runs itself, and has no public way to begin; a
    statement sent straight to asyncpg before that would run in autocommit, and one begun
    with asyncpg's own API would be unknown to the adapter, whose commit would then do
    nothing. The public alternative, running a statement through SQLAlchemy first, costs a
    round trip on every command. tests/store/test_driver_adapter.py fails loudly when a
    SQLAlchemy upgrade changes this method or its effect.
    """
    await adapter._start_transaction()


async def append(
    conn: AsyncConnection,
    stream_id: str,
    expected_version: int,
    envelopes: Sequence[Envelope],
) -> list[Position]:
    """Insert the events and their outbox rows in one statement; see the module docstring."""
    driver = await driver_connection(conn)
    columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [], [])
    for envelope in envelopes:
        headers, body = envelope.to_nats()
        for column, value in zip(
            columns,
            (
                envelope.id,
                envelope.type,
                envelope.schema_version,
                body.decode(),
                json.dumps(metadata_of(envelope), separators=(",", ":")),
                envelope.nats_subject,
                json.dumps(headers, separators=(",", ":")),
                body,
            ),
            strict=True,
        ):
            column.append(value)
    try:
        with translated_errors(_APPEND):
            row = await driver.fetchrow(_APPEND, stream_id, expected_version, *columns)
    except IntegrityError as error:
        if getattr(error.orig, "constraint_name", None) == _VERSION_CONSTRAINT:
            raise ConcurrencyError(
                stream_id, expected_version, None, "a concurrent append committed first"
            ) from error
        raise
    found, last_tx, tx, positions = row
    if found != expected_version:
        raise ConcurrencyError(stream_id, expected_version, found)
    if positions is None:
        raise ConcurrencyError(
            stream_id,
            expected_version,
            found,
            f"this transaction (xid {tx}) is older than the stream's last writer "
            f"(xid {last_tx}); retry in a new transaction",
        )
    return [Position(tx, position) for position in positions]


def _stored(record: Any) -> StoredRow:
    position, tx_id, stream_id, version, data, metadata, type_, schema_version = record
    # pydantic-core's JSON parser: several times faster than json.loads, and what PostgreSQL
    # writes out of a jsonb column is plain JSON (no NaN, no lone surrogates), which both
    # parse to the same objects. The metadata stays text until the envelope is asked for.
    return StoredRow(
        position, tx_id, stream_id, version, from_json(data), metadata, type_, schema_version
    )


async def read_stream(conn: AsyncConnection, stream_id: str, after_version: int) -> list[StoredRow]:
    """The stream's rows after ``after_version``, in version order."""
    driver = await driver_connection(conn)
    return [
        _stored(record) for record in await driver.fetch(_READ_STREAM, stream_id, after_version)
    ]


async def stream_version(conn: AsyncConnection, stream_id: str) -> int:
    """The stream's last version (0 when empty)."""
    driver = await driver_connection(conn)
    with translated_errors(_STREAM_VERSION):
        version: int = await driver.fetchval(_STREAM_VERSION, stream_id)
    return version


async def read_all(
    conn: AsyncConnection, after_tx_id: int, after_position: int, limit: int
) -> list[StoredRow]:
    """Rows after the cursor in (tx_id, position) order, only below the snapshot's xmin."""
    driver = await driver_connection(conn)
    with translated_errors(_READ_ALL):
        records = await driver.fetch(_READ_ALL, after_tx_id, after_position, limit)
    return [_stored(record) for record in records]
