"""Outbox reads and writes of the relay, per dialect: unpublished rows in commit order.

Outbox ids, like event positions, are taken when a row is inserted, not when its transaction
commits: a reader walking the outbox by id can pass a row whose transaction is still open,
and that row then commits *behind* its cursor, after a later event of the same stream was
read. So on PostgreSQL :class:`OutboxReader` reads in the store's commit order, with the
gap safety of ``EventStore.read_all`` (see :mod:`oneplan_events.store`):

* the order is ``(tx_id, position)``, ``tx_id`` being the appending transaction's xid, found
  by joining the row's ``position`` to ``event_store`` (every outbox row is written by
  ``EventStore.append`` beside its event, so the join always finds it; no outbox column or
  migration is needed);
* only rows whose ``tx_id`` is below ``xmin`` (``pg_snapshot_xmin(pg_current_snapshot())``,
  read by the statement just before) are returned: every transaction below it had finished,
  so its rows are all visible to the read and no row can later appear behind the cursor.

The price: a long-open writing transaction anywhere in the cluster holds the relay back (it
stalls, never skips), as it holds ``read_all`` back. While ``xmin`` stays where it was at the
last complete pass nothing new can settle, so looking again then costs one trivial query.

Cost: the outbox has no index in ``tx_id`` order, so finding the next rows in that order
means looking at every unpublished row (the partial index ``ix_outbox_unpublished`` and one
primary-key probe of ``event_store`` each; published rows are never touched). The reader
therefore plans ahead: one query orders the keys of up to ``plan_size`` rows, and batches are
then read by id. With a small backlog that is one cheap query per batch; with a large one it
is one full pass per ``plan_size`` rows instead of one per batch.

SQLite has a single writer whose lock is held from its first write to its commit, so id
order is commit order there and the reader walks ids. PostgreSQL statements run on the
asyncpg driver connection (no SQLAlchemy result processing, and ``= ANY($1)`` arrays instead
of IN lists whose length, and so whose prepared statement, changes with every batch); SQLite
uses SQLAlchemy Core.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from oneplan_events._publisher import Message
from oneplan_events._store_pg import driver_connection, translated_errors
from oneplan_events.schema import outbox
from oneplan_events.store import Position

# Unpublished rows after the cursor, each with its transaction id. The LATERAL subquery (kept
# a subquery by OFFSET 0) makes the plan start from the unpublished rows, each probing
# event_store's primary key: a join the planner may flatten would rather hash the whole
# event_store, published rows and all.
_PG_AFTER_CURSOR: Final = """
FROM outbox o
CROSS JOIN LATERAL (
    SELECT event_store.tx_id FROM event_store
    WHERE event_store.position = o.position
    OFFSET 0
) e
WHERE o.published_at IS NULL
  AND (e.tx_id, o.position) > ($1, $2)
"""
# Every transaction below this snapshot's xmin has finished, so by the next statement every
# row it wrote is visible and settled. Also switches JIT off for the rest of the transaction:
# the planner's cost estimate for a large backlog would turn it on, and compiling costs more
# than the query itself.
_PG_XMIN: Final = (
    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, set_config('jit', 'off', true)"
)
# The next settled rows, keys only.
_PG_PLAN: Final = f"""
SELECT o.id, e.tx_id, o.position
{_PG_AFTER_CURSOR}
  AND e.tx_id < $3
ORDER BY e.tx_id, o.position
LIMIT $4
"""
# Asked when nothing is settled: are committed rows waiting for older transactions to finish?
_PG_HELD_BACK: Final = f"SELECT EXISTS (SELECT 1 {_PG_AFTER_CURSOR})"
_PG_ROWS: Final = """
SELECT id, stream_id, subject, headers::text, body, created_at FROM outbox
WHERE id = ANY($1::bigint[]) AND published_at IS NULL
"""
# The JetStream sequence is kept: a consent write answers with it (a consistency token).
_PG_MARK: Final = """
UPDATE outbox SET published_at = now(), stream_sequence = acked.seq
FROM unnest($1::bigint[], $2::bigint[]) AS acked(id, seq)
WHERE outbox.id = acked.id
"""

PLAN_SIZE: Final = 50_000
"""How many rows' keys the PostgreSQL reader orders in one pass over the backlog."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """An unpublished outbox row: when it was written, and the message to publish."""

    created_at: datetime
    message: Message


