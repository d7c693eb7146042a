"""Durable, idempotent JetStream consumers.

A :class:`DurableConsumer` is a JetStream durable pull consumer that several instances of a
service share (scale out). For each batch it receives it

1. reads every message into an envelope and a typed event; a message that is malformed, of an
   unknown type or that fails validation is parked in ``dead_letters`` at once, with the
   reason, and terminated so JetStream stops redelivering it;
2. skips events whose ``(consumer, event_id)`` is already in the ``inbox``;
3. applies the rest in ONE transaction: the handlers' writes and the inbox rows commit
   together; only after the commit are the messages acknowledged.

When the batch transaction fails, the events are applied one per transaction to isolate the
failing one; a failing event is nak'ed with a backoff delay, and parked when its delivery
count reaches ``max_deliver``. A redelivered or re-published event is skipped by the inbox, so
every event is applied exactly once whatever JetStream delivers.

A parked message is replayed by the consumer itself, not by publishing it again (a service
may publish only its own subjects, and a publish would reach every other consumer too): an
operator marks the dead letter (:func:`oneplan_events.deadletters.request_replay`), and the
pull loop, between batches and at most every ``replay_every`` seconds, applies this
consumer's requested letters through the same decoding, inbox claim and handler transaction.

The pull loop keeps one pull request outstanding with an idle heartbeat and processes
messages as they arrive (low latency), re-issuing the request when it completes, expires, or
goes silent. Silence (no heartbeat) is what a server restart looks like to a pull request:
the client re-subscribes on reconnect but the server forgot the request (nats.py issue 504),
so the loop re-checks the consumer and pulls again instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.dml import ReturningInsert

from oneplan_events.catalogue import (
    CATALOGUE,
    Catalogue,
    Event,
    UnknownEventType,
    UnsupportedSchemaVersion,
)
from oneplan_events.deadletters import DeadLetter, dead_letter_from_row, park
from oneplan_events.envelope import Envelope, MalformedEvent
from oneplan_events.schema import dead_letters, inbox
from oneplan_events.tracing import process_span

__all__ = ["ConsumerConfigConflict", "ConsumerStats", "DurableConsumer", "Handler"]

logger = logging.getLogger(__name__)

Handler = Callable[[Event, Envelope, AsyncSession], Awaitable[None]]
"""Applies one event inside the consumer's transaction; must not commit."""

_STATUS: Final = "Status"
_HEARTBEAT: Final = "100"
_STOPPING: Final = "stopping"
# 404 no messages, 408 request expired: the pull request ended normally.
_REQUEST_ENDED: Final = frozenset({"404", "408", _STOPPING})
_UNDECODABLE: Final = (MalformedEvent, UnknownEventType, UnsupportedSchemaVersion, ValidationError)
_STOP: Final = object()
# ``filter_subjects`` (several filters on one consumer) arrived in nats-server 2.10.
_FILTER_SUBJECTS_SINCE: Final = (2, 10)


class ConsumerConfigConflict(RuntimeError):
    """The durable exists with a configuration JetStream refuses to update in place."""


@dataclass(slots=True)
class ConsumerStats:
    """Counters since the consumer was built (for health pages, tests and benchmarks)."""

    applied: int = 0
    duplicates: int = 0
    ignored: int = 0
    parked: int = 0
    retried: int = 0
    batches: int = 0
    pulls_lost: int = 0
    replayed: int = 0
    replays_failed: int = 0


@dataclass(slots=True)
class _Decoded:
    """A message read into an event this consumer has a handler for."""

    envelope: Envelope
    event: Event
    handler: Handler
    headers: Mapping[str, str] | None


@dataclass(frozen=True, slots=True)
class _Unreadable:
    """A message that cannot be applied: malformed, of an unknown type, or invalid."""

    event_id: str | None
    reason: str


@dataclass(slots=True)
class _Delivery:
    msg: Msg
    decoded: _Decoded

    @property
    def envelope(self) -> Envelope:
        return self.decoded.envelope

    @property
    def num_delivered(self) -> int:
        return int(self.msg.metadata.num_delivered)


