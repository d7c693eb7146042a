"""Where each consumer stands in each record's stream (``consumer_positions``).

A consumer applies a record's events in version order exactly once: it reads the versions it
has applied for the records of a batch (locking the rows on PostgreSQL), applies only the next
versions, and writes the new versions back in the same transaction as the handlers' writes.
The write refuses to move a position backwards or sideways, so two instances that raced on a
record they had never seen make one of the two transactions fail (and retry) instead of
applying an event twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from oneplan_events.schema import consumer_positions

__all__ = ["PositionRace", "load_positions", "save_positions"]

_PG_LOCK: Final = text(
    "SELECT stream_id, version FROM consumer_positions "
    "WHERE consumer = :consumer AND stream_id = ANY(:stream_ids) FOR UPDATE"
)
# One statement text whatever the batch's size (arrays, not a VALUES row per record), so
# PostgreSQL prepares and plans it once per connection, not once per distinct batch size.
_PG_SAVE: Final = text(
    """
INSERT INTO consumer_positions AS cp (consumer, stream_id, version, updated_at)
SELECT CAST(:consumer AS text), moved.stream_id, moved.version, CAST(:now AS timestamptz)
FROM unnest(CAST(:stream_ids AS text[]), CAST(:versions AS integer[])) AS moved(stream_id, version)
ON CONFLICT (consumer, stream_id) DO UPDATE
SET version = excluded.version, updated_at = excluded.updated_at
WHERE cp.version < excluded.version
RETURNING cp.stream_id
"""
)


class PositionRace(Exception):
    """Another instance applied some of these records' versions first; retry the batch."""


async def load_positions(
    session: AsyncSession, consumer: str, stream_ids: Iterable[str]
) -> dict[str, int]:
    """The version each record was applied up to (absent: none yet), locked on PostgreSQL
    until the transaction ends."""
    wanted = list(dict.fromkeys(stream_ids))
    if not wanted:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        rows = await session.execute(_PG_LOCK, {"consumer": consumer, "stream_ids": wanted})
    else:
        # SQLite: BEGIN IMMEDIATE already holds the database's one write lock.
        rows = await session.execute(
            select(consumer_positions.c.stream_id, consumer_positions.c.version).where(
                consumer_positions.c.consumer == consumer,
                consumer_positions.c.stream_id.in_(wanted),
            )
        )
    return {stream_id: version for stream_id, version in rows}


async def save_positions(session: AsyncSession, consumer: str, versions: Mapping[str, int]) -> None:
    """Record the new versions; :class:`PositionRace` when one did not move forward."""
    if not versions:
        return
    now = datetime.now(UTC)
    if session.get_bind().dialect.name == "postgresql":
        result = await session.execute(
            _PG_SAVE,
            {
                "consumer": consumer,
                "now": now,
                "stream_ids": list(versions),
                "versions": list(versions.values()),
            },
        )
        _check_written(consumer, versions, set(result.scalars()))
        return
    rows = [
        {"consumer": consumer, "stream_id": stream_id, "version": version, "updated_at": now}
        for stream_id, version in versions.items()
    ]
    insert: Any = sqlite.insert(consumer_positions)
    statement = insert.on_conflict_do_update(
        index_elements=[consumer_positions.c.consumer, consumer_positions.c.stream_id],
        set_={"version": insert.excluded.version, "updated_at": insert.excluded.updated_at},
        where=consumer_positions.c.version < insert.excluded.version,
    ).returning(consumer_positions.c.stream_id)
    _check_written(consumer, versions, set((await session.execute(statement, rows)).scalars()))


def _check_written(consumer: str, versions: Mapping[str, int], written: set[str]) -> None:
    if len(written) != len(versions):
        stale = sorted(set(versions) - written)
        raise PositionRace(f"consumer {consumer}: positions of {stale[:5]} moved meanwhile")
