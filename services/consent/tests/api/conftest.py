"""Run the consent service against real NATS and a real database, and feed it children events.

The service gets its own nats-server for this test package (its CONSENT and CHILDREN streams
never meet another package's), wiped before each test so that every test starts with no
streams and no durable consumers; a fresh database per test (SQLite and PostgreSQL); and a
fixed clock its routes and workers read, moved only by the tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from fastapi import FastAPI
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from oneplan_consent.bootstrap import SERVICE
from oneplan_consent.config import ConsentSettings
from oneplan_events.clock import FixedClock
from oneplan_events.streams import ensure_stream, service_stream
from oneplan_kit import create_app

from ..consent_testing import ChildMaker, ChildrenStream, Tokens, runtime_of, wait_until


@pytest.fixture(scope="package")
def consent_nats_url(nats_server_factory: Callable[..., Any]) -> str:
    """A nats-server of this test package's own."""
    server = nats_server_factory()
    return server.url


@pytest.fixture
async def js(consent_nats_url: str) -> AsyncIterator[JetStreamContext]:
    """JetStream on a wiped server holding only the CHILDREN stream, created exactly as the
    children service creates it (partitioned by record)."""
    nc: NATS = await nats.connect(consent_nats_url)
    context = nc.jetstream(timeout=2.0)
    for info in await context.streams_info():
        await context.delete_stream(info.config.name)
    await ensure_stream(context, service_stream("children"))
    yield context
    await nc.close()


@pytest.fixture
def settings(database_url: str, consent_nats_url: str, tmp_path: Path) -> ConsentSettings:
    return ConsentSettings(
        database_url=database_url,
        nats_url=consent_nats_url,
        dev_signing_key=tmp_path / "key.pem",
        var_dir=tmp_path,
        extra_agencies=["educational_psychology"],
        expiry_interval=0.2,
        discovery_interval=0.2,
        consumer_ack_wait=5.0,
        consumer_pin_ttl=2.0,
    )


@pytest.fixture
def clock() -> FixedClock:
    """The service's clock: the real time when the test starts."""
    return FixedClock(datetime.now(UTC))


@pytest.fixture
async def app(
    settings: ConsentSettings, clock: FixedClock, js: JetStreamContext
) -> AsyncIterator[FastAPI]:
    application = create_app(SERVICE, settings, clock=clock)
    async with application.router.lifespan_context(application):
        await wait_until(lambda: runtime_of(application).replica is not None)
        replica = runtime_of(application).replica
        assert replica is not None
        await wait_until(lambda: replica.ready)
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://consent") as c:
        yield c


@pytest.fixture
def auth(settings: ConsentSettings) -> Tokens:
    return Tokens(settings)


@pytest.fixture
def children(js: JetStreamContext) -> ChildrenStream:
    return ChildrenStream(js)


@pytest.fixture
def make_child(app: FastAPI, children: ChildrenStream) -> ChildMaker:
    return ChildMaker(app, children)
