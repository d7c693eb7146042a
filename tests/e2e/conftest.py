"""Cross-service end-to-end fixtures: the children and consent services served by uvicorn on
free ports, on their own nats-server and two fresh PostgreSQL databases; the generated
least-privilege NATS configuration running (`deployment`), and the services' log records
(`logs`)."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from oneplan_children.config import ChildrenSettings
from oneplan_children.entrypoints.api import create_app as create_children_app
from oneplan_consent.config import ConsentSettings
from oneplan_consent.entrypoints.api import create_app as create_consent_app
from oneplan_testkit import unique_name

sys.path.insert(0, str(Path(__file__).parent))

from e2e_services import Services, drop_databases, serving, wait_ready
from nats_deployment import CapturedLogs, Deployment, generated_deployment

from oneplan_testkit import NatsProcess


@pytest.fixture
def deployment(
    tmp_path: Path, nats_server_factory: Callable[..., NatsProcess]
) -> Iterator[Deployment]:
    """A fresh nats-server running the generated accounts with test passwords."""
    with generated_deployment(tmp_path, nats_server_factory) as running:
        yield running


@pytest.fixture
def logs() -> Iterator[CapturedLogs]:
    """Every log record of the services (all run in this process)."""
    handler = CapturedLogs()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


@pytest.fixture
async def services(
    postgres_url: str, nats_server_factory: Callable[..., Any], tmp_path: Path
) -> AsyncIterator[Services]:
    nats_url = nats_server_factory().url
    key = tmp_path / "signing-key.pem"
    names = [unique_name("e2e_children").lower(), unique_name("e2e_consent").lower()]
    database = make_url(postgres_url)
    children_db, consent_db = (
        database.set(database=name).render_as_string(hide_password=False) for name in names
    )
    common: dict[str, Any] = {"nats_url": nats_url, "dev_signing_key": key, "var_dir": tmp_path}
    children_settings = ChildrenSettings(database_url=children_db, **common)
    consent_settings = ConsentSettings(
        database_url=consent_db, discovery_interval=0.5, expiry_interval=1.0, **common
    )
    try:
        async with (
            serving(create_consent_app(consent_settings)) as consent,
            serving(create_children_app(children_settings)) as children,
        ):
            async with httpx.AsyncClient() as client:
                for url in (children, consent):
                    await wait_ready(client, url)
            yield Services(children=children, consent=consent, settings=children_settings)
    finally:
        await drop_databases(postgres_url, names)