class OutboxReader:
    """Unpublished outbox rows of ``engine``'s database in commit order, ``batch`` at a time.

    Each :meth:`next_batch` continues after the last row it returned, and never returns a row
    behind one it returned before, however late that row's transaction commits. Call
    :meth:`restart` to read again from the first unpublished row (after a failure left rows
    unacknowledged behind the cursor, or when another relay may have published).

    :attr:`held_back` is True when the last look at the outbox found committed rows that must
    wait for an older transaction to finish (PostgreSQL only): no commit of theirs is left to
    announce them, so the caller should look again soon rather than wait for a NOTIFY.
    """

    def __init__(self, engine: AsyncEngine, batch: int, plan_size: int = PLAN_SIZE) -> None:
        self.engine = engine
        self.batch = batch
        self.plan_size = max(plan_size, batch)
        self.held_back = False
        self.restart()

    def restart(self) -> None:
        """Start again from the first unpublished row."""
        # PostgreSQL: (tx_id, position) of the last row planned; SQLite: (0, id) of the last
        # row read.
        self._after = Position.START
        self._plan: deque[int] = deque()  # outbox ids, in commit order
        # The xmin below which every settled row after the cursor is planned: until xmin
        # moves on, nothing new can settle, so looking again costs one trivial query.
        self._planned_below: int | None = None

    async def next_batch(self) -> list[OutboxRow]:
        """The next rows in commit order; empty when none can be published yet."""
        self.held_back = False
        async with self.engine.connect() as conn:
            if conn.dialect.name != "postgresql":
                rows = await _sqlite_rows(conn, self._after.position, self.batch)
                if rows:
                    self._after = Position(0, rows[-1].message.key)
                return rows
            driver = await driver_connection(conn)
            while True:
                if len(self._plan) < self.batch:
                    await self._plan_ahead(driver)
                if not self._plan:
                    self.held_back = await self._held_back(driver)
                    return []
                ids = [self._plan.popleft() for _ in range(min(self.batch, len(self._plan)))]
                # Rows another relay published since they were planned are left out.
                if rows := await _pg_rows(driver, ids):
                    return rows

    async def _plan_ahead(self, driver: Any) -> None:
        with translated_errors(_PG_XMIN):
            xmin, _jit = await driver.fetchrow(_PG_XMIN)
        if xmin == self._planned_below:
            return
        with translated_errors(_PG_PLAN):
            keys = await driver.fetch(
                _PG_PLAN, self._after.tx_id, self._after.position, xmin, self.plan_size
            )
        self._planned_below = xmin if len(keys) < self.plan_size else None
        if keys:
            self._plan.extend(id_ for id_, _tx_id, _position in keys)
            self._after = Position(keys[-1][1], keys[-1][2])

    async def _held_back(self, driver: Any) -> bool:
        with translated_errors(_PG_HELD_BACK):
            found: bool = await driver.fetchval(
                _PG_HELD_BACK, self._after.tx_id, self._after.position
            )
        return found


async def _pg_rows(driver: Any, ids: list[int]) -> list[OutboxRow]:
    with translated_errors(_PG_ROWS):
        records = await driver.fetch(_PG_ROWS, ids)
    by_id = {
        id_: OutboxRow(created_at, Message(id_, stream_id, subject, json.loads(headers), body))
        for id_, stream_id, subject, headers, body, created_at in records
    }
    return [by_id[id_] for id_ in ids if id_ in by_id]


async def _sqlite_rows(conn: AsyncConnection, after_id: int, limit: int) -> list[OutboxRow]:
    result = await conn.execute(
        select(
            outbox.c.id,
            outbox.c.stream_id,
            outbox.c.subject,
            outbox.c.headers,
            outbox.c.body,
            outbox.c.created_at,
        )
        .where(outbox.c.published_at.is_(None), outbox.c.id > after_id)
        .order_by(outbox.c.id)
        .limit(limit)
    )
    return [
        OutboxRow(r.created_at, Message(r.id, r.stream_id, r.subject, r.headers, r.body))
        for r in result
    ]


async def mark_published(conn: AsyncConnection, acked: Sequence[tuple[int, int]]) -> None:
    """Set ``published_at`` and the JetStream ``stream_sequence`` on the acknowledged rows
    (``(outbox id, sequence)`` pairs)."""
    if conn.dialect.name == "postgresql":
        driver = await driver_connection(conn)
        with translated_errors(_PG_MARK):
            await driver.execute(_PG_MARK, [i for i, _ in acked], [q for _, q in acked])
        return
    now = datetime.now(UTC)
    await conn.execute(
        update(outbox)
        .where(outbox.c.id == bindparam("row_id"))
        .values(published_at=now, stream_sequence=bindparam("sequence")),
        [{"row_id": row_id, "sequence": sequence} for row_id, sequence in acked],
    )
