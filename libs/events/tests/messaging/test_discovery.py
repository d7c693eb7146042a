"""Following every stream that carries some kind of event, including streams created later."""

from __future__ import annotations

import asyncio

from nats.aio.client import Client
from sqlalchemy.ext.asyncio import AsyncEngine

from oneplan_events.consumer import DurableConsumer
from oneplan_events.discovery import StreamFollower

from .conftest import Harness, make_harness, recording


async def test_a_stream_created_later_is_followed_within_moments(
    nc: Client, engine: AsyncEngine, harness: Harness
) -> None:
    types = "contribution.submitted"
    later: list[Harness] = []

    def build(stream: str) -> DurableConsumer:
        # The consumer of each followed stream writes into the same test projection.
        owner = next((h for h in (harness, *later) if h.stream.name == stream), harness)
        consumer = owner.consumer(
            f"follower_{stream.lower()}", recording(), types=types, start=False
        )
        consumer.stream = stream
        return consumer

    follower = StreamFollower(nc, name="follower", types=types, build=build, interval=60)
    task = asyncio.create_task(follower.run())
    try:
        await harness.publish(harness.envelope("first"))
        await harness.until_projected(1)
        # A new service's stream, created after the follower started: the stream-created
        # advisory wakes the follower at once (its periodic look is a minute away).
        later.append(await make_harness(nc, engine))
        try:
            await later[0].publish(later[0].envelope("from the new service"))

            async def followed() -> bool:
                return later[0].stream.name in follower.streams

            await harness.eventually(followed, within=5, message="new stream followed")
            await harness.until_projected(2, within=10)
        finally:
            follower.stop()
            await asyncio.wait_for(task, 15)
            await later[0].js.delete_stream(later[0].stream.name)
    finally:
        if not task.done():
            follower.stop()
            await asyncio.wait_for(task, 15)
    assert follower.discovered
    assert {harness.stream.name, later[0].stream.name} <= set(follower.streams)
