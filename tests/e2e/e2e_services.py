"""The running services of an end-to-end test, and how to serve an app with uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from oneplan_kit import ServiceSettings, issue_dev_token
from oneplan_testkit.ports import free_port


@dataclass(frozen=True)
class Services:
    """Where the running services answer, and a way to mint tokens they accept."""

    children: str
    consent: str
    settings: ServiceSettings

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
