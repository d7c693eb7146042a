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
    def applied_sequence(self) -> int:
        """The stream sequence of the last consent event applied."""
        return self._applied_seq

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
                await self._unsubscribe()
                await self._subscribe()
            await self._probe()
        except NotFoundError:
            log.info("stream %s does not exist yet; consent replica waiting", self._stream)
        except Exception as exc:  # NATS down, timeouts: stay stale and retry next tick
            log.warning("consent replica cannot reach %s: %r", self._stream, exc)

    def _stalled(self) -> bool:
        behind = self._stream_last_seq > self._applied_seq
        return behind and time.monotonic() - self._progress_at > _STALL_AFTER

    async def _subscribe(self) -> None:
        info = await self._js.stream_info(self._stream)
        self._stream_created = info.created
        subjects = info.config.subjects or []
        if len(subjects) != 1:
            raise RuntimeError(f"stream {self._stream} must have exactly one subject filter")
        config = api.ConsumerConfig(
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=self._applied_seq + 1,
        )
        self._progress_at = time.monotonic()
        self._generation += 1
        self._sub = await self._js.subscribe(
            subjects[0],
            stream=self._stream,
            cb=functools.partial(self._on_message, self._generation),
            ordered_consumer=True,
            idle_heartbeat=1.0,
            config=config,
        )

    async def _unsubscribe(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _probe(self) -> None:
        sent_at = time.monotonic()
        info = await self._js.stream_info(self._stream)
        last_seq = int(info.state.last_seq)
        if info.created != self._stream_created or last_seq < self._applied_seq:
            await self._restart_from_scratch(last_seq)
            return
        self._stream_last_seq = max(self._stream_last_seq, last_seq)
        if self._applied_seq >= last_seq:
            self._prove(sent_at)
        elif self._poisoned is None:
            self._pending.append((last_seq, sent_at))

    async def _restart_from_scratch(self, last_seq: int) -> None:
        # The stream was deleted and recreated (a new creation time, or fewer messages than
        # we applied), e.g. a server that lost its store, refilled by republishing. Our state
        # may hold what the new stream no longer says: forget it all, stay stale, read again.
        log.warning(
            "stream %s went back from sequence %s to %s; rebuilding the consent replica",
            self._stream,
            self._applied_seq,
            last_seq,
        )
        await self._unsubscribe()
        self.state = SharingState()
        self._applied_seq = self._stream_last_seq = 0
        self._proven_at = None
        self._pending.clear()
        self._poisoned = None
        await self._subscribe()

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
        for listener in self._listeners:
            listener(envelope, seq)


def _headers(msg: Msg) -> dict[str, Any]:
    return dict(msg.headers or {})
