"""The unit of work: one commit or nothing; concurrent commands serialise or conflict cleanly."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

from sqlalchemy import func, select

from oneplan_events.schema import BACKBONE_METADATA


async def _count(service: Any, table: str) -> int:
    async with service.runtime.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(BACKBONE_METADATA.tables[table])
        )
    return int(count or 0)


async def test_leaving_without_commit_writes_nothing(service: Any) -> None:
    created = service.app.state.definition.catalogue.model("oneplan.kittest.widget.created")
    async with service.runtime.unit_of_work() as uow:
        widget_id = uuid4()
        recorded = await uow.append(
            f"widget/{widget_id}", 0, [created(widget_id=widget_id, name="gear", size=1)]
        )
        assert recorded[0].version == 1
    assert await _count(service, "event_store") == 0
    assert await _count(service, "outbox") == 0


async def test_a_commit_writes_events_and_outbox_together(service: Any) -> None:
    created = service.app.state.definition.catalogue.model("oneplan.kittest.widget.created")
    widget_id = uuid4()
    async with service.runtime.unit_of_work(correlation_id="corr-1") as uow:
        await uow.append(
            f"widget/{widget_id}", 0, [created(widget_id=widget_id, name="gear", size=1)]
        )
        await uow.commit()
    async with service.runtime.unit_of_work() as uow:
        [event] = await uow.read_stream(f"widget/{widget_id}")
    assert event.envelope.source == "/oneplan/kittest"
    assert event.envelope.correlationid == "corr-1"
    assert await _count(service, "outbox") == 1


async def test_concurrent_commands_all_succeed(service: Any) -> None:
    responses = await asyncio.gather(
        *(
            service.client.post(
                "/widgets", json={"name": f"w{i}", "size": 1}, headers=service.auth()
            )
            for i in range(12)
        )
    )
    assert [r.status_code for r in responses] == [201] * 12
    assert await _count(service, "event_store") == 12


async def test_concurrent_updates_of_one_stream_conflict_without_losing_one(
    service: Any,
) -> None:
    created = await service.client.post(
        "/widgets", json={"name": "gear", "size": 1}, headers=service.auth()
    )
    location, etag = created.headers["location"], created.headers["etag"]
    headers = {**service.auth(), "If-Match": etag}
    responses = await asyncio.gather(
        *(service.client.put(location, json={"name": f"n{i}"}, headers=headers) for i in range(3))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 409, 409], [r.text for r in responses]
    assert all(r.json()["current_version"] in (2, None) for r in responses if r.status_code == 409)
    current = await service.client.get(location, headers=service.auth())
    assert current.json()["version"] == 2
