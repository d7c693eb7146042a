"""Pipelined JetStream publishing that never lets a stream's later event overtake an earlier one.

Many publishes are in flight at once, across streams and across the batches the caller feeds
in. Within one stream a message is sent only after its predecessor was acknowledged, i.e.
stored: if a message is lost with a dropped connection, nothing after it in its stream has been
sent, so a retry stores it in order. On the first failure nothing new is sent; what is in
flight settles (or times out) and the caller learns exactly which messages were acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from nats.js import JetStreamContext

from oneplan_events.envelope import Envelope
from oneplan_events.tracing import TRACEPARENT_HEADER, publish_span

_CE_TRACEPARENT: Final = "ce-" + TRACEPARENT_HEADER


@dataclass(frozen=True, slots=True)
class Message:
    """One message to publish; ``key`` identifies it to the caller (outbox id, position)."""

    key: int
    stream_id: str
    subject: str
    headers: dict[str, str]
    body: bytes


class PublishSession:
    """Publish what :meth:`feed` is given, up to ``in_flight`` unacknowledged at once.

    :meth:`feed` returns once every message given is sent or queued behind its stream's
    unacknowledged one (at most ``max_queued`` queue up); :meth:`take_acked` hands over the
    keys acknowledged so far; :meth:`flush` waits for everything to settle. Waiting for acks
    gives up after ``ack_timeout`` seconds without any: publish futures have no timeout of
    their own, and acks for messages sent just before a connection dropped never arrive.
    """

    def __init__(
        self, js: JetStreamContext, *, in_flight: int, ack_timeout: float, max_queued: int = 5000
    ) -> None:
        self.js = js
        self.window = in_flight
        self.ack_timeout = ack_timeout
        self.max_queued = max_queued
        self.error: BaseException | None = None
        self._acked: list[tuple[int, int]] = []
        # Streams with a message in flight -> their messages waiting for its ack.
        self._waiting: dict[str, deque[Message]] = {}
        self._queued = 0
        self._in_flight: dict[asyncio.Future[Any], Message] = {}
        self._completed: deque[asyncio.Future[Any]] = deque()
        self._progress = asyncio.Event()

    async def feed(self, messages: Sequence[Message]) -> None:
        """Send ``messages`` (or queue them behind their stream); stops at the first error."""
        for message in messages:
            if self.error is not None:
                return
            queue = self._waiting.get(message.stream_id)
            if queue is not None:
                queue.append(message)
                self._queued += 1
                continue
            while len(self._in_flight) >= self.window and self.error is None:
                await self._settle()
            if self.error is None:
                self._waiting[message.stream_id] = deque()
                await self._send(message)
        while self._queued > self.max_queued and self.error is None:
            await self._settle()

    def take_acked(self) -> list[tuple[int, int]]:
        """``(key, stream sequence)`` of each message acknowledged since the last call."""
        acked, self._acked = self._acked, []
        return acked

    async def flush(self) -> None:
        """Wait until every message fed is acknowledged, or nothing more can be (an error)."""
        while self._in_flight:
            await self._settle()

    async def _send(self, message: Message) -> None:
        try:
            future = await self._publish(message)
        except Exception as error:
            self._fail(error)
            return
        self._in_flight[future] = message
        future.add_done_callback(self._on_done)

    async def _publish(self, message: Message) -> asyncio.Future[Any]:
        headers = dict(message.headers)
        if _CE_TRACEPARENT not in headers:
            return await self.js.publish_async(message.subject, message.body, headers=headers)
        # Traced commands only: the PRODUCER span continues the command's trace.
        envelope = Envelope.from_nats(message.subject, headers, message.body)
        with publish_span(envelope, headers):
            return await self.js.publish_async(message.subject, message.body, headers=headers)

    def _on_done(self, future: asyncio.Future[Any]) -> None:
        self._completed.append(future)
        self._progress.set()

    async def _settle(self) -> None:
        """Wait for acks, then send each acknowledged stream's next message."""
        if not self._completed:
            try:
                async with asyncio.timeout(self.ack_timeout):
                    await self._progress.wait()
            except TimeoutError:
                self._fail(
                    TimeoutError(
                        f"{len(self._in_flight)} publishes unacknowledged after {self.ack_timeout}s"
                    )
                )
                for future in list(self._in_flight):
                    future.cancel()
        self._progress.clear()
        while self._completed:
            future = self._completed.popleft()
            await self._completed_one(future, self._in_flight.pop(future))

    async def _completed_one(self, future: asyncio.Future[Any], message: Message) -> None:
        error = _error_of(future)
        if error is not None:
            self._fail(error)
            return
        self._acked.append((message.key, int(future.result().seq)))
        queue = self._waiting[message.stream_id]
        if queue and self.error is None:
            self._queued -= 1
            await self._send(queue.popleft())
        else:
            del self._waiting[message.stream_id]

    def _fail(self, error: BaseException) -> None:
        if self.error is None:
            self.error = error


def _error_of(future: asyncio.Future[Any]) -> BaseException | None:
    if future.cancelled():
        return TimeoutError("publish cancelled before its ack arrived")
    with contextlib.suppress(asyncio.InvalidStateError):
        return future.exception()
    return None
