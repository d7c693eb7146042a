"""Fixtures of the children service's tests: the running app over real NATS and a database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import nats
import pytest
from fastapi import FastAPI
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from oneplan_children.bootstrap import SERVICE
from oneplan_children.config import ChildrenSettings
from oneplan_events.clock import FixedClock
from oneplan_events.streams import ensure_stream, service_stream
from oneplan_kit import create_app
from oneplan_kit.auth import issue_dev_token

# Created exactly as the consent service creates it (partitioned by record), so that a consent
# service sharing this NATS server finds the stream it expects.
CONSENT_STREAM = service_stream("consent")


@dataclass
class Service:
    """A running children service, a client for it, and the clock its routes read."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: ChildrenSettings
    js: JetStreamContext
    clock: FixedClock

    def auth(
        self,
        agency: str = "send",
        roles: Sequence[str] = ("caseworker",),
        children: Sequence[UUID | str] = (),
    ) -> dict[str, str]:
        token = issue_dev_token(self.settings, agency, roles, children)
        return {"Authorization": f"Bearer {token}"}

    async def register(self, **overrides: Any) -> httpx.Response:
        body: dict[str, Any] = {
            "given_name": "Ada",
            "family_name": "Testchild",
            "date_of_birth": "2015-03-01",
        }
        body.update(overrides)
        return await self.client.post("/v1/children", json=body, headers=self.auth())


async def _running(database_url: str, nats_url: str, var_dir: Path) -> AsyncIterator[Service]:
    settings = ChildrenSettings(database_url=database_url, nats_url=nats_url, var_dir=var_dir)
    nc: NATS = await nats.connect(nats_url)
    js = nc.jetstream()
    # The consent replica follows CONSENT; create it so the replica can prove freshness.
    await ensure_stream(js, CONSENT_STREAM)
    # The routes' clock: the real time at the start, moved only by the tests.
    clock = FixedClock(datetime.now(UTC))
    app = create_app(SERVICE, settings, clock=clock)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://children") as client:
                yield Service(app, client, settings, js, clock)
    finally:
        await nc.drain()


@pytest.fixture
async def service(sqlite_url: str, nats_url: str, tmp_path: Path) -> AsyncIterator[Service]:
    """The app on SQLite (most API tests)."""
    async for running in _running(sqlite_url, nats_url, tmp_path):
        yield running


@pytest.fixture
async def service_on(database_url: str, nats_url: str, tmp_path: Path) -> AsyncIterator[Service]:
    """The app on SQLite and on PostgreSQL."""
    async for running in _running(database_url, nats_url, tmp_path):
        yield running
