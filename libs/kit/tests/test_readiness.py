"""Readiness follows NATS: 503 while the server is away, 200 again once it is back."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from typing import Any

import httpx
import nats
from nats.js.errors import NotFoundError


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
