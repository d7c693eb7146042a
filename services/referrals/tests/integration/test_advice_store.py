"""The health advice task on a migrated database (SQLite and PostgreSQL): opened by the
reaction's handler once, submitted once, offered for reuse."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from uuid import uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oneplan_events.store import EventStore
from oneplan_events.uow import UnitOfWork
from oneplan_kit.auth import Principal
from oneplan_kit.db import create_engine, create_sessionmaker
from oneplan_kit.migrations import upgrade
from oneplan_referrals.adapters import repository
from oneplan_referrals.bootstrap import SERVICE
from oneplan_referrals.domain.errors import AlreadyRecorded
from oneplan_referrals.events import AdviceRequestedFacts, Author, Commissioner
from oneplan_referrals.service_layer.handlers import open_advice_task, submit_advice

CALLER = Principal("clinician-1", "health", frozenset({"clinician"}))
AUTHOR = Author(name="Dr Ada Example", role="community paediatrician")
COMMISSIONER = Commissioner(name="Sam Example", organisation="Example ICB")


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    await upgrade(SERVICE.migrations_location, engine)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


def work(sessions: async_sessionmaker[AsyncSession]) -> UnitOfWork:
    return UnitOfWork(sessions, EventStore(SERVICE.catalogue), source=SERVICE.source)


def request(child: object, agency: str = "health") -> AdviceRequestedFacts:
    requested = date(2026, 5, 4)
    return AdviceRequestedFacts(
        assessment_id=uuid4(),
        advice_request_id=uuid4(),
        child_id=child,  # type: ignore[arg-type]
        agency=agency,
        advice_type="health",
        requested_on=requested,
        due_on=requested + timedelta(weeks=6),
        question="What are the child's health needs?",
    )


async def _submit(uow: UnitOfWork, request_id: object) -> None:
    await submit_advice(
        uow,
        CALLER,
        request_id,  # type: ignore[arg-type]
        author=AUTHOR,
        health_needs="Needs support with sensory regulation.",
        health_provision="Occupational therapy review each term.",
        outcomes=(),
        commissioner=COMMISSIONER,
        submitted_on=date(2026, 5, 29),
    )


async def test_the_reaction_opens_a_task_once_and_only_for_health(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    child = uuid4()
    asked = request(child)
    async with work(sessions) as uow:
        task = await open_advice_task(uow, asked)
        assert await open_advice_task(uow, request(child, "social_care")) is None
        await uow.commit()
    assert task is not None
    assert task.due_on == date(2026, 6, 15)
    async with work(sessions) as uow:
        again = await open_advice_task(uow, asked)
        assert uow.appended == []
        await uow.commit()
    assert again == task
    async with work(sessions) as uow:
        [row] = await repository.advice_tasks(uow.session, open_only=True)
        assert (row.advice_request_id, row.question) == (
            asked.advice_request_id,
            "What are the child's health needs?",
        )


async def test_submitted_advice_is_offered_for_reuse_and_submitted_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    child = uuid4()
    first, second = request(child), request(child)
    async with work(sessions) as uow:
        await open_advice_task(uow, first)
        await open_advice_task(uow, second)
        await _submit(uow, first.advice_request_id)
        await uow.commit()
    async with work(sessions) as uow:
        with pytest.raises(AlreadyRecorded):
            await _submit(uow, first.advice_request_id)
    async with work(sessions) as uow:
        earlier = await repository.earlier_advice(uow.session, child, second.advice_request_id)
        still_open = await repository.advice_tasks(uow.session, open_only=True)
        offered = [row.advice_request_id for row in earlier]
        open_ids = [row.advice_request_id for row in still_open]
    assert offered == [first.advice_request_id]
    assert open_ids == [second.advice_request_id]


async def test_the_latest_story_is_kept_and_an_older_one_arriving_late_passed_over(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    child = uuid4()
    told = {"what_helps": {"text": "Music at lunchtime."}}
    async with sessions() as session, session.begin():
        assert await repository.keep_story(session, child, 1, {"what_helps": {"text": "Old."}})
        assert await repository.keep_story(session, child, 2, told)
        assert not await repository.keep_story(session, child, 1, {"what_helps": {"text": "x"}})
        assert not await repository.keep_story(session, child, 2, {"what_helps": {"text": "y"}})
    async with sessions() as session:
        kept = await repository.child_story(session, child)
        assert kept is not None
        assert (kept.revision, kept.story) == (2, told)
        assert await repository.child_story(session, uuid4()) is None
