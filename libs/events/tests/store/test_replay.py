"""rebuild_projection: every stored event, once, in commit order, in pages, with progress."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from oneplan_events.replay import rebuild_projection
from oneplan_events.store import EventStore, Position, RecordedEvent

from .conftest import ItemRecorded, all_visible, make_envelope


async def append_items(engine: AsyncEngine, store: EventStore, count: int) -> list[RecordedEvent]:
    recorded: list[RecordedEvent] = []
    for n in range(count):
        stream_id = f"item/{n % 4}"
        async with engine.begin() as conn:
            version = await store.stream_version(conn, stream_id)
            recorded += await store.append(conn, stream_id, version, [make_envelope(stream_id, n)])
    await all_visible(engine, count)
    return recorded


async def test_rebuild_feeds_every_event_in_pages_and_reports_progress(
    engine: AsyncEngine, store: EventStore
) -> None:
    recorded = await append_items(engine, store, 11)
    pages: list[list[RecordedEvent]] = []
    progress: list[tuple[int, Position]] = []

    async def apply(page: list[RecordedEvent]) -> None:
        pages.append(page)

    applied = await rebuild_projection(
        engine, apply, batch=4, progress=lambda n, at: progress.append((n, at)), store=store
    )
    assert applied == 11
    assert [len(page) for page in pages] == [4, 4, 3]
    assert [r.envelope.id for page in pages for r in page] == [r.envelope.id for r in recorded]
    assert progress == [
        (4, pages[0][-1].position),
        (8, pages[1][-1].position),
        (11, recorded[-1].position),
    ]
    assert isinstance(pages[0][0].event, ItemRecorded)


async def test_rebuild_resumes_after_a_position(engine: AsyncEngine, store: EventStore) -> None:
    recorded = await append_items(engine, store, 6)
    seen: list[str] = []

    async def apply(page: list[RecordedEvent]) -> None:
        seen.extend(r.envelope.id for r in page)

    assert await rebuild_projection(engine, apply, from_=recorded[2].position, store=store) == 3
    assert seen == [r.envelope.id for r in recorded[3:]]


async def test_a_failing_projection_stops_the_rebuild(
    engine: AsyncEngine, store: EventStore
) -> None:
    await append_items(engine, store, 5)

    async def apply(page: list[RecordedEvent]) -> None:
        raise RuntimeError("projection broke")

    with pytest.raises(RuntimeError, match="projection broke"):
        await rebuild_projection(engine, apply, batch=2, store=store)
