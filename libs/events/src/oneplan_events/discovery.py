"""Following every stream that carries some kind of event, including streams created later.

The consent service logs every service's disclosures and the plans service reads every
agency's contributions, without knowing the agencies in advance. A :class:`StreamFollower`
finds the streams holding ``oneplan.*.<types>`` subjects (``STREAM.NAMES`` with a subject
filter, which every service user may call) and runs a ``DurableConsumer`` on each. It looks
at once when it starts, again whenever JetStream announces a new stream (the
``STREAM.CREATED`` advisory), and every ``interval`` seconds as a safety net.

``expected`` names streams the follower's service knows exist in its deployment (its own, the
ones its other subscriptions read): until each is followed, :attr:`StreamFollower.missing`
lists it, so a fresh start whose neighbour has not created its stream yet says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any, Final

from nats.aio.client import Client

from oneplan_events._jsapi import stream_names
from oneplan_events.consumer import DurableConsumer

__all__ = ["STREAM_CREATED_ADVISORY", "StreamFollower"]

logger = logging.getLogger(__name__)

STREAM_CREATED_ADVISORY: Final = "$JS.EVENT.ADVISORY.STREAM.CREATED.*"


class StreamFollower:
    """Runs ``build(stream)``'s consumer on every stream carrying ``oneplan.*.<types>``."""

    def __init__(
        self,
        nc: Client,
        *,
        name: str,
        types: str,
        build: Callable[[str], DurableConsumer],
        interval: float = 10.0,
        expected: Iterable[str] = (),
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.nc = nc
        self.name = name
        self.types = types
        self.interval = interval
        self.expected = frozenset(expected)
        self._build = build
        self.consumers: dict[str, DurableConsumer] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.discovered = False
        self.last_error: str | None = None
        self.watching_advisories = False

    @property
    def streams(self) -> list[str]:
        """The streams followed so far."""
        return sorted(self.consumers)

    @property
    def missing(self) -> list[str]:
        """The expected streams not followed yet (not created yet, or not found yet)."""
        return sorted(self.expected - set(self.consumers))

    @property
    def subject(self) -> str:
        """The subjects followed, as a NATS filter."""
        return f"oneplan.*.{self.types}.>"

    async def run(self) -> None:
        """Discover and follow until :meth:`stop`."""
        advisory = await self._watch_advisories()
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                await self._discover_once()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.interval)
        finally:
            if advisory is not None:
                self.watching_advisories = False
                with contextlib.suppress(Exception):
                    await advisory.unsubscribe()
            await self._stop_consumers()

    def stop(self) -> None:
        """Stop discovering and stop every consumer (each finishes the batch in hand)."""
        self._stopping.set()
        self._wake.set()

    async def discover(self) -> list[str]:
        """Start a consumer for every matching stream that has none yet; the new ones."""
        started = []
        for stream in await stream_names(self.nc, self.subject):
            if stream in self.consumers:
                continue
            consumer = self._build(stream)
            self.consumers[stream] = consumer
            self._tasks[stream] = asyncio.create_task(consumer.run(), name=consumer.name)
            started.append(stream)
            logger.info("%s: following %s on stream %s", self.name, self.subject, stream)
        return started

    async def _discover_once(self) -> None:
        try:
            await self.discover()
        except Exception as error:  # NATS unreachable: try again at the next look
            self.last_error = repr(error)
            logger.debug("%s: stream discovery failed: %r", self.name, error)
        else:
            self.discovered = True
            self.last_error = None

    async def _watch_advisories(self) -> Any:
        async def on_created(_: Any) -> None:
            self._wake.set()

        try:
            subscription = await self.nc.subscribe(STREAM_CREATED_ADVISORY, cb=on_created)
        except Exception as error:
            # Without the advisory (permissions), the periodic look still finds new streams.
            logger.info(
                "%s: no stream advisories (%r); looking every %ss", self.name, error, self.interval
            )
            return None
        self.watching_advisories = True
        return subscription

    async def _stop_consumers(self) -> None:
        for stream, consumer in self.consumers.items():
            with contextlib.suppress(Exception):
                await consumer.stop(grace=10)
            task = self._tasks[stream]
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
