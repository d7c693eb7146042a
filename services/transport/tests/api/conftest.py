"""Run the transport service against real NATS and a real database, and feed it the plans and
children services' events.

The service gets its own nats-server for this test package, wiped before each test, with the
PLANS, CHILDREN and CONSENT streams created exactly as those services create them
(partitioned by record); a fresh database per test (SQLite and PostgreSQL); and a fixed
clock its routes read (Monday 14 September 2026).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
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
from sqlalchemy import func, select

from oneplan_events.clock import FixedClock
from oneplan_events.envelope import Envelope
from oneplan_events.schema import event_store
from oneplan_events.streams import ensure_stream, service_stream
from oneplan_kit import Runtime, create_app
from oneplan_kit.auth import issue_dev_token
from oneplan_transport.bootstrap import SERVICE
from oneplan_transport.config import TransportSettings

from ..transport_testing import ForeignStreams, publish

NOW = datetime(2026, 9, 14, 9, 30, tzinfo=UTC)


async def wait_for(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@dataclass
class Service:
    """The running transport service, a client for it, its JetStream and foreign events."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: TransportSettings
    js: JetStreamContext
    foreign: ForeignStreams

    def auth(
        self,
        agency: str = "transport",
        roles: Sequence[str] = ("transport_officer",),
        children: Sequence[UUID] = (),
    ) -> dict[str, str]:
        token = issue_dev_token(self.settings, agency, roles, children)
        return {"Authorization": f"Bearer {token}"}

    def family(self, child_id: UUID) -> dict[str, str]:
        return self.auth("family", ("parent",), [child_id])

    async def publish(self, envelope: Envelope) -> None:
        await publish(self.js, envelope)

    async def stored_events(self) -> int:
        runtime: Runtime = self.app.state.runtime
        async with runtime.sessionmaker() as session:
            return int(await session.scalar(select(func.count()).select_from(event_store)) or 0)

    async def case(self, case_id: UUID) -> dict[str, Any]:
        response = await self.client.get(f"/v1/cases/{case_id}", headers=self.auth())
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def wait_for_case(
        self, case_id: UUID, check: Callable[[dict[str, Any]], bool] = lambda _: True
    ) -> dict[str, Any]:
        seen: dict[str, Any] = {}

        async def arrived() -> bool:
            response = await self.client.get(f"/v1/cases/{case_id}", headers=self.auth())
            if response.status_code != 200:
                return False
            seen.update(response.json())
            return check(seen)

        await wait_for(arrived)
        return seen


@pytest.fixture(scope="package")
def transport_nats_url(nats_server_factory: Callable[..., Any]) -> str:
    """A nats-server of this test package's own."""
    return str(nats_server_factory().url)


@pytest.fixture
async def js(transport_nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc: NATS = await nats.connect(transport_nats_url)
    context = nc.jetstream(timeout=2.0)
    for info in await context.streams_info():
        await context.delete_stream(info.config.name)
    for name in ("plans", "children", "consent"):
        await ensure_stream(context, service_stream(name))
    yield context
    await nc.close()


@pytest.fixture
async def service(
    database_url: str, transport_nats_url: str, tmp_path: Path, js: JetStreamContext
) -> AsyncIterator[Service]:
    settings = TransportSettings(
        database_url=database_url,
        nats_url=transport_nats_url,
        dev_signing_key=tmp_path / "key.pem",
        var_dir=tmp_path,
        discovery_interval=0.2,
        consumer_ack_wait=5.0,
        consumer_pin_ttl=2.0,
    )
    app = create_app(SERVICE, settings, clock=FixedClock(NOW))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://transport") as client:
            yield Service(app, client, settings, js, ForeignStreams())
