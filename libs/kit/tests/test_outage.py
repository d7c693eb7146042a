"""A command during a database outage is a 503 problem and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from oneplan_events.schema import BACKBONE_METADATA
from oneplan_kit.db import create_engine


async def _set_outage(admin_url: str, database: str, *, down: bool) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            allow = "false" if down else "true"
            await conn.exec_driver_sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {allow}')
            if down:
                await conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": database},
                )
    finally:
        await admin.dispose()


async def test_a_command_during_an_outage_is_503_and_writes_nothing(
    pg_database_url: str,
    postgres_url: str,
    kit_nats: str,
    make_settings: Callable[..., Any],
    serve_service: Callable[..., Any],
) -> None:
    database = make_url(pg_database_url).database
    assert database is not None
    async with serve_service(make_settings(pg_database_url, kit_nats)) as running:
        await _set_outage(postgres_url, database, down=True)
        try:
            response = await running.client.post(
                "/widgets", json={"name": "gear", "size": 1}, headers=running.auth()
            )
            ready = await running.client.get("/readyz")
        finally:
            await _set_outage(postgres_url, database, down=False)
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "urn:oneplan:problem:service-unavailable"
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"]["ok"] is False
        events = BACKBONE_METADATA.tables["event_store"]
        async with running.runtime.sessionmaker() as session:
            assert await session.scalar(select(func.count()).select_from(events)) == 0
