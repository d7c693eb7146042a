"""Applying a batch of delivered messages exactly once and in each record's order.

For a batch, in ONE transaction: the versions already applied for its records are read (and
locked), each message is then applied (its handler runs), passed over (no handler: its
version still counts), recognised as a duplicate (its version was applied before) or held
back (a version gap, or a record whose earlier event failed), unreadable messages are parked,
and the new versions are written. Only after the commit are messages acknowledged; held ones
are nak'ed to come back shortly, so a record's later event never overtakes an earlier one.

When the batch transaction fails, the messages are applied one per transaction to find the
failing one: it is nak'ed with a backoff (parked after ``max_deliver`` failures), and the later
messages of its record in the batch are held until it is applied or parked. A database outage
is retried without counting against the message.

Events without a stream version (an integrator's, published without OnePlan's libraries) are
kept exactly-once by the inbox of processed event ids instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Final

from nats.aio.msg import Msg
from pydantic import ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oneplan_events.catalogue import (
    Catalogue,
    Event,
    UnknownEventType,
    UnsupportedSchemaVersion,
)
from oneplan_events.deadletters import park
from oneplan_events.envelope import Envelope, MalformedEvent, event_type_of_subject
from oneplan_events.faults import is_database_outage
from oneplan_events.positions import PositionRace, load_positions, save_positions
from oneplan_events.reactions import Delivery, Handler, Reactions, Unapplicable
from oneplan_events.schema import inbox
from oneplan_events.tracing import process_span
from oneplan_events.uow import UnitOfWork

__all__ = ["Applier", "ConsumerStats", "WorkFactory", "reason_of"]

logger = logging.getLogger("oneplan_events.consumer")

UNDECODABLE: Final = (MalformedEvent, UnknownEventType, UnsupportedSchemaVersion, ValidationError)
_MAX_HOLD_DELAY: Final = 2.0

WorkFactory = Callable[[AsyncSession, Envelope], UnitOfWork]
"""Builds the unit of work a handler gets, bound to the consumer's transaction."""


@dataclass(slots=True)
class ConsumerStats:
    """Counters since the consumer was built (for health pages, tests and benchmarks)."""

    applied: int = 0
    passed: int = 0
    duplicates: int = 0
    held: int = 0
    parked: int = 0
    retried: int = 0
    outages: int = 0
    batches: int = 0
    races: int = 0
    pulls_lost: int = 0
    replayed: int = 0
    replays_failed: int = 0


class _Action(Enum):
    ACK = "ack"
    HOLD = "hold"
    RETRY = "retry"
    TERM = "term"


@dataclass(slots=True)
class Item:
    """One delivered message, read as far as this consumer needs."""

    msg: Msg
    event_type: str
    stream_id: str | None
    version: int | None
    event_id: str | None
    envelope: Envelope | None = None
    event: Event | None = None
    handler: Handler | None = None
    problem: str | None = None  # why it cannot be applied: it is parked
    headers: Mapping[str, str] | None = None


@dataclass(slots=True)
class _Settled:
    item: Item
    action: _Action
    delay: float = 0.0
    outcome: str = "applied"
    reason: str = ""  # why a parked message was parked


