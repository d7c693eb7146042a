"""Outbox reads and writes of the relay, per dialect.

PostgreSQL runs asyncpg prepared statements on the driver connection (no SQLAlchemy result
processing, and one ``= ANY($1)`` array instead of an IN list whose length, and so whose
prepared statement, changes with every batch); SQLite uses SQLAlchemy Core.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from oneplan_events._publisher import Message
from oneplan_events._store_pg import driver_connection, translated_errors
from oneplan_events.schema import outbox

_PG_FETCH: Final = """
SELECT id, stream_id, subject, headers::text, body, created_at FROM outbox
WHERE published_at IS NULL AND id > $1
ORDER BY id
LIMIT $2
"""
_PG_MARK: Final = "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """An unpublished outbox row: when it was written, and the message to publish."""

    created_at: datetime
    message: Message


async def fetch_unpublished(conn: AsyncConnection, after_id: int, limit: int) -> list[OutboxRow]:
    """Up to ``limit`` unpublished rows with an id above ``after_id``, in id order."""
    if conn.dialect.name == "postgresql":
        driver = await driver_connection(conn)
        with translated_errors(_PG_FETCH):
            records = await driver.fetch(_PG_FETCH, after_id, limit)
        return [
            OutboxRow(created_at, Message(id_, stream_id, subject, json.loads(headers), body))
            for id_, stream_id, subject, headers, body, created_at in records
        ]
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


async def mark_published(conn: AsyncConnection, ids: Sequence[int]) -> None:
    """Set ``published_at`` on the rows ``ids``."""
    if conn.dialect.name == "postgresql":
        driver = await driver_connection(conn)
        with translated_errors(_PG_MARK):
            await driver.execute(_PG_MARK, list(ids))
        return
    await conn.execute(
        update(outbox).where(outbox.c.id.in_(ids)).values(published_at=datetime.now(UTC))
    )
