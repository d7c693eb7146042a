"""The app factory and lifespan: health, OpenAPI, events reaching JetStream, clean shutdown."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import httpx
import nats
import pytest
from fastapi import APIRouter
from nats.js.api import DeliverPolicy
from sqlalchemy import select

from oneplan_events.reactions import Reactions
from oneplan_events.schema import BACKBONE_METADATA
from oneplan_kit import Subscription, Worker, WorkerContext, create_app


async def test_healthz_and_readyz_answer_when_everything_is_up(service: Any) -> None:
    alive = await service.client.get("/healthz")
    assert alive.status_code == 200
    assert alive.json() == {"status": "alive"}
    ready = await service.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert set(checks) == {
        "database",
        "migrations",
        "nats",
        "stream",
        "relay",
        "idempotency_retention",
        "dead_letters",
    }
    assert all(check["ok"] for check in checks.values())
    assert ready.json()["status"] == "ready"


async def test_openapi_documents_the_bearer_scheme(sqlite_service: Any) -> None:
    response = await sqlite_service.client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert document["paths"]["/widgets"]["post"]["security"] == [{"HTTPBearer": []}]
    docs = await sqlite_service.client.get("/docs")
    assert docs.status_code == 200


async def test_a_commands_events_reach_jetstream(service: Any, kit_nats: str) -> None:
    response = await service.client.post(
        "/widgets", json={"name": "gear", "size": 5}, headers=service.auth()
    )
    assert response.status_code == 201
    widget_id = response.json()["widget_id"]
    nc = await nats.connect(kit_nats)
    try:
        sub = await nc.jetstream().subscribe(
            "oneplan.kittest.widget.created.>",
            stream="KITTEST",
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL,
        )
        found = None
        async with asyncio.timeout(10):
            while found is None:
                message = await sub.next_msg(timeout=10)
                if json.loads(message.data)["widget_id"] == widget_id:
                    found = message
        await sub.unsubscribe()
    finally:
        await nc.close()
    assert found.headers is not None
    assert found.headers["ce-source"] == "/oneplan/kittest"
    assert found.headers["ce-subject"] == f"widget/{widget_id}"
    await _wait_until_marked_published(service)


async def _wait_until_marked_published(service: Any) -> None:
    # The relay marks the row after JetStream's ack, so the mark may trail the message a little.
    outbox = BACKBONE_METADATA.tables["outbox"]
    async with asyncio.timeout(10):
        while True:
            async with service.runtime.sessionmaker() as session:
                if await session.scalar(select(outbox.c.published_at)) is not None:
                    return
            await asyncio.sleep(0.05)


async def test_shutdown_stops_the_background_work(
    sqlite_url: str,
    kit_nats: str,
    make_settings: Callable[..., Any],
    serve_service: Callable[..., Any],
) -> None:
    async with serve_service(make_settings(sqlite_url, kit_nats)) as running:
        runtime = running.runtime
        assert runtime.supervisor.running("relay")
    assert not runtime.supervisor.running("relay")
    assert runtime.nc.is_closed
    assert running.app.state.runtime is None


async def test_the_app_does_not_start_without_nats(
    sqlite_url: str, make_settings: Callable[..., Any], serve_service: Callable[..., Any]
) -> None:
    settings = make_settings(sqlite_url, "nats://127.0.0.1:1", nats_connect_timeout=0.5)
    with pytest.raises(RuntimeError, match="cannot connect to NATS"):
        async with serve_service(settings):
            pass


async def _applying_a_partition(client: httpx.AsyncClient, check: str) -> dict[str, Any]:
    """The consumer's readiness check once it applies a partition (pinned on a delivery)."""
    async with asyncio.timeout(15):
        while True:
            consumer: dict[str, Any] = (await client.get("/readyz")).json()["checks"][check]
            if consumer["partitions"]:
                return consumer
            await asyncio.sleep(0.05)


async def test_subscriptions_and_workers_run_supervised_and_stop_with_the_app(
    sqlite_url: str,
    kit_nats: str,
    kit_definition: Any,
    make_settings: Callable[..., Any],
    serve_service: Callable[..., Any],
) -> None:
    ticks: list[str] = []

    async def ticking(context: WorkerContext) -> None:
        while await context.sleep(0.05):
            ticks.append("tick")

    definition = dataclasses.replace(
        kit_definition,
        subscriptions=[Subscription("own_widgets", reads="kittest", reactions=Reactions())],
        workers=[Worker("ticker", ticking)],
    )
    settings = make_settings(sqlite_url, kit_nats, relay_lease_ttl=1.5)
    async with serve_service(settings, definition) as running:
        ready = await running.client.get("/readyz")
        assert ready.status_code == 200, ready.text
        checks = ready.json()["checks"]
        assert checks["consumer:kittest_own_widgets"]["ok"]
        assert checks["worker:ticker"] == {"ok": True, "detail": "running", "required": True}
        runtime = running.runtime
        assert runtime.supervisor.running("consumer:kittest_own_widgets")
        assert runtime.relay is not None
        assert runtime.relay.lease_ttl == 1.5
        created = await running.client.post(
            "/widgets", json={"name": "gear", "size": 5}, headers=running.auth()
        )
        assert created.status_code == 201, created.text
        consumer = await _applying_a_partition(running.client, "consumer:kittest_own_widgets")
        assert consumer["detail"] == f"applying partitions {consumer['partitions']}"
        await asyncio.sleep(0.2)
    assert not runtime.supervisor.running("worker:ticker")
    assert not runtime.consumers[0].running
    assert ticks


async def test_a_failing_worker_is_restarted_and_reported(
    sqlite_url: str,
    kit_nats: str,
    kit_definition: Any,
    make_settings: Callable[..., Any],
    serve_service: Callable[..., Any],
) -> None:
    runs: list[int] = []
    restarted = asyncio.Event()

    async def flaky(context: WorkerContext) -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("lost the database")
        restarted.set()
        await context.stopping.wait()

    definition = dataclasses.replace(kit_definition, workers=[Worker("flaky", flaky)])
    async with serve_service(make_settings(sqlite_url, kit_nats), definition) as running:
        await asyncio.wait_for(restarted.wait(), 5)
        state = running.runtime.supervisor.report()["worker:flaky"]
        assert state["restarts"] == 1
        assert state["last_error"] == "RuntimeError: lost the database"
        assert state["running"]


async def test_a_route_without_a_declared_caller_is_refused_at_start(
    kit_definition: Any, make_settings: Callable[..., Any], sqlite_url: str
) -> None:
    router = APIRouter()

    @router.get("/open")
    async def undeclared() -> None:
        return None

    definition = dataclasses.replace(kit_definition, routers=[router])
    with pytest.raises(ValueError, match="GET /open declares no caller"):
        create_app(definition, make_settings(sqlite_url, "nats://127.0.0.1:1"))
