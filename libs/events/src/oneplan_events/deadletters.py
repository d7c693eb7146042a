"""Dead letters: messages a consumer gave up on, kept whole, listed and replayable."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from sqlalchemy import RowMapping, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from oneplan_events.envelope import MSG_ID_HEADER
from oneplan_events.schema import dead_letters

__all__ = [
    "DeadLetter",
    "DeadLetterNotFound",
    "list_dead_letters",
    "park",
    "replay_dead_letter",
]


class DeadLetterNotFound(LookupError):
    """No dead letter has this id."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A parked message: what arrived, why it was parked, and whether it was replayed."""

    id: int
    consumer: str
    event_id: str | None
    subject: str
    headers: Mapping[str, str]
    body: bytes
    error: str
    deliveries: int
    parked_at: datetime
    replayed_at: datetime | None


async def park(
    session: AsyncSession, consumer: str, msg: Msg, event_id: str | None, error: str
) -> None:
    """Record ``msg`` as a dead letter of ``consumer`` in the caller's transaction.

    A message parked again after a crash between the park and its termination is recorded
    once: an unreplayed dead letter of the same event is kept as it is.
    """
    if event_id is not None:
        existing = await session.scalar(
            select(dead_letters.c.id).where(
                dead_letters.c.consumer == consumer,
                dead_letters.c.event_id == event_id,
                dead_letters.c.replayed_at.is_(None),
            )
        )
        if existing is not None:
            return
    await session.execute(
        insert(dead_letters).values(
            consumer=consumer,
            event_id=event_id,
            subject=msg.subject,
            headers=dict(msg.headers or {}),
            body=bytes(msg.data),
            error=error,
            deliveries=int(msg.metadata.num_delivered),
            parked_at=datetime.now(UTC),
        )
    )


async def list_dead_letters(
    session: AsyncSession, consumer: str | None = None, *, include_replayed: bool = False
) -> list[DeadLetter]:
    """Dead letters, oldest first; of one consumer when given; unreplayed ones unless asked."""
    query = select(dead_letters).order_by(dead_letters.c.id)
    if consumer is not None:
        query = query.where(dead_letters.c.consumer == consumer)
    if not include_replayed:
        query = query.where(dead_letters.c.replayed_at.is_(None))
    rows = (await session.execute(query)).mappings()
    return [_dead_letter(row) for row in rows]


async def replay_dead_letter(
    session: AsyncSession, js: JetStreamContext, dead_letter_id: int
) -> DeadLetter:
    """Publish the parked message again, as it arrived, and mark it replayed.

    The message gets a fresh ``Nats-Msg-Id`` (the event id plus a suffix) so that the
    stream's duplicate window does not drop it; its ``ce-id`` is unchanged, so a consumer that
    applied the event already skips it by its inbox. The caller commits ``replayed_at``; if it
    does not, the replay is simply done again later, harmlessly.
    """
    row = (
        (await session.execute(select(dead_letters).where(dead_letters.c.id == dead_letter_id)))
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise DeadLetterNotFound(dead_letter_id)
    letter = _dead_letter(row)
    headers = {key: value for key, value in letter.headers.items() if key != MSG_ID_HEADER}
    original = letter.event_id or str(letter.id)
    headers[MSG_ID_HEADER] = f"{original}~replay-{uuid.uuid4().hex[:12]}"
    await js.publish(letter.subject, letter.body, headers=headers)
    replayed_at = datetime.now(UTC)
    await session.execute(
        update(dead_letters)
        .where(dead_letters.c.id == dead_letter_id)
        .values(replayed_at=replayed_at)
    )
    return dataclasses.replace(letter, replayed_at=replayed_at)


def _dead_letter(row: RowMapping) -> DeadLetter:
    return DeadLetter(
        id=row["id"],
        consumer=row["consumer"],
        event_id=row["event_id"],
        subject=row["subject"],
        headers=dict(row["headers"]),
        body=bytes(row["body"]),
        error=row["error"],
        deliveries=row["deliveries"],
        parked_at=row["parked_at"],
        replayed_at=row["replayed_at"],
    )