class _NotReplayable(Exception):
    """A requested dead letter still cannot be applied; the message says why."""


@dataclass(slots=True)
class _Batch:
    apply: list[_Delivery] = field(default_factory=list)
    ack_only: list[Msg] = field(default_factory=list)
    park: list[tuple[Msg, str | None, str]] = field(default_factory=list)


class DurableConsumer:
    """A durable pull consumer applying events exactly once into the service's database.

    ``handlers`` maps event types to handlers; a key may use NATS wildcards
    (``oneplan.*.contribution.submitted``). Known types without a handler are acknowledged
    and ignored. ``max_deliver`` is enforced here, not by JetStream (whose limit would drop
    the message silently): at that delivery count the message is parked and terminated.
    ``catalogue`` decodes the messages (a service with a private catalogue passes its own).
    ``replay_every`` is how often (seconds) the pull loop looks for replay requests of this
    consumer's dead letters.

    Several ``subjects`` use the consumer's ``filter_subjects`` on nats-server 2.10 and later.
    Older servers ignore that field (the consumer would receive the whole stream), so there
    the consumer filters on the narrowest wildcard covering every subject and acknowledges
    and skips the messages matching none of them.
    """

    def __init__(
        self,
        js: JetStreamContext,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        name: str,
        stream: str,
        subjects: Sequence[str],
        handlers: Mapping[str, Handler],
        batch: int = 100,
        max_deliver: int = 5,
        ack_wait: float = 30,
        backoff: Sequence[float] = (1, 5, 30),
        catalogue: Catalogue = CATALOGUE,
        replay_every: float = 1.0,
    ) -> None:
        if batch < 1 or max_deliver < 1 or ack_wait <= 0 or not backoff or not subjects:
            raise ValueError("batch, max_deliver, ack_wait, backoff and subjects must be set")
        if replay_every <= 0:
            raise ValueError("replay_every must be positive")
        self._js = js
        self._sessionmaker = sessionmaker
        self.name = name
        self.stream = stream
        self.subjects = tuple(subjects)
        self._handlers = dict(handlers)
        self._resolved: dict[str, Handler | None] = {}
        self._catalogue = catalogue
        # Set by ensure_consumer from the server's version; until then, assume a current one.
        self._filter_subjects_supported = True
        self._wanted: dict[str, bool] = {}
        self.batch = batch
        self.max_deliver = max_deliver
        self.ack_wait = float(ack_wait)
        self.backoff = tuple(backoff)
        # A pull request lives well under AckWait, so nothing it delivers waits for a later
        # fetch long enough to be redelivered; the heartbeat reveals a request the server lost.
        self._expires = min(self.ack_wait / 3, 10.0)
        self._heartbeat = min(self._expires / 4, 1.0)
        self._silence = 2 * self._heartbeat + 0.5
        self.replay_every = float(replay_every)
        self._replay_due = 0.0
        self.stats = ConsumerStats()
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._stop_requested = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopped.set()

    @property
    def running(self) -> bool:
        """True between the start of :meth:`run` and its end."""
        return not self._stopped.is_set()

    def consumer_config(self) -> ConsumerConfig:
        """The JetStream configuration this consumer owns (on the server it last checked)."""
        single = len(self.subjects) == 1
        if not single and not self._filter_subjects_supported:
            return self._config(filter_subject=_covering_filter(self.subjects))
        return self._config(
            filter_subject=self.subjects[0] if single else None,
            filter_subjects=None if single else list(self.subjects),
        )

    def _config(
        self, *, filter_subject: str | None, filter_subjects: list[str] | None = None
    ) -> ConsumerConfig:
        return ConsumerConfig(
            name=self.name,
            durable_name=self.name,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            max_deliver=-1,
            filter_subject=filter_subject,
            filter_subjects=filter_subjects,
            max_ack_pending=max(1000, self.batch * 10),
        )

    async def ensure_consumer(self) -> None:
        """Create the durable, or update it when its configuration drifted.

        ``pull_subscribe`` would bind to an existing durable and silently keep its old
        configuration (an old AckWait, an old filter); this compares and updates instead.
        """
        self._filter_subjects_supported = _supports_filter_subjects(_connection(self._js))
        wanted = self.consumer_config()
        try:
            info = await self._js.consumer_info(self.stream, self.name)
        except NotFoundError:
            await self._js.add_consumer(self.stream, wanted)
            return
        drift = _config_drift(info.config, wanted)
        if not drift:
            return
        logger.info("consumer %s: updating drifted configuration: %s", self.name, drift)
        try:
            await self._js.add_consumer(self.stream, wanted)
        except Exception as error:
            raise ConsumerConfigConflict(
                f"consumer {self.name} on {self.stream} differs ({', '.join(drift)}) and "
                f"JetStream refused the update: {error}"
            ) from error

    async def run(self) -> None:
        """Consume until :meth:`stop`; survives NATS outages and server restarts."""
        if self.running:
            raise RuntimeError(f"consumer {self.name} is already running")
        self._stopped.clear()
        self._stop_requested.clear()
        self._replay_due = 0.0
        connection = _connection(self._js)
        inbox_subject = connection.new_inbox()
        subscription = await connection.subscribe(inbox_subject, cb=self._queue.put)
        try:
            await self._ensure_consumer_until_ready()
            while not self._stop_requested.is_set():
                try:
                    await self._pull(connection, inbox_subject)
                except Exception:
                    # A NATS error while acknowledging (connection closed mid-batch...):
                    # what was not acknowledged is redelivered, and the inbox skips it.
                    logger.exception("consumer %s: pull loop error; resuming", self.name)
                    await self._sleep(1.0)
        finally:
            await self._release_unprocessed()
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
            self._stopped.set()

    async def stop(self, grace: float = 30.0) -> None:
        """Finish the batch in hand, hand back what was not started, and return."""
        if not self.running:
            return
        self._stop_requested.set()
        self._queue.put_nowait(_STOP)
        await asyncio.wait_for(self._stopped.wait(), grace)

    async def _ensure_consumer_until_ready(self) -> None:
        delay = 0.1
        while not self._stop_requested.is_set():
            try:
                await self.ensure_consumer()
                return
            except ConsumerConfigConflict:
                raise
            except Exception as error:
                logger.warning("consumer %s: cannot reach JetStream yet: %r", self.name, error)
                await self._sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when asked to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_requested.wait(), seconds)

    async def _pull(self, connection: Any, inbox_subject: str) -> None:
        """One pull request: process what it delivers until it completes or goes silent."""
        request = {
            "batch": self.batch,
            "expires": int(self._expires * 1e9),
            "idle_heartbeat": int(self._heartbeat * 1e9),
        }
        subject = f"{_api_prefix(self._js)}.CONSUMER.MSG.NEXT.{self.stream}.{self.name}"
        try:
            await connection.publish(subject, json.dumps(request).encode(), reply=inbox_subject)
        except Exception as error:
            logger.warning("consumer %s: pull request failed: %r", self.name, error)
            await self._recover()
            return
        loop = asyncio.get_running_loop()
        received = 0
        silent_after = loop.time() + self._silence
        while received < self.batch and not self._stop_requested.is_set():
            await self._replay_requested_when_due()
            first = await self._next(wait=min(silent_after, self._replay_due) - loop.time())
            if first is None:
                if loop.time() < silent_after:
                    continue  # woke to look for replay requests, not a silent pull
                self.stats.pulls_lost += 1
                await self._recover()
                return
            messages, ended = self._drain(first)
            if messages:
                received += len(messages)
                await self._process(messages)
            if ended is not None:
                if ended not in _REQUEST_ENDED:
                    # A refused request (bad request, consumer deleted...): don't spin.
                    logger.warning("consumer %s: pull refused with status %s", self.name, ended)
                    await self._sleep(0.5)
                return
            silent_after = loop.time() + self._silence

    async def _next(self, wait: float) -> Msg | object | None:
        try:
            # Never a zero timeout: wait_for would then time out even with a message queued.
            return await asyncio.wait_for(self._queue.get(), max(wait, 0.01))
        except TimeoutError:
            return None

    def _drain(self, first: object) -> tuple[list[Msg], str | None]:
        """``first`` and whatever else already arrived, and the status that ended the pull
        request (None while it goes on)."""
        messages: list[Msg] = []
        item: object = first
        while True:
            if item is _STOP:
                return messages, _STOPPING
            assert isinstance(item, Msg)
            status = (item.headers or {}).get(_STATUS)
            if status is None:
                messages.append(item)
            elif status != _HEARTBEAT:
                return messages, status
            if len(messages) >= self.batch or self._queue.empty():
                return messages, None
            item = self._queue.get_nowait()

    async def _recover(self) -> None:
        """The pull request went silent: wait for the connection, re-check the durable."""
        connection = _connection(self._js)
        waited = 0.0
        while not connection.is_connected and not self._stop_requested.is_set() and waited < 30:
            await self._sleep(0.1)
            waited += 0.1
        await self._ensure_consumer_until_ready()

    async def _release_unprocessed(self) -> None:
        """Nak what arrived but was never started, so another instance takes it at once."""
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, Msg) and not (item.headers or {}).get(_STATUS):
                with contextlib.suppress(Exception):
                    await item.nak()

    async def _process(self, messages: list[Msg]) -> None:
        self.stats.batches += 1
        keepalive = asyncio.create_task(self._keep_in_progress(messages))
        try:
            batch = self._classify(messages)
            await self._park_all(batch.park)
            for msg in batch.ack_only:
                await msg.ack()
            self.stats.ignored += len(batch.ack_only)
            await self._apply(batch.apply)
        finally:
            keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keepalive

    async def _keep_in_progress(self, messages: list[Msg]) -> None:
        # A batch slower than AckWait (a long handler, a slow database) must not be
        # redelivered to another instance while this one is still applying it.
        while True:
            await asyncio.sleep(self.ack_wait / 3)
            for msg in messages:
                # Harmless for a message already acknowledged: the server ignores it.
                await msg.in_progress()

    def _classify(self, messages: list[Msg]) -> _Batch:
        batch = _Batch()
        for msg in messages:
            read = self._read(msg.subject, msg.headers, msg.data)
            if read is None:
                batch.ack_only.append(msg)
            elif isinstance(read, _Unreadable):
                batch.park.append((msg, read.event_id, read.reason))
            else:
                batch.apply.append(_Delivery(msg, read))
        return batch

    def _read(
        self, subject: str, headers: Mapping[str, str] | None, body: bytes
    ) -> _Decoded | _Unreadable | None:
        """A message as this consumer sees it; None when it is not this consumer's to apply
        (outside its subjects, or a known type it has no handler for)."""
        if not self._is_wanted(subject):
            return None
        try:
            envelope = Envelope.from_nats(subject, headers, body)
            self._catalogue.info(envelope.type)
        except _UNDECODABLE as error:
            return _Unreadable(_header_id(headers), _reason(error))
        handler = self._handler_for(envelope.type)
        if handler is None:
            return None
        try:
            event = self._catalogue.decode_envelope(envelope)
        except _UNDECODABLE as error:
            return _Unreadable(envelope.id, _reason(error))
        return _Decoded(envelope, event, handler, headers)

    def _is_wanted(self, subject: str) -> bool:
        """False for a message only an older server's wider filter let through."""
        if self._filter_subjects_supported or len(self.subjects) == 1:
            return True
        if subject not in self._wanted:
            self._wanted[subject] = any(_matches(wanted, subject) for wanted in self.subjects)
        return self._wanted[subject]

    def _handler_for(self, event_type: str) -> Handler | None:
        if event_type not in self._resolved:
            handler = self._handlers.get(event_type)
            if handler is None:
                handler = next(
                    (h for pattern, h in self._handlers.items() if _matches(pattern, event_type)),
                    None,
                )
            self._resolved[event_type] = handler
        return self._resolved[event_type]

    async def _park_all(self, parked: list[tuple[Msg, str | None, str]]) -> None:
        if not parked:
            return
        try:
            async with self._sessionmaker() as session, session.begin():
                for msg, event_id, reason in parked:
                    await park(session, self.name, msg, event_id, reason)
        except Exception:
            logger.exception("consumer %s: cannot park %d message(s)", self.name, len(parked))
            for msg, _, _ in parked:
                await msg.nak(delay=self._delay(msg))
            return
        for msg, event_id, reason in parked:
            logger.warning("consumer %s: parked %s: %s", self.name, event_id, reason)
            await msg.term()
        self.stats.parked += len(parked)

    async def _apply(self, deliveries: list[_Delivery]) -> None:
        if not deliveries:
            return
        if len(deliveries) == 1:
            await self._apply_alone(deliveries[0])
            return
        try:
            applied, duplicates = await self._apply_in_one_transaction(deliveries)
        except Exception:
            logger.info("consumer %s: batch failed, applying one at a time", self.name)
            for delivery in deliveries:
                await self._apply_alone(delivery)
            return
        for delivery in deliveries:
            await delivery.msg.ack()
        self.stats.applied += applied
        self.stats.duplicates += duplicates

    async def _apply_in_one_transaction(self, deliveries: list[_Delivery]) -> tuple[int, int]:
        async with self._sessionmaker() as session, session.begin():
            applied = await self._apply_in(session, [d.decoded for d in deliveries])
        return applied, len(deliveries) - applied

    async def _apply_in(self, session: AsyncSession, decoded: Sequence[_Decoded]) -> int:
        """Claim the inbox rows and run the handlers of the events claimed; how many ran."""
        claimed = await self._claim(session, [d.envelope.id for d in decoded])
        applied = 0
        for item in decoded:
            if item.envelope.id in claimed:
                claimed.discard(item.envelope.id)  # the same id twice in one batch
                await self._handle(item, session)
                applied += 1
        return applied

    async def _claim(self, session: AsyncSession, event_ids: list[str]) -> set[str]:
        """Insert the inbox rows first; the ids returned are the ones not processed before.

        ``ON CONFLICT DO NOTHING``: an id already in the inbox is skipped, and an id another
        instance is applying right now waits for that transaction, then is skipped if it
        committed (or claimed here if it rolled back), so no event is applied twice.
        """
        now = datetime.now(UTC)
        rows = [
            {"consumer": self.name, "event_id": event_id, "processed_at": now}
            for event_id in dict.fromkeys(event_ids)
        ]
        statement = _claim_statement(session.get_bind().dialect.name)
        return set((await session.execute(statement, rows)).scalars())

    async def _apply_alone(self, delivery: _Delivery) -> None:
        try:
            applied, _ = await self._apply_in_one_transaction([delivery])
        except Exception as error:
            await self._failed(delivery, error)
            return
        await delivery.msg.ack()
        if applied:
            self.stats.applied += 1
        else:
            self.stats.duplicates += 1

    async def _failed(self, delivery: _Delivery, error: Exception) -> None:
        if await self._applied_elsewhere(delivery.envelope.id):
            # Another instance committed it first (a redelivery after AckWait): not a failure.
            await delivery.msg.ack()
            self.stats.duplicates += 1
            return
        if delivery.num_delivered >= self.max_deliver:
            await self._park_all([(delivery.msg, delivery.envelope.id, _reason(error))])
            return
        logger.warning(
            "consumer %s: %s failed (delivery %d of %d): %r",
            self.name,
            delivery.envelope.id,
            delivery.num_delivered,
            self.max_deliver,
            error,
        )
        self.stats.retried += 1
        await delivery.msg.nak(delay=self._delay(delivery.msg))

    async def _applied_elsewhere(self, event_id: str) -> bool:
        try:
            async with self._sessionmaker() as session:
                return bool(await self._processed(session, [event_id]))
        except Exception:
            return False

    async def _processed(self, session: AsyncSession, event_ids: list[str]) -> set[str]:
        """The ids among ``event_ids`` already in this consumer's inbox."""
        result = await session.execute(
            select(inbox.c.event_id).where(
                inbox.c.consumer == self.name, inbox.c.event_id.in_(event_ids)
            )
        )
        return set(result.scalars())

    async def _handle(self, decoded: _Decoded, session: AsyncSession) -> None:
        with process_span(decoded.envelope, decoded.headers):
            await decoded.handler(decoded.event, decoded.envelope, session)

    async def _replay_requested_when_due(self) -> None:
        """Apply this consumer's dead letters an operator asked to replay (when it is time to
        look again: one indexed query every ``replay_every`` seconds at most)."""
        loop = asyncio.get_running_loop()
        if loop.time() < self._replay_due:
            return
        self._replay_due = loop.time() + self.replay_every
        try:
            async with self._sessionmaker() as session:
                requested = list(
                    await session.scalars(
                        select(dead_letters.c.id)
                        .where(*self._replay_pending())
                        .order_by(dead_letters.c.id)
                        .limit(self.batch)
                    )
                )
        except Exception as error:
            logger.warning("consumer %s: cannot look for replay requests: %r", self.name, error)
            return
        for letter_id in requested:
            if self._stop_requested.is_set():
                return
            await self._replay(letter_id)

    def _replay_pending(self) -> tuple[Any, ...]:
        return (
            dead_letters.c.consumer == self.name,
            dead_letters.c.replay_requested_at.is_not(None),
            dead_letters.c.replayed_at.is_(None),
        )

    async def _replay(self, letter_id: int) -> None:
        """Apply one requested dead letter as a delivery would be, and mark it replayed.

        PostgreSQL: the row is locked (SKIP LOCKED) for the transaction, so two instances
        never replay one letter at once; on SQLite the single writer and the inbox claim
        keep it exactly once (the second finds the event claimed and only marks it).
        """
        letter: DeadLetter | None = None
        try:
            async with self._sessionmaker() as session, session.begin():
                letter = await self._lock_pending(session, letter_id)
                if letter is None:
                    return  # replayed or taken by another instance meanwhile
                applied = await self._apply_letter(session, letter)
        except Exception as error:
            if letter is None:
                logger.warning("consumer %s: cannot replay %d: %r", self.name, letter_id, error)
                return
            reason = str(error) if isinstance(error, _NotReplayable) else _reason(error)
            await self._replay_failed(letter, reason)
            return
        self.stats.replayed += 1
        if applied:
            self.stats.applied += 1
        else:
            self.stats.duplicates += 1
        logger.info(
            "consumer %s: replayed dead letter %d (%s)%s",
            self.name,
            letter.id,
            letter.event_id,
            "" if applied else ": applied before, handler not run",
        )

    async def _lock_pending(self, session: AsyncSession, letter_id: int) -> DeadLetter | None:
        query = (
            select(dead_letters)
            .where(dead_letters.c.id == letter_id, *self._replay_pending())
            .with_for_update(skip_locked=True)
        )
        row = (await session.execute(query)).mappings().one_or_none()
        return None if row is None else dead_letter_from_row(row)

    async def _apply_letter(self, session: AsyncSession, letter: DeadLetter) -> bool:
        """Decode and apply ``letter`` in ``session`` and mark it replayed; True when the
        handler ran, False when the event was in the inbox already."""
        read = self._read(letter.subject, letter.headers, letter.body)
        if read is None:
            raise _NotReplayable(
                f"NoHandler: consumer {self.name} no longer handles {letter.subject}"
            )
        if isinstance(read, _Unreadable):
            raise _NotReplayable(read.reason)
        applied = await self._apply_in(session, [read])
        await session.execute(
            update(dead_letters)
            .where(dead_letters.c.id == letter.id)
            .values(replayed_at=datetime.now(UTC))
        )
        return applied > 0

    async def _replay_failed(self, letter: DeadLetter, reason: str) -> None:
        """The letter stays parked with the new reason; the request is cleared so it is not
        retried every second (the operator asks again once the cause is fixed)."""
        self.stats.replays_failed += 1
        logger.warning(
            "consumer %s: replay of dead letter %d (%s) failed: %s",
            self.name,
            letter.id,
            letter.event_id,
            reason,
        )
        try:
            async with self._sessionmaker() as session, session.begin():
                await session.execute(
                    update(dead_letters)
                    .where(dead_letters.c.id == letter.id, *self._replay_pending())
                    .values(
                        error=reason,
                        deliveries=dead_letters.c.deliveries + 1,
                        replay_requested_at=None,
                    )
                )
        except Exception as error:
            # The request stays; it is tried again at the next look.
            logger.warning(
                "consumer %s: cannot record the failed replay of %d: %r",
                self.name,
                letter.id,
                error,
            )

    def _delay(self, msg: Msg) -> float:
        attempt = int(msg.metadata.num_delivered)
        return float(self.backoff[min(attempt, len(self.backoff)) - 1])


