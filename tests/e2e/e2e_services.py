"""The running services of an end-to-end test, and how to serve an app with uvicorn: one
service, or any set of installed services (each its own database, SQLite or PostgreSQL, one
nats-server), and what each one's readiness says about parked messages."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import asyncpg
import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from oneplan_kit import ServiceSettings, issue_dev_token
from oneplan_kit import create_app as create_service_app
from oneplan_kit.service import installed_services
from oneplan_testkit import unique_name
from oneplan_testkit.ports import free_port

Backend = Literal["sqlite", "postgresql"]

# Settings that make the services notice each other at test speed (the defaults are an
# operator's: 10 s between looks for a new stream).
_QUICK: Final[dict[str, Any]] = {"discovery_interval": 0.5}
_QUICK_BY_SERVICE: Final[dict[str, dict[str, Any]]] = {"consent": {"expiry_interval": 1.0}}


@dataclass(frozen=True)
class Services:
    """Where the running services answer, and a way to mint tokens they accept."""

    children: str
    consent: str
    settings: ServiceSettings
    urls: Mapping[str, str] = field(default_factory=dict)
    """Every running service's URL by name (children and consent included)."""

    def url(self, service: str) -> str:
        """Where `service` answers (an AssertionError naming it when it is not running)."""
        assert service in self.urls, f"{service} is not running here ({sorted(self.urls)})"
        return self.urls[service]

    def auth(
        self,
        agency: str,
        roles: tuple[str, ...] = ("caseworker",),
        children: Any = (),
        sub: str | None = None,
    ) -> dict[str, str]:
        """A bearer header; a family user's `sub` is their member id (or the child's own id)."""
        token = issue_dev_token(self.settings, agency, roles, children, sub=sub)
        return {"Authorization": f"Bearer {token}"}


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on a free 127.0.0.1 port, lifespan included."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def wait_ready(client: httpx.AsyncClient, url: str, within: float = 30.0) -> None:
    """Until the service at `url` answers /readyz with 200 (ready or degraded)."""
    async with asyncio.timeout(within):
        while True:
            response = await client.get(f"{url}/readyz")
            if response.status_code == 200:
                return
            await asyncio.sleep(0.1)


async def drop_databases(admin_url: str, names: list[str]) -> None:
    """Drop the test's databases (connections still open are ended)."""
    url = make_url(admin_url)
    conn = await asyncpg.connect(
        user=url.username, password=url.password, host=url.host, port=url.port, database="postgres"
    )
    try:
        for name in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def database_urls(
    backend: Backend, services: Sequence[str], *, tmp_path: Path, postgres_url: str | None
) -> dict[str, str]:
    """A fresh database per service: a SQLite file each, or a PostgreSQL database each (created
    by the service's migrations on start; `drop_databases` removes them)."""
    if backend == "sqlite":
        return {name: f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}" for name in services}
    assert postgres_url is not None, "a PostgreSQL run needs the postgres_url fixture"
    database = make_url(postgres_url)
    return {
        name: database.set(database=unique_name(f"e2e_{name}").lower()).render_as_string(
            hide_password=False
        )
        for name in services
    }


@contextlib.asynccontextmanager
async def running_services(
    services: Sequence[str],
    *,
    backend: Backend,
    nats: Callable[[str], Mapping[str, Any]],
    tmp_path: Path,
    postgres_url: str | None = None,
) -> AsyncIterator[Services]:
    """The named installed services, each its real app served by uvicorn on a free port with
    its own database, all on one NATS (`nats(service)`: its settings for that service, e.g.
    `{"nats_url": url}`, or its own user and password); yielded once every one is ready.
    (They start in the order given; a service started before a stream it reads exists finds
    it when the stream is created.)"""
    definitions = installed_services()
    missing = sorted(set(services) - set(definitions))
    assert not missing, f"not installed: {missing}"
    databases = database_urls(backend, services, tmp_path=tmp_path, postgres_url=postgres_url)
    common: dict[str, Any] = {
        "dev_signing_key": tmp_path / "signing-key.pem",
        "var_dir": tmp_path,
        **_QUICK,
    }
    settings = {
        name: definitions[name].settings_cls(
            database_url=databases[name],
            **common,
            **nats(name),
            **_QUICK_BY_SERVICE.get(name, {}),
        )
        for name in services
    }
    try:
        async with contextlib.AsyncExitStack() as stack:
            urls: dict[str, str] = {}
            for name in services:
                app = create_service_app(definitions[name], settings[name])
                urls[name] = await stack.enter_async_context(serving(app))
            async with httpx.AsyncClient() as client:
                for url in urls.values():
                    await wait_ready(client, url)
            yield Services(
                children=urls.get("children", ""),
                consent=urls.get("consent", ""),
                settings=next(iter(settings.values())),
                urls=urls,
            )
    finally:
        if backend == "postgresql":
            assert postgres_url is not None
            await drop_databases(
                postgres_url, [make_url(u).database or "" for u in databases.values()]
            )


async def readiness_faults(client: httpx.AsyncClient, services: Services) -> dict[str, Any]:
    """Each running service's failing readiness checks (a parked event names its consumer and
    what it leaves missing), by service; empty when every one is ready with nothing parked."""
    faults: dict[str, Any] = {}
    for name, url in services.urls.items():
        response = await client.get(f"{url}/readyz")
        failing = {k: c["detail"] for k, c in response.json()["checks"].items() if not c["ok"]}
        if response.status_code != 200 or failing:
            faults[name] = {"http": response.status_code, **failing}
    return faults


async def assert_nothing_parked(client: httpx.AsyncClient, services: Services) -> None:
    """Every running service is ready with no dead letter (a parked event is a mismatch
    between a publisher and a reader) and every consumer running: else an AssertionError
    naming each service and its failing checks."""
    faults = await readiness_faults(client, services)
    assert not faults, f"not ready, or events parked: {faults}"
