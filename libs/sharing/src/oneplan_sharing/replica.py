"""The consent replica every service embeds: `SharingState` fed live from the CONSENT stream.

It needs only NATS, never the consent service. At start it reads the stream from its first
message (an ordered, ephemeral consumer), then follows it live. Freshness is proven, not
assumed: a probe asks the server for the stream's last sequence; once everything up to that
sequence has been applied, the replica is known to have been up to date at the moment the
probe was sent. `decide()` denies (fails closed) when the last proof is older than
`max_staleness`, e.g. while NATS is unreachable or the stream cannot be read.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from oneplan_events.envelope import Envelope

from .rules import Decision, DecisionRequest, SharingState

__all__ = ["STALE_REASON", "ConsentReplica"]

log = logging.getLogger(__name__)

STALE_REASON: Final = "consent replica stale"
_STALE: Final = Decision(permit=False, reason=STALE_REASON)
# A replica that is behind and makes no progress for this long resubscribes from where it is.
_STALL_AFTER: Final = 3.0
_COMPLAIN_EVERY: Final = 30.0


class ConsentReplica:
    """A live, fail-closed replica of consent state read from the `stream` JetStream stream."""

    def __init__(
        self,
        js: JetStreamContext,
        *,
        stream: str = "CONSENT",
        max_staleness: timedelta = timedelta(seconds=5),
        probe_interval: timedelta | None = None,
    ) -> None:
        self._js = js
        self._stream = stream
        self._max_staleness = max_staleness.total_seconds()
        default_probe = min(max(self._max_staleness / 5, 0.05), 1.0)
        self._probe_interval = (
            probe_interval.total_seconds() if probe_interval is not None else default_probe
        )
        self.state = SharingState()
        self._applied_seq = 0
        self._stream_last_seq = 0
        self._stream_created: datetime | None = None  # a recreated stream has a new one
        self._proven_at: float | None = None
        self._pending: deque[tuple[int, float]] = deque()
        self._progress_at = time.monotonic()
        self._sub: JetStreamContext.PushSubscription | None = None
        self._generation = 0
        self._poisoned: str | None = None
        self._stopping = asyncio.Event()
        self._listeners: list[Callable[[Envelope, int], None]] = []
        self._waiters = _Waiters()
        self._complained_at: float | None = None

    def on_applied(self, listener: Callable[[Envelope, int], None]) -> None:
        """Call `listener(envelope, stream_sequence)` right after each event is applied
        (metrics, benchmarks); it runs on the replica's task and must be quick."""
        self._listeners.append(listener)

    # -- decisions -----------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """True while the replica can prove it was up to date within `max_staleness`."""
        proven = self._proven_at
        return proven is not None and time.monotonic() - proven <= self._max_staleness

    def lag(self) -> timedelta | None:
        """How long ago the replica was last proven up to date (None: never)."""
        proven = self._proven_at
        return None if proven is None else timedelta(seconds=time.monotonic() - proven)

    @property
    def stream(self) -> str:
        """The name of the stream it replicates."""
        return self._stream

    @property
    def applied_sequence(self) -> int:
        """The stream sequence of the last consent event applied."""
        return self._applied_seq

    # A timeout parameter, not asyncio.timeout(): running out of time is an answer (False,
    # e.g. a 503 for the read), and the waiter must be withdrawn from the queue at that moment.
    async def wait_until_applied(self, sequence: int, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until the replica has applied stream sequence `sequence` (a consistency token).

        True at once if it has already, True as soon as it does, False once `timeout` seconds
        have passed without it. Waiting costs no polling: waiters are kept in sequence order
        and released by the event that reaches them. A rebuild (the stream was recreated)
        starts again from sequence 0 and releases nobody: a waiter is released only when the
        rebuilt replica has applied its sequence of the new stream, or times out. True says
        the event was applied, not that the replica is fresh: `decide()` still denies while
        freshness is unproven.
        """
        if self._applied_seq >= sequence:
            return True
        if timeout <= 0:
            return False
        waiter = self._waiters.add(sequence)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            pass
        finally:
            if not waiter.done():
                waiter.cancel()
                self._waiters.abandoned()
        # released, possibly in the same instant as the timeout fired
        return not waiter.cancelled()

    def decide(self, request: DecisionRequest) -> Decision:
        """Decide from the replica, or deny with `STALE_REASON` when freshness is unproven."""
        proven = self._proven_at
        if proven is None or time.monotonic() - proven > self._max_staleness:
            return _STALE
        return self.state.decide(request)

    # -- lifecycle -----------------------------------------------------------------------

    async def run(self) -> None:
        """Catch up, then follow the stream and prove freshness until `stop()`."""
        self._stopping.clear()
        try:
            while not self._stopping.is_set():
                await self._tick()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._probe_interval)
        finally:
            await self._unsubscribe()

    async def stop(self) -> None:
        """Ask `run()` to finish; it unsubscribes on its way out."""
        self._stopping.set()

    async def _tick(self) -> None:
        try:
            if self._sub is None:
                await self._subscribe()
            elif self._stalled():
                log.warning("consent replica stalled at %s; resubscribing", self._applied_seq)
                self._complained_at = None  # a new attempt: say again what stops it
                await self._unsubscribe()
                await self._subscribe()
            await self._probe()
        except NotFoundError:
            self._complain(logging.INFO, "stream %s does not exist yet; consent replica waiting")
        except Exception as exc:  # NATS down, timeouts: stay stale and retry next tick
            self._complain(logging.WARNING, "consent replica cannot reach %s: %r", exc)
        else:
            if self._complained_at is not None:
                log.info("consent replica reached stream %s again", self._stream)
                self._complained_at = None

    def _complain(self, level: int, message: str, *args: object) -> None:
        """Say why the replica waits once, then once every `_COMPLAIN_EVERY` seconds while it
        goes on (it retries every tick: a line per tick would bury everything else)."""
        now = time.monotonic()
        if self._complained_at is None or now - self._complained_at >= _COMPLAIN_EVERY:
            log.log(level, message, self._stream, *args)
            self._complained_at = now

    def _stalled(self) -> bool:
        behind = self._stream_last_seq > self._applied_seq
        return behind and time.monotonic() - self._progress_at > _STALL_AFTER

    async def _subscribe(self) -> None:
        info = await self._js.stream_info(self._stream)
        if self._stream_created is not None and info.created != self._stream_created:
            # Recreated while we were not subscribed (e.g. lost while resubscribing after a
            # stall): reading on from our sequence would skip the new stream's first events.
            log.warning(
                "stream %s was recreated (created %s, was %s); rebuilding the consent replica",
                self._stream,
                info.created,
                self._stream_created,
            )
            self._forget()
        self._stream_created = info.created
        subjects = info.config.subjects or []
        if len(subjects) != 1:
            raise RuntimeError(f"stream {self._stream} must have exactly one subject filter")
        config = api.ConsumerConfig(
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=self._applied_seq + 1,
        )
        self._progress_at = time.monotonic()
        self._sub = await self._js.subscribe(
            subjects[0],
            stream=self._stream,
            cb=functools.partial(self._on_message, self._generation),
            ordered_consumer=True,
            idle_heartbeat=1.0,
            config=config,
        )

    async def _unsubscribe(self) -> None:
        # From here on, deliveries still queued for the old subscription are ignored, even if
        # unsubscribing fails (a draining or closed connection) and they keep coming.
        self._generation += 1
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _probe(self) -> None:
        sent_at = time.monotonic()
        # Events keep being applied while the answer is on its way, so the answer is compared
        # with what had been applied when the question was sent: a stream that still holds
        # everything applied then has a last sequence at least that high.
        applied_when_sent = self._applied_seq
        info = await self._js.stream_info(self._stream)
        last_seq = int(info.state.last_seq)
        if info.created != self._stream_created or last_seq < applied_when_sent:
            await self._restart_from_scratch(applied_when_sent, last_seq, info.created)
            return
        self._stream_last_seq = max(self._stream_last_seq, last_seq)
        if self._applied_seq >= last_seq:
            self._prove(sent_at)
        elif self._poisoned is None:
            self._pending.append((last_seq, sent_at))

    async def _restart_from_scratch(
        self, applied: int, last_seq: int, created: datetime | None
    ) -> None:
        # The stream was deleted and recreated (a new creation time, or fewer messages than
        # we applied), e.g. a server that lost its store, refilled by republishing. Our state
        # may hold what the new stream no longer says: forget it all, stay stale, read again.
        # Waiters stay registered: they are released once the new stream has been applied as
        # far as the sequence they wait for, or time out.
        log.warning(
            "stream %s went back from sequence %s to %s (created %s, was %s); rebuilding the "
            "consent replica",
            self._stream,
            applied,
            last_seq,
            created,
            self._stream_created,
        )
        await self._unsubscribe()
        self._forget()
        self._stream_created = None  # whatever the stream is now, it is read from its start
        await self._subscribe()

    def _forget(self) -> None:
        self.state = SharingState()
        self._applied_seq = self._stream_last_seq = 0
        self._proven_at = None
        self._pending.clear()
        self._poisoned = None

    def _prove(self, at: float) -> None:
        if self._poisoned is None and (self._proven_at is None or at > self._proven_at):
            self._proven_at = at

    async def _on_message(self, generation: int, msg: Msg) -> None:
        seq = int(msg.metadata.sequence.stream)
        # Messages still in flight from an earlier subscription must not touch a rebuilt state.
        stale_delivery = generation != self._generation
        if stale_delivery or seq <= self._applied_seq or self._poisoned is not None:
            return
        try:
            envelope = Envelope.from_nats(msg.subject, _headers(msg), msg.data)
            self.state.apply(envelope)
        except Exception as exc:
            # Skipping an event could skip a withdrawal: stop here and stay stale (fail closed).
            self._poisoned = f"cannot apply stream sequence {seq}: {exc!r}"
            self._proven_at = None
            log.error("consent replica halted: %s", self._poisoned)
            return
        self._applied_seq = seq
        self._progress_at = time.monotonic()
        while self._pending and self._pending[0][0] <= seq:
            self._prove(self._pending.popleft()[1])
        self._waiters.release_up_to(seq)
        for listener in self._listeners:
            listener(envelope, seq)


class _Waiters:
    """Futures waiting for stream sequences, in a heap ordered by sequence.

    Releasing costs O(log n) per waiter released; a waiter that gives up leaves its cancelled
    future behind, and the heap is compacted once those are the majority, so waiters that
    time out (e.g. on a sequence never reached) cannot pile up.
    """

    _COMPACT_FROM: Final = 64

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()  # ties: never compare futures
        self._abandoned = 0

    def add(self, sequence: int) -> asyncio.Future[None]:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (sequence, next(self._order), waiter))
        return waiter

    def release_up_to(self, sequence: int) -> None:
        heap = self._heap
        while heap and heap[0][0] <= sequence:
            waiter = heapq.heappop(heap)[2]
            if waiter.done():
                self._abandoned -= 1
            else:
                waiter.set_result(None)

    def abandoned(self) -> None:
        """One waiter cancelled its future and will not come back for it."""
        self._abandoned += 1
        if self._abandoned >= self._COMPACT_FROM and 2 * self._abandoned > len(self._heap):
            self._heap = [entry for entry in self._heap if not entry[2].done()]
            heapq.heapify(self._heap)
            self._abandoned = 0

    def __len__(self) -> int:
        return len(self._heap) - self._abandoned


def _headers(msg: Msg) -> dict[str, Any]:
    return dict(msg.headers or {})