@functools.cache
def _claim_statement(dialect: str) -> ReturningInsert[str]:
    # Built once per dialect: statements are immutable, and this one runs for every batch.
    if dialect == "postgresql":
        claim: Any = postgresql.insert(inbox)
    elif dialect == "sqlite":
        claim = sqlite.insert(inbox)
    else:
        raise ValueError(f"consumers run on PostgreSQL or SQLite, not {dialect}")
    returning: ReturningInsert[str] = claim.on_conflict_do_nothing(
        index_elements=[inbox.c.consumer, inbox.c.event_id]
    ).returning(inbox.c.event_id)
    return returning


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _header_id(headers: Mapping[str, str] | None) -> str | None:
    lowered = {key.lower(): value for key, value in (headers or {}).items()}
    value = lowered.get("ce-id")
    return value[:36] if value else None


def _matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, a final ``>`` one or more."""
    wanted, parts = pattern.split("."), subject.split(".")
    for index, part in enumerate(wanted):
        if part == ">":
            return len(parts) > index
        if index >= len(parts) or part not in ("*", parts[index]):
            return False
    return len(parts) == len(wanted)


def _covering_filter(subjects: Sequence[str]) -> str | None:
    """The narrowest single filter matching every message any of ``subjects`` matches.

    Same token count: position by position, the common token, else ``>`` when one of them
    ends in ``>`` there, else ``*``. Otherwise the common leading tokens (short of the
    shortest subject, since ``>`` needs one token) and ``>``. None means no filter.
    """
    split = [subject.split(".") for subject in subjects]
    lengths = {len(tokens) for tokens in split}
    if len(lengths) == 1:
        covering = []
        for column in zip(*split, strict=True):
            if len(set(column)) == 1:
                covering.append(column[0])
            else:
                covering.append(">" if ">" in column else "*")
        return ".".join(covering)
    prefix: list[str] = []
    for column in zip(*split, strict=False):
        if len(prefix) == min(lengths) - 1 or len(set(column)) > 1 or ">" in column:
            break
        prefix.append(column[0])
    return ".".join([*prefix, ">"]) if prefix else None


def _supports_filter_subjects(connection: Any) -> bool:
    # Read on every ensure_consumer (each reconnect), so a server upgrade is picked up; while
    # disconnected the version reads 0.0.0, but then ensure_consumer fails and is retried.
    version = connection.connected_server_version
    return (version.major, version.minor) >= _FILTER_SUBJECTS_SINCE


def _config_drift(current: ConsumerConfig, wanted: ConsumerConfig) -> list[str]:
    fields = ("ack_policy", "ack_wait", "max_deliver", "filter_subject", "max_ack_pending")
    drift = [
        f"{name} {getattr(current, name)!r} -> {getattr(wanted, name)!r}"
        for name in fields
        if getattr(current, name) != getattr(wanted, name)
    ]
    if wanted.filter_subjects and sorted(current.filter_subjects or []) != sorted(
        wanted.filter_subjects
    ):
        drift.append(f"filter_subjects {current.filter_subjects} -> {wanted.filter_subjects}")
    return drift


def _connection(js: JetStreamContext) -> Any:
    # JetStreamContext exposes no public accessor for its connection; the pull loop needs it
    # to subscribe its own inbox and send pull requests with heartbeats.
    return js._nc


def _api_prefix(js: JetStreamContext) -> str:
    prefix: str = js._prefix
    return prefix
