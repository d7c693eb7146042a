"""Helpers for the ConsentReplica tests against a real nats-server."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any, cast

from nats.js import JetStreamContext
from sharing_factories import envelope_of

from oneplan_events.catalogue import Event
from oneplan_events.streams import ensure_stream, service_stream
from oneplan_sharing import ConsentReplica

CONSENT_STREAM = service_stream("consent")
STREAM = CONSENT_STREAM.name


async def eventually(predicate: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def publish(js: JetStreamContext, event: Event) -> int:
    """Publish a consent event; return its stream sequence (what a consistency token holds)."""
    envelope = envelope_of(event)
    headers, body = envelope.to_nats()
    ack = await js.publish(envelope.nats_subject, body, headers=headers)
    return int(ack.seq)


@contextlib.asynccontextmanager
async def running(replica: ConsentReplica) -> AsyncIterator[ConsentReplica]:
    task = asyncio.create_task(replica.run())
    try:
        yield replica
    finally:
        await replica.stop()
        await asyncio.wait_for(task, 5)


def fast_replica(js: JetStreamContext, staleness: float = 5.0) -> ConsentReplica:
    return ConsentReplica(
        js,
        max_staleness=timedelta(seconds=staleness),
        probe_interval=timedelta(seconds=0.05),
    )


async def create_stream(js: JetStreamContext) -> None:
    await ensure_stream(js, CONSENT_STREAM)


async def recreate_stream(js: JetStreamContext) -> None:
    await js.delete_stream(STREAM)
    await create_stream(js)


class ProbeHook:
    """A JetStream context whose next `stream_info` runs `before` (ahead of asking the server)
    and `after` (once the server has answered, before the caller sees the answer), so a test
    can put events between the moment a probe is sent and the moment its answer is used; and
    whose subscriptions lose their messages while `deliveries_lost` (a stalled replica).

    Arm it only once the replica has subscribed: its next `stream_info` is then a probe.
    """

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js
        self.before: Callable[[], Awaitable[None]] | None = None
        self.after: Callable[[Any], Awaitable[Any]] | None = None
        self.answered = asyncio.Event()
        self.deliveries_lost = False  # while True, the subscriptions' messages are dropped

    def __getattr__(self, name: str) -> Any:
        return getattr(self._js, name)

    async def subscribe(self, *args: Any, cb: Any, **kwargs: Any) -> Any:
        async def deliver(msg: Any) -> None:
            if not self.deliveries_lost:
                await cb(msg)

        return await self._js.subscribe(*args, cb=deliver, **kwargs)

    async def stream_info(self, name: str, *args: Any, **kwargs: Any) -> Any:
        before, self.before = self.before, None
        if before is not None:
            await before()
        info = await self._js.stream_info(name, *args, **kwargs)
        after, self.after = self.after, None
        if after is not None:
            info = await after(info)
            self.answered.set()
        return info


def hooked_replica(
    js: JetStreamContext, staleness: float = 5.0
) -> tuple[ConsentReplica, ProbeHook]:
    hook = ProbeHook(js)
    return fast_replica(cast(JetStreamContext, hook), staleness), hook
