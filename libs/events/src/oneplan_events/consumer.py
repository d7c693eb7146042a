"""Durable consumers: each record's events applied exactly once, in order, across instances.

A :class:`DurableConsumer` reads one stream. A partitioned service stream (see
:mod:`oneplan_events.streams`) gets one JetStream durable per partition, each a pinned-client
priority group: every running instance of the service pulls from every partition, and the
server delivers a partition's messages to one pinned instance at a time, moving the pin to
another when that one stops pulling (it crashed, or it stopped and gave the pin up). So
several instances share the work, and a record, which always lands in the same partition,
is only ever applied by one of them at a time: order holds on the engine itself, with no
lock of ours.

Within a partition each batch goes through :class:`oneplan_events._apply.Applier`: per-record
stream versions (``consumer_positions``) make every event applied once and never after a later
one, a failed event holds its record's later events back until it is applied or parked, and
the handlers' writes, the positions and any events a reaction appends commit together before
the messages are acknowledged.

A parked message is replayed by the consumer itself, not by publishing it again: an operator
marks the dead letter (:func:`oneplan_events.deadletters.request_replay`) and the consumer
applies it within about ``replay_every`` seconds through the same handler transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.errors import NotFoundError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oneplan_events._apply import Applier, ConsumerStats, Item, WorkFactory, reason_of
from oneplan_events._jsapi import (
    PIN_HEADER,
    JetStreamApiError,
    PinnedConsumerConfig,
    create_or_update_consumer,
    send_pull,
    unpin,
)
from oneplan_events.catalogue import Catalogue
from oneplan_events.deadletters import DeadLetter, dead_letter_from_row
from oneplan_events.reactions import Reactions
from oneplan_events.schema import dead_letters
from oneplan_events.streams import partition_filter, partitions_of

__all__ = ["ConsumerStats", "ConsumerTiming", "DurableConsumer", "WorkFactory"]

logger = logging.getLogger(__name__)

_STATUS: Final = "Status"
_HEARTBEAT: Final = "100"
_PIN_MISMATCH: Final = "423"
# 404 no messages, 408 request expired, 409 request ended (max bytes, waiting limits...).
_REQUEST_ENDED: Final = frozenset({"404", "408", "409"})
_PENDING_HEADER: Final = "Nats-Pending-Messages"
_STOP: Final = object()


@dataclass(frozen=True, slots=True)
class ConsumerTiming:
    """How a consumer talks to JetStream (defaults suit production; tests shorten them)."""

    ack_wait: float = 30.0
    expires: float = 5.0
    heartbeat: float = 1.0
    pin_ttl: float = 10.0
    replay_every: float = 1.0

    def __post_init__(self) -> None:
        if min(self.ack_wait, self.expires, self.heartbeat, self.pin_ttl, self.replay_every) <= 0:
            raise ValueError("consumer timings must be positive")
        if self.heartbeat >= self.expires or self.pin_ttl <= self.expires:
            raise ValueError("need heartbeat < expires < pin_ttl")


class DurableConsumer:
    """Applies one stream's events with ``reactions``, shared by every instance of a service.

    ``name`` names the durables (``<name>_p<n>`` per partition) and the consumer's positions
    and dead letters. ``types`` narrows what is read (``"disclosure.recorded"``: only those
    events of every record); otherwise every event of the stream is read, and a version gap in
    a record holds it back until the missing event arrives (``strict_order``). Events the
    reactions do not handle are passed over, their version still counted. ``parked_loses``
    says what a parked message leaves missing (the ERROR logged when one is parked says it).
    """

    def __init__(
        self,
        nc: Client,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        name: str,
        stream: str,
        reactions: Reactions,
        catalogue: Catalogue,
        work_factory: WorkFactory,
        types: str | None = None,
        batch: int = 100,
        max_deliver: int = 5,
        backoff: Sequence[float] = (1, 5, 30),
        timing: ConsumerTiming | None = None,
        parked_loses: str = "",
    ) -> None:
        if batch < 1 or max_deliver < 1 or not backoff:
            raise ValueError("batch, max_deliver and backoff must be set")
        reactions.check(catalogue)
        self.nc = nc
        self.name = name
        self.stream = stream
        self.types = types
        self.batch = batch
        self.timing = timing or ConsumerTiming()
        self.applier = Applier(
            name=name,
            sessionmaker=sessionmaker,
            catalogue=catalogue,
            reactions=reactions,
            work_factory=work_factory,
            strict_order=types is None,
            max_deliver=max_deliver,
            backoff=tuple(backoff),
            parked_loses=parked_loses,
        )
        self._sessionmaker = sessionmaker
        self._partitions: list[_Partition] = []
        self._stop_requested = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopped.set()
        self.waiting_for_stream = False

    @property
    def stats(self) -> ConsumerStats:
        """Counters of what this consumer did."""
        return self.applier.stats

    @property
    def parked_loses(self) -> str:
        """What a message this consumer parks leaves missing until it is replayed."""
        return self.applier.parked_loses

    @property
    def running(self) -> bool:
        """True between the start of :meth:`run` and its end."""
        return not self._stopped.is_set()

    @property
    def pinned_partitions(self) -> list[int]:
        """The partitions this instance is applying now (the others are on standby)."""
        return [p.index for p in self._partitions if p.pin_id is not None]

    def durable_names(self) -> list[str]:
        """The JetStream durables of this consumer (known once it runs)."""
        return [p.durable for p in self._partitions]

    async def run(self) -> None:
        """Consume until :meth:`stop`; waits for its stream, survives NATS outages."""
        if self.running:
            raise RuntimeError(f"consumer {self.name} is already running")
        self._stopped.clear()
        self._stop_requested.clear()
        try:
            info = await self._stream_info()
            if info is None:
                return
            self._partitions = self._plan(info)
            tasks = [asyncio.create_task(p.run(), name=p.durable) for p in self._partitions]
            tasks.append(asyncio.create_task(self._replay_loop(), name=f"{self.name}:replay"))
            try:
                await self._stop_requested.wait()
            finally:
                for partition in self._partitions:
                    partition.stop()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self._stopped.set()

    async def stop(self, grace: float = 30.0) -> None:
        """Finish the batches in hand, give the pins up, hand back what was not started."""
        if not self.running:
            return
        self._stop_requested.set()
        await asyncio.wait_for(self._stopped.wait(), grace)

    async def _stream_info(self) -> Any:
        delay = 0.1
        while not self._stop_requested.is_set():
            try:
                info = await self.nc.jetstream().stream_info(self.stream)
            except NotFoundError:
                if not self.waiting_for_stream:
                    logger.info(
                        "consumer %s: stream %s does not exist yet; waiting for its service",
                        self.name,
                        self.stream,
                    )
                self.waiting_for_stream = True
            except Exception as error:
                logger.debug("consumer %s: JetStream not reachable yet: %r", self.name, error)
            else:
                self.waiting_for_stream = False
                return info
            await self._sleep(delay)
            delay = min(delay * 2, 2.0)
        return None

    def _plan(self, info: Any) -> list[_Partition]:
        count = partitions_of(info)
        types = self.types or "*.*"
        if count == 0:
            # A stream not partitioned by record (an integrator's): one pinned durable.
            subjects = info.config.subjects or [">"]
            filters = [subjects[0] if self.types is None else f"oneplan.*.{self.types}.>"]
            names = [self.name]
        else:
            filters = [partition_filter(info, index, types) for index in range(count)]
            names = [f"{self.name}_p{index}" for index in range(count)]
        return [
            _Partition(self, index, durable, subject)
            for index, (durable, subject) in enumerate(zip(names, filters, strict=True))
        ]

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_requested.wait(), seconds)

    # -- dead-letter replay ---------------------------------------------------------------

    async def _replay_loop(self) -> None:
        while not self._stop_requested.is_set():
            await self._sleep(self.timing.replay_every)
            if self._stop_requested.is_set():
                return
            try:
                await self.replay_requested()
            except Exception as error:
                logger.warning("consumer %s: cannot replay dead letters: %r", self.name, error)

    async def replay_requested(self) -> int:
        """Apply this consumer's dead letters an operator asked to replay; how many were."""
        async with self._sessionmaker() as session:
            requested = list(
                await session.scalars(
                    select(dead_letters.c.id)
                    .where(*_replay_pending(self.name))
                    .order_by(dead_letters.c.id)
                    .limit(self.batch)
                )
            )
        replayed = 0
        for letter_id in requested:
            replayed += await self._replay(letter_id)
        return replayed

    async def _replay(self, letter_id: int) -> int:
        """Apply one requested dead letter in a transaction and mark it replayed.

        PostgreSQL: the row is locked (SKIP LOCKED), so two instances never replay one letter
        at once. Its record position is not checked: the operator asked for this event,
        though later events of its record may have been applied since.
        """
        letter: DeadLetter | None = None
        try:
            async with self._sessionmaker() as session, session.begin():
                letter = await _lock_pending(session, self.name, letter_id)
                if letter is None:
                    return 0
                item = self._letter_item(letter)
                await self.applier.apply_one(session, item)
                await session.execute(
                    update(dead_letters)
                    .where(dead_letters.c.id == letter.id)
                    .values(replayed_at=datetime.now(UTC))
                )
        except Exception as error:
            if letter is not None:
                await self._replay_failed(
                    letter, str(error) if isinstance(error, _NotReplayable) else reason_of(error)
                )
            else:
                logger.warning("consumer %s: cannot replay %d: %r", self.name, letter_id, error)
            return 0
        self.stats.replayed += 1
        logger.info(
            "consumer %s: replayed dead letter %d (%s)", self.name, letter.id, letter.event_id
        )
        return 1

    def _letter_item(self, letter: DeadLetter) -> Item:
        msg = Msg(self.nc, subject=letter.subject, data=letter.body, headers=dict(letter.headers))
        item = self.applier.read(msg)
        if item.problem is not None:
            raise _NotReplayable(item.problem)
        if item.handler is None:
            raise _NotReplayable(
                f"NoHandler: consumer {self.name} no longer handles {letter.subject}"
            )
        return item

    async def _replay_failed(self, letter: DeadLetter, reason: str) -> None:
        """The letter stays parked with the new reason; the request is cleared so it is not
        retried every second (the operator asks again once the cause is fixed)."""
        self.stats.replays_failed += 1
        logger.warning(
            "consumer %s: replay of dead letter %d failed: %s", self.name, letter.id, reason
        )
        with contextlib.suppress(Exception):
            async with self._sessionmaker() as session, session.begin():
                await session.execute(
                    update(dead_letters)
                    .where(dead_letters.c.id == letter.id, *_replay_pending(self.name))
                    .values(
                        error=reason,
                        deliveries=dead_letters.c.deliveries + 1,
                        replay_requested_at=None,
                    )
                )


