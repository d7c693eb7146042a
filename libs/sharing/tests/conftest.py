"""Make the sharing test helpers importable (pytest runs with --import-mode=importlib), and
give the replica tests a nats-server of their own with an empty CONSENT stream."""

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js import JetStreamContext

sys.path.insert(0, str(Path(__file__).parent))

from replica_testing import create_stream


@pytest.fixture
async def server(nats_server_factory: Callable[..., Any]) -> AsyncIterator[Any]:
    process = nats_server_factory()
    yield process
    process.stop()


@pytest.fixture
async def js(server: Any) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(
        server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1, connect_timeout=2
    )
    context = nc.jetstream(timeout=1.0)
    await create_stream(context)
    yield context
    await nc.close()
