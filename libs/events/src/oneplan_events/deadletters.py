"""Dead letters: messages a consumer gave up on, kept whole, listed and replayable.

A replay publishes nothing. :func:`request_replay` only marks the letter; the running
consumer that parked it (:class:`oneplan_events.consumer.DurableConsumer`, same name) picks
the request up within about a second and applies the stored message itself: the same decoding
and handler transaction as a delivery, without the position or inbox check (parking settled
the event there, so that a copy delivered later is a duplicate; the replay is what applies
it). So a replay needs no permission to publish another service's subjects, and reaches only
the consumer that parked it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from nats.aio.msg import Msg
from sqlalchemy import RowMapping, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from oneplan_events.schema import dead_letters

__all__ = [
    "DeadLetter",
    "DeadLetterAlreadyReplayed",
    "DeadLetterNotFound",
    "list_dead_letters",
    "park",
    "request_replay",
]


class DeadLetterNotFound(LookupError):
    """No dead letter has this id."""


class DeadLetterAlreadyReplayed(ValueError):
    """The dead letter was replayed already; it cannot be replayed twice."""

    def __init__(self, letter: DeadLetter) -> None:
        super().__init__(
            f"dead letter {letter.id} of {letter.consumer} was already replayed "
            f"at {letter.replayed_at:%Y-%m-%d %H:%M:%S} UTC"
        )
        self.letter = letter


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A parked message: what arrived, why it was parked, and where its replay stands."""

    id: int
    consumer: str
    event_id: str | None
    subject: str
    headers: Mapping[str, str]
    body: bytes
    error: str
    deliveries: int
    parked_at: datetime
    replay_requested_at: datetime | None
    replayed_at: datetime | None

    @property
    def state(self) -> str:
        """``parked``, ``replay requested`` (waiting for its consumer) or ``replayed``."""
        if self.replayed_at is not None:
            return "replayed"
        if self.replay_requested_at is not None:
            return "replay requested"
        return "parked"


async def park(
    session: AsyncSession, consumer: str, msg: Msg, event_id: str | None, error: str
) -> None:
    """Record ``msg`` as a dead letter of ``consumer`` in the caller's transaction.

    A message parked again after a crash between the park and its termination is recorded
    once: an unreplayed dead letter of the same event is kept as it is.
    """
    # The column holds a UUID; an integrator's longer id is kept whole in the headers.
    event_id = event_id[:36] if event_id else None
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
    """Dead letters, oldest first; of one consumer when given; unreplayed ones unless asked.

    A letter whose replay was requested but not yet applied is listed (``state`` says so).
    """
    query = select(dead_letters).order_by(dead_letters.c.id)
    if consumer is not None:
        query = query.where(dead_letters.c.consumer == consumer)
    if not include_replayed:
        query = query.where(dead_letters.c.replayed_at.is_(None))
    rows = (await session.execute(query)).mappings()
    return [dead_letter_from_row(row) for row in rows]


async def request_replay(session: AsyncSession, dead_letter_id: int) -> DeadLetter:
    """Ask the consumer that parked this letter to apply it again; the caller commits.

    Raises :class:`DeadLetterNotFound` for an unknown id and
    :class:`DeadLetterAlreadyReplayed` for one replayed already. A request still waiting is
    returned as it is. The consumer sets ``replayed_at`` once it applied the message (or found
    the event applied already); when the message fails again it stays parked with the new
    error and the request is cleared, to be asked again once the cause is fixed.
    """
    letter = await _find(session, dead_letter_id)
    if letter is None:
        raise DeadLetterNotFound(dead_letter_id)
    if letter.replayed_at is not None:
        raise DeadLetterAlreadyReplayed(letter)
    if letter.replay_requested_at is not None:
        return letter
    requested_at = datetime.now(UTC)
    # Conditional: a consumer replaying it between our read and this write keeps its result.
    marked = await session.execute(
        update(dead_letters)
        .where(dead_letters.c.id == dead_letter_id, dead_letters.c.replayed_at.is_(None))
        .values(replay_requested_at=requested_at)
        .returning(dead_letters.c.id)
    )
    if marked.scalar_one_or_none() is None:
        raise DeadLetterAlreadyReplayed(await _find(session, dead_letter_id) or letter)
    return dataclasses.replace(letter, replay_requested_at=requested_at)


async def _find(session: AsyncSession, dead_letter_id: int) -> DeadLetter | None:
    query = select(dead_letters).where(dead_letters.c.id == dead_letter_id)
    row = (await session.execute(query)).mappings().one_or_none()
    return None if row is None else dead_letter_from_row(row)


def dead_letter_from_row(row: RowMapping) -> DeadLetter:
    """A :class:`DeadLetter` from a ``dead_letters`` row (every column selected)."""
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
        replay_requested_at=row["replay_requested_at"],
        replayed_at=row["replayed_at"],
    )
