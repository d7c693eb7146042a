"""Run the consent service against real NATS and a real database, and feed it children events.

The service gets its own nats-server for this test package (its CONSENT and CHILDREN streams
never meet another package's), a fresh database per test (SQLite and PostgreSQL) and unique
durable consumer names per test.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from fastapi import FastAPI
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from oneplan_consent.config import ConsentSettings
from oneplan_consent.entrypoints.api import create_app
from oneplan_events.streams import ensure_stream, stream_for
from oneplan_testkit import unique_name

sys.path.insert(0, str(Path(__file__).parent))

from consent_testing import ChildMaker, Tokens, runtime_of, wait_until


@pytest.fixture(scope="package")
def consent_nats_url(nats_server_factory: Callable[..., Any]) -> str:
    """A nats-server of this test package's own."""
    server = nats_server_factory()
    return server.url


@pytest.fixture
async def js(consent_nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc: NATS = await nats.connect(consent_nats_url)
    context = nc.jetstream(timeout=2.0)
    await ensure_stream(context, stream_for("children"))
    yield context
    await nc.close()


@pytest.fixture
def settings(database_url: str, consent_nats_url: str, tmp_path: Path) -> ConsentSettings:
    return ConsentSettings(
        database_url=database_url,
        nats_url=consent_nats_url,
        dev_signing_key=tmp_path / "key.pem",
        var_dir=tmp_path,
        consumer_prefix=unique_name("consent"),
        extra_agencies=["educational_psychology"],
        expiry_interval=0.2,
        discovery_interval=0.2,
    )


@pytest.fixture
async def app(settings: ConsentSettings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
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
def make_child(app: FastAPI, js: JetStreamContext) -> ChildMaker:
    return ChildMaker(app, js)
