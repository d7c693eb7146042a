"""Fixtures of the referrals service's tests: the running app over real NATS and a database
(its own nats-server for the package, streams wiped per test)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from oneplan_events.clock import FixedClock
from oneplan_events.streams import ensure_stream, service_stream
from oneplan_kit import create_app
from oneplan_referrals.bootstrap import SERVICE
from oneplan_referrals.config import ReferralsSettings

from .referrals_testing import TODAY, Service


@pytest.fixture(scope="package")
def referrals_nats_url(nats_server_factory: Callable[..., Any]) -> str:
    """A nats-server of this test package's own."""
    server = nats_server_factory()
    url: str = server.url
    return url


@pytest.fixture
async def js(referrals_nats_url: str) -> AsyncIterator[JetStreamContext]:
    """JetStream wiped, holding the streams this service reads, created as their services
    create them (partitioned by record)."""
    nc: NATS = await nats.connect(referrals_nats_url)
    context = nc.jetstream(timeout=2.0)
    for info in await context.streams_info():
        if info.config.name:
            await context.delete_stream(info.config.name)
    for service in ("children", "consent", "plans"):
        await ensure_stream(context, service_stream(service))
    yield context
    await nc.close()


async def _running(
    database_url: str, nats_url: str, tmp_path: Path, js: JetStreamContext
) -> AsyncIterator[Service]:
    settings = ReferralsSettings(
        database_url=database_url,
        nats_url=nats_url,
        var_dir=tmp_path,
        consumer_pin_ttl=2.0,
        consumer_ack_wait=5.0,
    )
    clock = FixedClock(datetime(TODAY.year, TODAY.month, TODAY.day, 10, tzinfo=UTC))
    app = create_app(SERVICE, settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://referrals") as client:
            yield Service(app, client, settings, js, clock)


@pytest.fixture
async def service(
    database_url: str, referrals_nats_url: str, js: JetStreamContext, tmp_path: Path
) -> AsyncIterator[Service]:
    """The app on SQLite and on PostgreSQL, its clock at TODAY."""
    async for running in _running(database_url, referrals_nats_url, tmp_path, js):
        yield running


@pytest.fixture
async def sqlite_service(
    sqlite_url: str, referrals_nats_url: str, js: JetStreamContext, tmp_path: Path
) -> AsyncIterator[Service]:
    """The app on SQLite only (the hostile-input sweep, whose dialect differences the
    storable-input test of libs/events covers)."""
    async for running in _running(sqlite_url, referrals_nats_url, tmp_path, js):
        yield running


@pytest.fixture
async def pg_service(
    pg_database_url: str, referrals_nats_url: str, js: JetStreamContext, tmp_path: Path
) -> AsyncIterator[Service]:
    """The app on PostgreSQL only (the fuzzer)."""
    async for running in _running(pg_database_url, referrals_nats_url, tmp_path, js):
        yield running
