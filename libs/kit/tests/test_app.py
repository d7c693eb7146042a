"""The app factory and lifespan: health, OpenAPI, events reaching JetStream, clean shutdown."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import nats
import pytest
from nats.js.api import DeliverPolicy
from sqlalchemy import select

from oneplan_events.consumer import DurableConsumer
from oneplan_events.schema import BACKBONE_METADATA
from oneplan_testkit import unique_name


async def test_healthz_and_readyz_answer_when_everything_is_up(service: Any) -> None:
    alive = await service.client.get("/healthz")
    assert alive.status_code == 200
    assert alive.json() == {"status": "alive"}
    ready = await service.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert set(checks) == {"database", "migrations", "nats", "stream", "relay", "consumers"}
    assert all(check["ok"] for check in checks.values())


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
            "oneplan.kittest.widget.created",
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
        assert runtime.task_running("relay")
    assert not runtime.task_running("relay")
    assert runtime.nc.is_closed
    assert running.app.state.runtime is None


async def test_the_app_does_not_start_without_nats(
    sqlite_url: str, make_settings: Callable[..., Any], serve_service: Callable[..., Any]
) -> None:
    settings = make_settings(sqlite_url, "nats://127.0.0.1:1", nats_connect_timeout=0.5)
    with pytest.raises(RuntimeError, match="cannot connect to NATS"):
        async with serve_service(settings):
            pass


async def test_consumers_from_the_factory_run_and_stop_with_the_app(
    sqlite_url: str,
    kit_nats: str,
    kit_definition: Any,
    make_settings: Callable[..., Any],
    serve_service: Callable[..., Any],
) -> None:
    name = unique_name("kitconsumer")

    def consumers(runtime: Any) -> list[DurableConsumer]:
        return [
            DurableConsumer(
                runtime.js,
                runtime.sessionmaker,
                name=name,
                stream="KITTEST",
                subjects=["oneplan.kittest.gadget.created"],
                handlers={},
            )
        ]

    definition = dataclasses.replace(kit_definition, consumers=consumers)
    async with serve_service(make_settings(sqlite_url, kit_nats), definition) as running:
        ready = await running.client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["consumers"]["detail"] == "1 running"
        runtime = running.runtime
        assert runtime.task_running(f"consumer:{name}")
    assert not runtime.task_running(f"consumer:{name}")
    assert not runtime.consumers[0].running
