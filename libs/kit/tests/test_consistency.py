"""Consistency tokens: a write of a service that gives them answers with its stream sequence."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import nats
import pytest
from sqlalchemy import select

from oneplan_events.schema import outbox
from oneplan_kit import CONSISTENCY_HEADER, ServiceDefinition

from .conftest import KitSettings, RunningService

pytestmark = pytest.mark.usefixtures("kit_nats")


def tokens_given(definition: ServiceDefinition) -> ServiceDefinition:
    return dataclasses.replace(definition, consistency_tokens=True)


async def widget_at(nats_url: str, sequence: int) -> str:
    """The widget id in the event the KITTEST stream holds at ``sequence``."""
    nc = await nats.connect(nats_url)
    try:
        message = await nc.jetstream().get_msg("KITTEST", sequence)
        return str(json.loads(message.data or b"{}")["widget_id"])
    finally:
        await nc.close()


async def test_each_write_answers_with_the_stream_sequence_of_its_event(
    database_url: str,
    kit_nats: str,
    kit_definition: ServiceDefinition,
    make_settings: Callable[..., KitSettings],
    serve_service: Callable[..., contextlib.AbstractAsyncContextManager[RunningService]],
) -> None:
    settings = make_settings(database_url, kit_nats)
    async with serve_service(settings, tokens_given(kit_definition)) as running:
        tokens = []
        for name in ("first", "second", "third"):
            created = await running.client.post(
                "/widgets", json={"name": name, "size": 1}, headers=running.auth()
            )
            assert created.status_code == 201, created.text
            tokens.append(int(created.headers[CONSISTENCY_HEADER]))
            assert await widget_at(kit_nats, tokens[-1]) == created.json()["widget_id"]
        assert tokens == sorted(tokens)
        assert len(set(tokens)) == 3


async def test_a_service_without_tokens_answers_without_waiting_for_publication(
    sqlite_service: RunningService,
) -> None:
    created = await sqlite_service.client.post(
        "/widgets", json={"name": "plain", "size": 1}, headers=sqlite_service.auth()
    )
    assert created.status_code == 201
    assert CONSISTENCY_HEADER not in created.headers


async def test_a_write_not_published_in_time_answers_committed_without_a_token(
    sqlite_url: str,
    kit_definition: ServiceDefinition,
    make_settings: Callable[..., KitSettings],
    serve_service: Callable[..., contextlib.AbstractAsyncContextManager[RunningService]],
    nats_server_factory: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = nats_server_factory()
    settings = make_settings(sqlite_url, server.url)
    async with serve_service(settings, tokens_given(kit_definition)) as running:
        server.stop()
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="oneplan_kit.consistency"):
            created = await running.client.post(
                "/widgets", json={"name": "offline", "size": 1}, headers=running.auth()
            )
        waited = time.monotonic() - started
        assert created.status_code == 201, created.text
        assert CONSISTENCY_HEADER not in created.headers
        assert 1.9 < waited < 4.0
        assert any("without a consistency token" in r.getMessage() for r in caplog.records)
        widget_id = created.json()["widget_id"]
        got = await running.client.get(f"/widgets/{widget_id}", headers=running.auth())
        assert got.status_code == 200  # committed all the same

        server.start()
        deadline = time.monotonic() + 15
        query = select(outbox.c.stream_sequence).where(outbox.c.stream_id == f"widget/{widget_id}")
        while True:
            async with running.runtime.engine.connect() as conn:
                sequence = await conn.scalar(query)
            if sequence is not None or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert sequence is not None, "the relay published the write once NATS was back"


async def test_the_openapi_document_names_the_token_header_on_writes_only(
    sqlite_url: str,
    kit_nats: str,
    kit_definition: ServiceDefinition,
    make_settings: Callable[..., KitSettings],
    serve_service: Callable[..., contextlib.AbstractAsyncContextManager[RunningService]],
) -> None:
    settings = make_settings(sqlite_url, kit_nats)
    async with serve_service(settings, tokens_given(kit_definition)) as running:
        document = (await running.client.get("/openapi.json")).json()
    create = document["paths"]["/widgets"]["post"]["responses"]["201"]
    assert CONSISTENCY_HEADER in create["headers"]
    assert create["headers"][CONSISTENCY_HEADER]["schema"]["pattern"] == r"^[0-9]{1,18}$"
    read = document["paths"]["/widgets/{widget_id}"]["get"]["responses"]["200"]
    assert CONSISTENCY_HEADER not in read.get("headers", {})