@dataclass
class Applier:
    """Applies batches for one consumer (every partition of it shares one)."""

    name: str
    sessionmaker: async_sessionmaker[AsyncSession]
    catalogue: Catalogue
    reactions: Reactions
    work_factory: WorkFactory
    strict_order: bool
    max_deliver: int
    backoff: Sequence[float]
    parked_loses: str = ""
    stats: ConsumerStats = field(default_factory=ConsumerStats)
    # Failed attempts per event id in this process; deliveries would count holds too.
    _failures: dict[str, int] = field(default_factory=dict)

    # -- reading --------------------------------------------------------------------------

    def read(self, msg: Msg) -> Item:
        """A message as this consumer sees it: its record position, and for an event it
        handles, the decoded event (or why it cannot be decoded)."""
        headers = _lowered(msg.headers)
        event_type = event_type_of_subject(msg.subject)
        handler = self.reactions.handler_for(event_type)
        item = Item(
            msg,
            event_type,
            headers.get("ce-subject"),
            _version(headers.get("ce-streamversion")),
            headers.get("ce-id"),
            headers=headers,
        )
        if handler is None:
            return item  # not ours to apply: only its position in its record matters
        try:
            envelope = Envelope.from_nats(msg.subject, headers, msg.data)
            event = self.catalogue.decode_envelope(envelope)
        except UNDECODABLE as error:
            item.problem = reason_of(error)
            return item
        item.envelope, item.event, item.handler = envelope, event, handler
        item.stream_id, item.version, item.event_id = (
            envelope.subject,
            envelope.streamversion,
            envelope.id,
        )
        return item

    # -- applying -------------------------------------------------------------------------

    async def apply(self, messages: Sequence[Msg]) -> None:
        """Apply a batch, then acknowledge, hold back, retry or terminate each message."""
        self.stats.batches += 1
        items = [self.read(msg) for msg in messages]
        if any(item.event_id in self._failures for item in items):
            # A message that failed before would fail the whole batch again: go straight to
            # one transaction per message.
            await self._settle(await self._one_at_a_time(items, None))
            return
        try:
            async with self.sessionmaker() as session, session.begin():
                settled = await self._apply_in(session, items, set())
        except Exception as error:
            if isinstance(error, PositionRace):
                self.stats.races += 1
            if is_database_outage(error):
                settled = self._all_later(items, error)
            else:
                settled = await self._one_at_a_time(items, error)
        await self._settle(settled)

    async def apply_one(self, session: AsyncSession, item: Item) -> None:
        """Run ``item``'s handler in ``session`` (a dead letter's replay: no position check)."""
        await self._run_handler(session, item)

    async def _apply_in(
        self, session: AsyncSession, items: Sequence[Item], blocked: set[str]
    ) -> list[_Settled]:
        positions = await load_positions(
            session, self.name, [i.stream_id for i in items if i.stream_id and _positioned(i)]
        )
        claimed = await self._claim(session, [i for i in items if not _positioned(i)])
        moved: dict[str, int] = {}
        settled: list[_Settled] = []
        for item in items:
            if not _positioned(item):
                settled.append(await self._apply_unpositioned(session, item, claimed))
                continue
            assert item.stream_id is not None
            assert item.version is not None
            last = moved.get(item.stream_id, positions.get(item.stream_id, 0))
            verdict = self._verdict(item, last, blocked)
            if verdict is not None:
                settled.append(verdict)
                continue
            settled.append(await self._apply_positioned(session, item))
            moved[item.stream_id] = item.version
        await save_positions(session, self.name, moved)
        return settled

    def _verdict(self, item: Item, last: int, blocked: set[str]) -> _Settled | None:
        """Duplicate or held back: the message is not applied now (None: apply it)."""
        assert item.stream_id is not None
        assert item.version is not None
        if item.stream_id in blocked:
            return _Settled(item, _Action.HOLD, self._hold_delay(item), "held")
        if item.version <= last:
            return _Settled(item, _Action.ACK, outcome="duplicate")
        if self.strict_order and item.version > last + 1:
            # An earlier version of this record has not been applied yet: wait for it.
            blocked.add(item.stream_id)
            return _Settled(item, _Action.HOLD, self._hold_delay(item), "held")
        return None

    async def _apply_positioned(self, session: AsyncSession, item: Item) -> _Settled:
        if item.problem is not None:
            await park(session, self.name, item.msg, item.event_id, item.problem)
            return _Settled(item, _Action.TERM, outcome="parked", reason=item.problem)
        if item.handler is None:
            return _Settled(item, _Action.ACK, outcome="passed")
        await self._run_handler(session, item)
        return _Settled(item, _Action.ACK)

    async def _apply_unpositioned(
        self, session: AsyncSession, item: Item, claimed: set[str]
    ) -> _Settled:
        if item.problem is not None:
            await park(session, self.name, item.msg, item.event_id, item.problem)
            return _Settled(item, _Action.TERM, outcome="parked", reason=item.problem)
        if item.handler is None:
            return _Settled(item, _Action.ACK, outcome="passed")
        if item.event_id not in claimed:
            return _Settled(item, _Action.ACK, outcome="duplicate")
        claimed.discard(item.event_id)  # the same id twice in one batch
        await self._run_handler(session, item)
        return _Settled(item, _Action.ACK)

    async def _run_handler(self, session: AsyncSession, item: Item) -> None:
        assert item.envelope is not None
        assert item.handler is not None
        uow = self.work_factory(session, item.envelope)
        stream, sequence = _read_from(item.msg)
        with process_span(item.envelope, item.headers):
            await item.handler(item.event, Delivery(item.envelope, uow, stream, sequence))

    async def _claim(self, session: AsyncSession, items: Sequence[Item]) -> set[str]:
        """Inbox rows for events without a stream version; the ids not processed before."""
        ids = [i.event_id for i in items if i.handler is not None and i.event_id]
        if not ids:
            return set()
        now = datetime.now(UTC)
        rows = [
            {"consumer": self.name, "event_id": event_id, "processed_at": now}
            for event_id in dict.fromkeys(ids)
        ]
        claim: Any = (
            postgresql.insert(inbox)
            if session.get_bind().dialect.name == "postgresql"
            else sqlite.insert(inbox)
        )
        statement = claim.on_conflict_do_nothing(
            index_elements=[inbox.c.consumer, inbox.c.event_id]
        ).returning(inbox.c.event_id)
        return set((await session.execute(statement, rows)).scalars())

    # -- failures -------------------------------------------------------------------------

    async def _one_at_a_time(
        self, items: Sequence[Item], error: Exception | None
    ) -> list[_Settled]:
        if error is not None:
            logger.info("consumer %s: batch failed (%s); applying one at a time", self.name, error)
        blocked: set[str] = set()
        settled: list[_Settled] = []
        for item in items:
            try:
                async with self.sessionmaker() as session, session.begin():
                    settled.extend(await self._apply_in(session, [item], blocked))
            except Exception as failure:
                settled.append(await self._failed(item, failure, blocked))
        return settled

    async def _failed(self, item: Item, error: Exception, blocked: set[str]) -> _Settled:
        if item.stream_id is not None:
            blocked.add(item.stream_id)  # its record's later events wait for it
        if is_database_outage(error):
            self.stats.outages += 1
            return _Settled(item, _Action.RETRY, self._backoff_for(1), "retried")
        key = item.event_id or f"{item.msg.subject}:{item.msg.metadata.sequence.stream}"
        if isinstance(error, Unapplicable):
            return await self._park_failed(item, reason_of(error), key, retried=False)
        failures = self._failures.get(key, 0) + 1
        self._failures[key] = failures
        if failures < self.max_deliver:
            logger.warning(
                "consumer %s: %s failed (attempt %d of %d): %s",
                self.name,
                item.event_id,
                failures,
                self.max_deliver,
                reason_of(error),
            )
            return _Settled(item, _Action.RETRY, self._backoff_for(failures), "retried")
        return await self._park_failed(item, reason_of(error), key)

    async def _park_failed(
        self, item: Item, reason: str, key: str, *, retried: bool = True
    ) -> _Settled:
        """Park a message that failed ``max_deliver`` times (or that its handler found
        unapplicable, at once); its record's later events go on."""
        try:
            async with self.sessionmaker() as session, session.begin():
                await park(session, self.name, item.msg, item.event_id, reason)
                # Settled for good, as an applied event is: a copy delivered later is a
                # duplicate; only the letter's replay applies it (and applies it once).
                if _positioned(item):
                    assert item.stream_id is not None
                    assert item.version is not None
                    await save_positions(session, self.name, {item.stream_id: item.version})
                else:
                    await self._claim(session, [item])
        except Exception as error:
            logger.warning("consumer %s: cannot park %s: %r", self.name, item.event_id, error)
            return _Settled(item, _Action.RETRY, self._backoff_for(self.max_deliver), "retried")
        self._failures.pop(key, None)
        return _Settled(
            item,
            _Action.TERM,
            outcome="parked",
            reason=f"failed {self.max_deliver} times, last: {reason}" if retried else reason,
        )

    def _all_later(self, items: Sequence[Item], error: Exception) -> list[_Settled]:
        logger.warning("consumer %s: database unavailable (%s); retrying", self.name, error)
        self.stats.outages += 1
        delay = self._backoff_for(1)
        return [_Settled(item, _Action.RETRY, delay, "retried") for item in items]

    def _backoff_for(self, failures: int) -> float:
        return float(self.backoff[min(failures, len(self.backoff)) - 1])

    def _hold_delay(self, item: Item) -> float:
        deliveries = int(item.msg.metadata.num_delivered)
        return min(0.05 * 2.0 ** min(deliveries, 6), _MAX_HOLD_DELAY)

    # -- settling -------------------------------------------------------------------------

    async def _settle(self, settled: Sequence[_Settled]) -> None:
        for entry in settled:
            if entry.action is _Action.ACK:
                await entry.item.msg.ack()
            elif entry.action is _Action.TERM:
                await entry.item.msg.term()
                self._log_parked(entry)
            else:
                await entry.item.msg.nak(delay=entry.delay)
            self._count(entry)

    def _log_parked(self, entry: _Settled) -> None:
        """An ERROR naming the consumer, the event and what is missing until it is replayed."""
        item = entry.item
        loses = f"; missing until replayed: {self.parked_loses}" if self.parked_loses else ""
        logger.error(
            "consumer %s: parked event %s (%s): %s%s; see `oneplan deadletters list`",
            self.name,
            item.event_id,
            item.event_type,
            entry.reason,
            loses,
            extra={
                "consumer": self.name,
                "event_id": item.event_id,
                "event_type": item.event_type,
                "parked_loses": self.parked_loses or None,
            },
        )

    def _count(self, entry: _Settled) -> None:
        stats = self.stats
        if entry.outcome == "applied":
            stats.applied += 1
            if entry.item.event_id:
                self._failures.pop(entry.item.event_id, None)
        elif entry.outcome == "passed":
            stats.passed += 1
        elif entry.outcome == "duplicate":
            stats.duplicates += 1
        elif entry.outcome == "held":
            stats.held += 1
        elif entry.outcome == "parked":
            stats.parked += 1
        else:
            stats.retried += 1


def _read_from(msg: Msg) -> tuple[str | None, int | None]:
    """The stream and stream sequence a message was read at (None for a replayed letter)."""
    try:
        metadata = msg.metadata
    except Exception:  # a message not delivered by a JetStream consumer has no metadata
        return None, None
    return metadata.stream, metadata.sequence.stream


def _positioned(item: Item) -> bool:
    return item.stream_id is not None and item.version is not None


def _lowered(headers: Mapping[str, str] | None) -> Mapping[str, str]:
    # OnePlan publishes lower-case header names; an integrator's may differ in case, and the
    # CloudEvents binding makes them case-insensitive.
    if not headers:
        return {}
    if "ce-id" in headers:
        return headers
    return {key.lower(): value for key, value in headers.items()}


def _version(value: str | None) -> int | None:
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 12:
        return None
    version = int(value)
    return version if version > 0 else None


def reason_of(error: BaseException) -> str:
    """How a failure is recorded in a dead letter."""
    return f"{type(error).__name__}: {error}"