class _NotReplayable(Exception):
    """A requested dead letter still cannot be applied; the message says why."""


def _replay_pending(consumer: str) -> tuple[Any, ...]:
    return (
        dead_letters.c.consumer == consumer,
        dead_letters.c.replay_requested_at.is_not(None),
        dead_letters.c.replayed_at.is_(None),
    )


async def _lock_pending(session: AsyncSession, consumer: str, letter_id: int) -> DeadLetter | None:
    query = (
        select(dead_letters)
        .where(dead_letters.c.id == letter_id, *_replay_pending(consumer))
        .with_for_update(skip_locked=True)
    )
    row = (await session.execute(query)).mappings().one_or_none()
    return None if row is None else dead_letter_from_row(row)


@dataclass(eq=False)
class _Partition:
    """One partition's pull loop: keeps requests outstanding, applies what arrives in order.

    Pull requests are sent before a batch is applied whenever fewer than half a batch is
    requested, so the server always holds a request of ours while we work, and a batch that
    takes long is punctuated by small pulls, so the server never moves the pin because we
    fell silent (it counts pulls sent, not requests waiting). A 423 says another instance
    holds the pin: this one waits as standby with unpinned requests, which the server serves
    once the pin is free.
    """

    owner: DurableConsumer
    index: int
    durable: str
    filter_subject: str
    pin_id: str | None = None
    _pending: int = 0
    _queue: asyncio.Queue[object] = field(default_factory=asyncio.Queue)
    _stopping: bool = False

    def stop(self) -> None:
        self._stopping = True
        self._queue.put_nowait(_STOP)

    async def run(self) -> None:
        owner = self.owner
        inbox = owner.nc.new_inbox()
        subscription = await owner.nc.subscribe(inbox, cb=self._queue.put)
        try:
            await self._ensure_until_ready()
            while not self._stopping:
                try:
                    await self._cycle(inbox)
                except Exception:
                    # A NATS error while acknowledging (connection closed mid-batch...):
                    # what was not acknowledged is redelivered, and positions skip it.
                    logger.exception("consumer %s: pull loop error; resuming", self.durable)
                    self._pending = 0
                    await owner._sleep(1.0)
        finally:
            await self._release(subscription)

    async def _ensure_until_ready(self) -> None:
        timing = self.owner.timing
        config = PinnedConsumerConfig(
            name=self.durable,
            filter_subject=self.filter_subject,
            ack_wait=timing.ack_wait,
            max_ack_pending=max(1000, self.owner.batch * 10),
            pin_ttl=timing.pin_ttl,
        )
        delay = 0.1
        while not self._stopping:
            try:
                await create_or_update_consumer(self.owner.nc, self.owner.stream, config)
                return
            except JetStreamApiError:
                raise  # refused for good (permissions, a config the server rejects)
            except Exception as error:
                logger.debug("consumer %s: cannot create the durable yet: %r", self.durable, error)
                await self.owner._sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _cycle(self, inbox: str) -> None:
        """Request more when needed, wait for what arrives, apply it."""
        timing = self.owner.timing
        if self._pending < self.owner.batch // 2 + 1:
            await self._request(inbox)
        first = await self._next(2 * timing.heartbeat + 0.5)
        if first is None:
            # No heartbeat: the server forgot our requests (a restart) or we were cut off.
            self.owner.stats.pulls_lost += 1
            self._pending = 0
            await self._ensure_until_ready()
            return
        messages = self._take(first)
        if messages:
            if self._pending < self.owner.batch // 2 + 1:
                await self._request(inbox)  # keep a request outstanding while we work
            await self._apply_keeping_the_pin(inbox, messages)

    async def _apply_keeping_the_pin(self, inbox: str, messages: list[Msg]) -> None:
        """Apply a batch, pulling meanwhile when it takes long.

        The server moves a pin to another instance once the pinned one has sent no pull
        request for ``pin_ttl``; a request already waiting does not count. So a batch slower
        than that (a slow reaction, a database under load) would hand the partition to a
        standby while this instance is still applying it, and the two would take turns on
        the partition for as long as batches stay slow. A pull for one message every quarter
        of ``pin_ttl`` tells the server this instance is alive.
        """
        applying = asyncio.ensure_future(self.owner.applier.apply(messages))
        try:
            while not applying.done():
                await asyncio.wait({applying}, timeout=self.owner.timing.pin_ttl / 4)
                if not applying.done() and self.pin_id is not None:
                    await self._keep_the_pin(inbox)
            applying.result()
        finally:
            if not applying.done():
                applying.cancel()  # cancelled ourselves (a shutdown past its grace)

    async def _keep_the_pin(self, inbox: str) -> None:
        try:
            await self._request(inbox, batch=1)
        except Exception as error:
            # NATS away: the pin may move meanwhile, which positions make harmless.
            logger.debug("consumer %s: cannot pull while applying: %r", self.durable, error)

    async def _request(self, inbox: str, batch: int | None = None) -> None:
        timing = self.owner.timing
        size = batch or self.owner.batch
        await send_pull(
            self.owner.nc,
            self.owner.stream,
            self.durable,
            inbox,
            batch=size,
            expires=timing.expires,
            heartbeat=timing.heartbeat,
            pin_id=self.pin_id,
        )
        self._pending += size

    async def _next(self, wait: float) -> object | None:
        try:
            return await asyncio.wait_for(self._queue.get(), wait)
        except TimeoutError:
            return None

    def _take(self, first: object) -> list[Msg]:
        """``first`` and whatever else already arrived, up to a batch; statuses handled."""
        messages: list[Msg] = []
        item: object = first
        while True:
            if item is _STOP:
                self._stopping = True
                return messages
            assert isinstance(item, Msg)
            status = (item.headers or {}).get(_STATUS)
            if status is None:
                self._pending -= 1
                pin = (item.headers or {}).get(PIN_HEADER)
                if pin is not None:
                    self.pin_id = pin
                messages.append(item)
            else:
                self._status(status, item)
            if len(messages) >= self.owner.batch or self._queue.empty():
                return messages
            item = self._queue.get_nowait()

    def _status(self, status: str, msg: Msg) -> None:
        if status == _HEARTBEAT:
            return
        if status == _PIN_MISMATCH:
            # Another instance holds this partition now: wait as standby.
            if self.pin_id is not None:
                logger.info("consumer %s: another instance took over this partition", self.durable)
            self.pin_id = None
            self._pending = 0
            return
        if status in _REQUEST_ENDED:
            undelivered = (msg.headers or {}).get(_PENDING_HEADER)
            self._pending -= (
                int(undelivered) if undelivered and undelivered.isdigit() else self.owner.batch
            )
            self._pending = max(self._pending, 0)
            return
        logger.warning("consumer %s: pull refused with status %s", self.durable, status)
        self._pending = 0

    async def _release(self, subscription: Any) -> None:
        """Give the pin up so a standby takes over at once, and hand back what was not
        started (nak'ed: redelivered now, not after the ack wait)."""
        # Unsubscribe first, so that no pull request of ours is served (and pins us again)
        # after the pin is given up; unpin even without a pin id, as the server may have
        # pinned us with a message still on its way.
        with contextlib.suppress(Exception):
            await subscription.unsubscribe()
        with contextlib.suppress(Exception):
            await unpin(self.owner.nc, self.owner.stream, self.durable)
        self.pin_id = None
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, Msg) and not (item.headers or {}).get(_STATUS):
                with contextlib.suppress(Exception):
                    await item.nak()
