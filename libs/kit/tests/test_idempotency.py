"""Idempotency-Key: a retry returns the first response and writes nothing more."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from oneplan_events.schema import BACKBONE_METADATA
from oneplan_kit.auth import MAX_SUB_LENGTH
from oneplan_kit.idempotency import delete_expired_keys
from oneplan_kit.schema import IDEMPOTENCY_KEYS


async def _event_count(service: Any) -> int:
    events = BACKBONE_METADATA.tables["event_store"]
    async with service.runtime.sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(events))
    return int(count or 0)


async def test_a_retry_returns_the_first_response_and_writes_nothing(service: Any) -> None:
    headers = {**service.auth(), "Idempotency-Key": "retry-1"}
    body = {"name": "gear", "size": 2}
    first = await service.client.post("/widgets", json=body, headers=headers)
    again = await service.client.post("/widgets", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert await _event_count(service) == 1


async def test_the_same_key_with_a_different_body_is_422(service: Any) -> None:
    headers = {**service.auth(), "Idempotency-Key": "reused"}
    await service.client.post("/widgets", json={"name": "a", "size": 1}, headers=headers)
    other = await service.client.post("/widgets", json={"name": "b", "size": 1}, headers=headers)
    assert other.status_code == 422
    assert other.json()["title"] == "idempotency key reused with a different request"
    assert await _event_count(service) == 1


async def test_keys_belong_to_their_principal(sqlite_service: Any) -> None:
    body = {"name": "gear", "size": 2}
    mine = await sqlite_service.client.post(
        "/widgets", json=body, headers={**sqlite_service.auth("send"), "Idempotency-Key": "k"}
    )
    theirs = await sqlite_service.client.post(
        "/widgets", json=body, headers={**sqlite_service.auth("health"), "Idempotency-Key": "k"}
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json() != theirs.json()


async def test_the_longest_identity_keeps_its_keys_on_every_database(service: Any) -> None:
    # 63 + 1 + 255 characters: longer than the String(300) column that holds the principal.
    token = service.token("a" * 63, ["practitioner"], sub="\u00e9" * MAX_SUB_LENGTH)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "longest"}
    body = {"name": "gear", "size": 2}
    first = await service.client.post("/widgets", json=body, headers=headers)
    again = await service.client.post("/widgets", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert again.headers["idempotent-replayed"] == "true"
    async with service.runtime.sessionmaker() as session:
        stored = await session.scalar(select(IDEMPOTENCY_KEYS.c.principal))
    assert stored is not None
    assert len(stored) == 64


async def test_without_a_key_each_post_is_a_new_command(sqlite_service: Any) -> None:
    body = {"name": "gear", "size": 2}
    for _ in range(2):
        response = await sqlite_service.client.post(
            "/widgets", json=body, headers=sqlite_service.auth()
        )
        assert response.status_code == 201
    assert await _event_count(sqlite_service) == 2


async def test_a_failed_command_leaves_the_key_unused(sqlite_service: Any) -> None:
    headers = {**sqlite_service.auth(), "Idempotency-Key": "after-failure"}
    refused = await sqlite_service.client.post(
        "/widgets", json={"name": "", "size": 1}, headers=headers
    )
    assert refused.status_code == 422
    fixed = await sqlite_service.client.post(
        "/widgets", json={"name": "ok", "size": 1}, headers=headers
    )
    assert fixed.status_code == 201


async def test_concurrent_duplicates_run_the_command_once(service: Any) -> None:
    headers = {**service.auth(), "Idempotency-Key": "race"}
    body = {"name": "gear", "size": 2}
    responses = await asyncio.gather(
        *(service.client.post("/widgets", json=body, headers=headers) for _ in range(4))
    )
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 409}, [r.text for r in responses]
    created = [r.json() for r in responses if r.status_code == 201]
    assert created
    assert all(c == created[0] for c in created)
    assert await _event_count(service) == 1


async def _keys(service: Any) -> set[str]:
    async with service.runtime.sessionmaker() as session:
        return set((await session.scalars(select(IDEMPOTENCY_KEYS.c.key))).all())


async def test_keys_older_than_the_retention_are_deleted_and_then_run_again(
    service: Any,
) -> None:
    body = {"name": "gear", "size": 2}
    old = {**service.auth(), "Idempotency-Key": "old"}
    fresh = {**service.auth(), "Idempotency-Key": "fresh"}
    first = await service.client.post("/widgets", json=body, headers=old)
    await service.client.post("/widgets", json=body, headers=fresh)
    async with service.runtime.sessionmaker() as session, session.begin():
        await session.execute(
            update(IDEMPOTENCY_KEYS)
            .where(IDEMPOTENCY_KEYS.c.key == "old")
            .values(created_at=datetime.now(UTC) - timedelta(hours=25))
        )

    deleted = await delete_expired_keys(service.runtime.sessionmaker, timedelta(hours=24))

    assert deleted == 1
    assert await _keys(service) == {"fresh"}
    retried = await service.client.post("/widgets", json=body, headers=old)
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    assert retried.json()["widget_id"] != first.json()["widget_id"]
    replayed = await service.client.post("/widgets", json=body, headers=fresh)
    assert replayed.headers["idempotent-replayed"] == "true"
    assert await _event_count(service) == 3


async def test_the_running_service_forgets_keys_after_the_retention(
    sqlite_url: str,
    kit_nats: str,
    make_settings: Callable[..., Any],
    serve_service: Callable[..., Any],
) -> None:
    settings = make_settings(sqlite_url, kit_nats, idempotency_retention=timedelta(seconds=1))
    async with serve_service(settings) as service:
        headers = {**service.auth(), "Idempotency-Key": "short-lived"}
        body = {"name": "gear", "size": 2}
        first = await service.client.post("/widgets", json=body, headers=headers)
        assert await _keys(service) == {"short-lived"}
        for _ in range(100):  # the task runs every 0.25 s; give it up to 10 s
            if not await _keys(service):
                break
            await asyncio.sleep(0.1)
        assert await _keys(service) == set()
        again = await service.client.post("/widgets", json=body, headers=headers)
        assert again.status_code == 201
        assert again.json()["widget_id"] != first.json()["widget_id"]
