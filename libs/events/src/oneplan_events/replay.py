"""Replay from the service's own event store: republish to JetStream, rebuild a projection.

The database is the record and JetStream the transport. :func:`republish` refills a stream
from the store (after a JetStream loss, say): every event goes out again with its own id as
``Nats-Msg-Id``, so JetStream drops those it still holds within its duplicate window and the
consumers' inboxes drop the rest. :func:`rebuild_projection` feeds every stored event, in
commit order, to a projection's ``apply`` in pages. Both read with :meth:`EventStore.read_all`,
so they are gap-safe while the service keeps writing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final

from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from oneplan_events._publisher import Message, PublishSession
from oneplan_events.store import EventStore, Position, RecordedEvent

__all__ = ["Progress", "rebuild_projection", "republish"]

Progress = Callable[[int, Position], None]
"""Called after each page with the number of events done so far and the last position."""

_REPUBLISH_PAGE: Final = 1000


async def _read_page(
    engine: AsyncEngine, store: EventStore, after: Position, limit: int
) -> list[RecordedEvent]:
    async with engine.connect() as conn:
        return await store.read_all(conn, after, limit)


async def republish(
    engine: AsyncEngine,
    js: JetStreamContext,
    after: Position = Position.START,
    progress: Progress | None = None,
    *,
    in_flight: int = 256,
    ack_timeout: float = 5.0,
) -> int:
    """Publish every stored event after ``after`` again, in order per stream; return the count.

    Raises the first publish error (after reporting progress up to the last page that was
    wholly acknowledged); run it again from that position to continue.
    """
    store = EventStore()
    session = PublishSession(js, in_flight=in_flight, ack_timeout=ack_timeout)
    published = 0
    page = await _read_page(engine, store, after, _REPUBLISH_PAGE)
    while page:
        following = asyncio.create_task(
            _read_page(engine, store, page[-1].position, _REPUBLISH_PAGE)
        )
        await session.feed([_message(key, recorded) for key, recorded in enumerate(page)])
        await session.flush()
        if session.error is not None:
            following.cancel()
            raise session.error
        published += len(session.take_acked())
        if progress is not None:
            progress(published, page[-1].position)
        page = await following
    return published


def _message(key: int, recorded: RecordedEvent) -> Message:
    headers, body = recorded.envelope.to_nats()
    return Message(key, recorded.stream_id, recorded.envelope.nats_subject, headers, body)


async def rebuild_projection(
    engine: AsyncEngine,
    apply: Callable[[list[RecordedEvent]], Awaitable[None]],
    *,
    from_: Position = Position.START,
    batch: int = 5000,
    progress: Progress | None = None,
    store: EventStore | None = None,
) -> int:
    """Feed every event after ``from_`` to ``apply``, ``batch`` at a time in commit order.

    ``apply`` owns its transaction (one per page is the fast choice). The next page is read
    while ``apply`` works on the current one. Returns the number of events applied.
    """
    store = store or EventStore()
    applied = 0
    page = await _read_page(engine, store, from_, batch)
    while page:
        following = asyncio.create_task(_read_page(engine, store, page[-1].position, batch))
        try:
            await apply(page)
        except BaseException:
            following.cancel()
            raise
        applied += len(page)
        if progress is not None:
            progress(applied, page[-1].position)
        page = await following
    return applied
