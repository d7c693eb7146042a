"""Fault tests with a dedicated nats-server: the consumer outlives a server restart."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from oneplan_events.catalogue import ContributionSubmitted
from oneplan_events.consumer import ConsumerTiming
from oneplan_events.reactions import Delivery, Reactions

from .conftest import connect, make_harness, record

pytestmark = pytest.mark.slow


async def test_consumption_resumes_by_itself_after_a_server_restart(
    nats_server_factory: Callable[..., Any], pg_engine: AsyncEngine
) -> None:
    server = nats_server_factory()
    nc, _ = await connect(server.url)
    harness = await make_harness(nc, pg_engine)
    gate = asyncio.Event()
    reactions = Reactions()

    @reactions.handles(ContributionSubmitted)
    async def throttled(event: Any, delivery: Delivery) -> None:
        await record(event, delivery)
        if getattr(event, "title", "") == "a40":
            gate.set()
            await asyncio.sleep(0.2)

    await harness.publish_many(100, prefix="a", records=10)
    consumer = harness.consumer(
        "projector",
        reactions,
        batch=10,
        timing=ConsumerTiming(ack_wait=3, expires=1.0, heartbeat=0.2, pin_ttl=2.0),
    )
    try:
        await asyncio.wait_for(gate.wait(), 20)
        server.stop()  # mid-stream: the consumer has applied about 40 of 100
        await asyncio.sleep(1.0)
        server.start()

        async def reconnected() -> bool:
            return bool(nc.is_connected)

        await harness.eventually(reconnected, message="client reconnected")
        await harness.publish_many(100, prefix="b", records=10)
        await harness.until_projected(200, within=40)

        # Now the server dies (SIGKILL: no goodbye to the pull request the consumer idles on)
        # and comes back without that request.
        server.kill()
        await asyncio.sleep(0.5)
        server.start()
        await harness.eventually(reconnected, message="client reconnected again")
        await harness.publish_many(50, prefix="c", records=10)
        await harness.until_projected(250, within=40)
        await asyncio.sleep(0.5)  # let any redelivery arrive: it must not add rows
        counts = Counter(event_id for event_id, _ in await harness.projected())
        assert counts == Counter(envelope.id for envelope in harness.published)
        assert consumer.running
        # The silenced pull request (nats.py issue 504) was noticed by its missing
        # heartbeats and replaced.
        assert consumer.stats.pulls_lost >= 1, consumer.stats
    finally:
        await harness.stop_consumers()
        await nc.close()
