"""Readiness follows NATS: 503 while the server is away, 200 again once it is back."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from collections.abc import Callable
from typing import Any

import httpx
import nats
from nats.js.errors import NotFoundError

from oneplan_events.reactions import Reactions
from oneplan_events.streams import ensure_stream, service_stream
from oneplan_kit import EVERY_SERVICE, Subscription

from .conftest import DEFINITION


async def _wait_for_status(client: httpx.AsyncClient, status: int, seconds: float) -> Any:
    async with asyncio.timeout(seconds):
        while True:
            response = await client.get("/readyz")
            if response.status_code == status:
                return response.json()
            await asyncio.sleep(0.1)


async def _wait_for_stream(url: str, name: str, seconds: float) -> None:
    nc = await nats.connect(url)
    try:
        async with asyncio.timeout(seconds):
            while True:
                try:
                    await nc.jetstream().stream_info(name)
                    return
                except NotFoundError:
                    await asyncio.sleep(0.1)
    finally:
        await nc.close()


async def test_readiness_flips_to_503_while_nats_is_unreachable(
    sqlite_url: str,
    nats_server_factory: Callable[..., Any],
    make_settings: Callable[..., Any],
    serve_service: Callable[..., Any],
) -> None:
    server = nats_server_factory()
    async with serve_service(make_settings(sqlite_url, server.url)) as running:
        await _wait_for_status(running.client, 200, 10)
        server.kill()
        body = await _wait_for_status(running.client, 503, 10)
        assert body["status"] == "not_ready"
        assert body["checks"]["nats"]["ok"] is False
        assert body["checks"]["database"]["ok"] is True
        # The server comes back without its store (a fresh container would): the service
        # must recreate its stream on reconnect.
        shutil.rmtree(server.store_dir / "jetstream", ignore_errors=True)
        server.start()
        await _wait_for_status(running.client, 200, 20)
        await _wait_for_stream(server.url, "KITTEST", 10)


NEIGHBOUR_READER = Subscription("neighbour_events", reads="neighbour", reactions=Reactions())
EVERY_THING = Subscription(
    "things", reads=EVERY_SERVICE, types="thing.happened", reactions=Reactions()
)


async def _readiness(client: httpx.AsyncClient) -> Any:
    return (await client.get("/readyz")).json()


async def test_a_fresh_start_before_its_neighbours_stream_exists_is_degraded_and_says_why(
    sqlite_url: str,
    nats_server_factory: Callable[..., Any],
    make_settings: Callable[..., Any],
    serve_service: Callable[..., Any],
) -> None:
    """A consumer of a stream not created yet, and a follower that has not found it, are
    advisory: the service takes traffic (200 degraded) and /readyz names the stream. Once the
    neighbour creates it, the follower finds it at once (its periodic look is far off)."""
    server = nats_server_factory()
    definition = dataclasses.replace(DEFINITION, subscriptions=[NEIGHBOUR_READER, EVERY_THING])
    settings = make_settings(sqlite_url, server.url, discovery_interval=300.0)
    async with serve_service(settings, definition) as running:
        async with asyncio.timeout(10):
            while True:
                body = await _readiness(running.client)
                if not body["checks"]["consumer:kittest_neighbour_events"]["ok"]:
                    break
                await asyncio.sleep(0.05)
        answer = await running.client.get("/readyz")
        assert (answer.status_code, answer.json()["status"]) == (200, "degraded")
        checks = answer.json()["checks"]
        consumer = checks["consumer:kittest_neighbour_events"]
        follower = checks["follower:kittest_things"]
        assert consumer["required"] is False
        assert consumer["detail"].startswith("waiting for stream NEIGHBOUR to be created")
        assert (follower["ok"], follower["required"]) == (False, False)
        assert follower["detail"].startswith("following KITTEST; waiting for NEIGHBOUR")
        assert "every 300s" in follower["detail"]

        nc = await nats.connect(server.url)
        try:
            await ensure_stream(nc.jetstream(), service_stream("neighbour"))
        finally:
            await nc.close()
        body = await _wait_for_status(running.client, 200, 10)
        async with asyncio.timeout(5):
            while body["status"] != "ready":
                await asyncio.sleep(0.05)
                body = await _readiness(running.client)
        follower = body["checks"]["follower:kittest_things"]
        assert follower["detail"].startswith("following KITTEST, NEIGHBOUR; new streams at once")
        assert body["checks"]["consumer:kittest_neighbour_events"]["ok"] is True
