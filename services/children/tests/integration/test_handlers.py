"""Command handlers and read models on a migrated SQLite and PostgreSQL database."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from oneplan_children.adapters.repository import CHILDREN
from oneplan_children.adapters.tables import ChildIdentifiers, ChildSummary
from oneplan_children.domain.commands import (
    AddFamilyMember,
    ChangeDetails,
    DetailsPatch,
    MemberInput,
    NewChild,
    ReviseStory,
)
from oneplan_children.domain.model import RecordMerged, RecordNotFound
from oneplan_children.events import CATALOGUE, Story
from oneplan_children.service_layer.handlers import (
    DuplicateIdentifier,
    change_child,
    get_child,
    get_story,
    merge_records,
    register_child,
    search_children,
)
from oneplan_events.clock import FixedClock
from oneplan_events.schema import event_store, outbox
from oneplan_events.store import ConcurrencyError, EventStore
from oneplan_events.uow import UnitOfWork
from oneplan_kit.db import create_engine, create_sessionmaker
from oneplan_kit.migrations import upgrade

TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade("oneplan_children:migrations", engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def uow(sessions: async_sessionmaker[AsyncSession], clock: FixedClock) -> UnitOfWork:
    return UnitOfWork(sessions, EventStore(CATALOGUE), source="/oneplan/children", clock=clock)


def child(**overrides: object) -> NewChild:
    fields: dict[str, object] = {
        "given_name": "Ada",
        "family_name": "Testchild",
        "date_of_birth": date(2015, 3, 1),
        "nhs_number": "9990000018",
        "upn": "B801200005001",
    }
    fields.update(overrides)
    return NewChild.model_validate(fields)


async def count(sessions: async_sessionmaker[AsyncSession], table: object) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


async def test_register_writes_events_outbox_and_read_models(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    async with uow(sessions, clock) as work:
        registered = await register_child(work, child())
        await work.commit()
    async with uow(sessions, clock) as work:
        state = await get_child(work, registered.child.child_id)
        events = await work.read_stream(CHILDREN.stream_id(state.child_id))
    assert state.version == 1
    assert [e.envelope.type for e in events] == ["oneplan.children.child.registered"]
    assert events[0].envelope.time == NOW
    assert events[0].envelope.streamversion == 1
    assert events[0].envelope.subject == f"child/{state.child_id}"
    assert await count(sessions, outbox) == 1
    assert await count(sessions, ChildSummary.__table__) == 1


async def test_nothing_is_written_without_a_commit(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    async with uow(sessions, clock) as work:
        await register_child(work, child())
    assert await count(sessions, event_store) == 0
    assert await count(sessions, outbox) == 0
    assert await count(sessions, ChildSummary.__table__) == 0


async def test_duplicate_identifier_is_refused_and_nothing_written(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    async with uow(sessions, clock) as work:
        first = await register_child(work, child())
        await work.commit()
    async with uow(sessions, clock) as work:
        with pytest.raises(DuplicateIdentifier) as refused:
            await register_child(work, child(upn=None, given_name="Other"))
    assert [(m.child_id, m.field) for m in refused.value.matches] == [
        (first.child.child_id, "nhs_number")
    ]
    assert await count(sessions, event_store) == 1


async def test_a_changed_identifier_taken_by_another_record_is_refused(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    async with uow(sessions, clock) as work:
        first = await register_child(work, child())
        second = await register_child(work, child(nhs_number=None, upn=None, given_name="Bo"))
        await work.commit()
    taking = ChangeDetails(DetailsPatch(upn="B801200005001"))
    async with uow(sessions, clock) as work:
        with pytest.raises(DuplicateIdentifier) as refused:
            await change_child(work, second.child.child_id, taking, 1)
    assert [(m.child_id, m.field) for m in refused.value.matches] == [(first.child.child_id, "upn")]
    # Its own identifier is no conflict.
    keeping = ChangeDetails(DetailsPatch(upn="B801200005001", preferred_name="Addy"))
    async with uow(sessions, clock) as work:
        changed = await change_child(work, first.child.child_id, keeping, 1)
        await work.commit()
    assert changed.details.preferred_name == "Addy"


async def test_unique_constraint_is_the_last_word_on_duplicates(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    # Two registrations that both passed the check: the second commit must fail.
    async with uow(sessions, clock) as work:
        await register_child(work, child())
        await work.commit()
    async with sessions() as session:
        session.add(ChildIdentifiers(child_id=uuid4(), nhs_number="9990000018"))
        with pytest.raises(Exception, match=r"(?i)unique"):
            await session.flush()


async def test_possible_match_by_name_and_birth_date_is_reported_not_merged(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    async with uow(sessions, clock) as work:
        first = await register_child(work, child(nhs_number=None, upn=None))
        await work.commit()
    async with uow(sessions, clock) as work:
        second = await register_child(
            work, child(nhs_number=None, upn=None, family_name="TESTCHILD")
        )
        await work.commit()
    assert second.possible_matches == [first.child.child_id]
    assert second.child.child_id != first.child.child_id


async def test_stale_version_is_refused(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    async with uow(sessions, clock) as work:
        registered = await register_child(work, child())
        await work.commit()
    command = ChangeDetails(DetailsPatch(preferred_name="Addy"))
    async with uow(sessions, clock) as work:
        await change_child(work, registered.child.child_id, command, 1)
        await work.commit()
    async with uow(sessions, clock) as work:
        with pytest.raises(ConcurrencyError) as refused:
            await change_child(work, registered.child.child_id, command, 1)
    assert refused.value.actual_version == 2
    assert await count(sessions, event_store) == 2


async def test_a_missing_record_is_not_found_not_a_conflict(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    command = ChangeDetails(DetailsPatch(preferred_name="Addy"))
    async with uow(sessions, clock) as work:
        with pytest.raises(RecordNotFound):
            await change_child(work, uuid4(), command, 1)
        with pytest.raises(RecordNotFound):
            await get_child(work, uuid4())


async def test_story_can_be_read_as_it_was(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    async with uow(sessions, clock) as work:
        registered = await register_child(work, child())
        await work.commit()
    child_id = registered.child.child_id
    told_at = []
    for number, text in enumerate(["I like trains", "I like trains and swimming"], start=1):
        clock.advance(timedelta(hours=1))
        story = Story.model_validate(
            {
                "like_and_admire": {
                    "text": text,
                    "author": {"name": "Ada", "role": "child"},
                    "told_on": TODAY,
                }
            }
        )
        async with uow(sessions, clock) as work:
            await change_child(work, child_id, ReviseStory(story), number)
            await work.commit()
        told_at.append(clock.now())
    async with uow(sessions, clock) as work:
        _, first = await get_story(work, child_id, told_at[0] + timedelta(minutes=30))
        _, latest = await get_story(work, child_id)
        _, before = await get_story(work, child_id, datetime(2020, 1, 1, tzinfo=UTC))
    assert first is not None
    assert first.story.like_and_admire is not None
    assert first.story.like_and_admire.text == "I like trains"
    assert latest is not None
    assert latest.revision == 2
    assert before is None


async def test_family_member_and_search_and_merge(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    async with uow(sessions, clock) as work:
        survivor = await register_child(work, child())
        duplicate = await register_child(work, child(nhs_number=None, upn=None))
        await work.commit()
    member = MemberInput(
        given_name="Pat",
        family_name="Testchild",
        relationship="mother",
        parental_responsibility=True,
    )
    async with uow(sessions, clock) as work:
        state = await change_child(
            work, survivor.child.child_id, AddFamilyMember(uuid4(), member), 1
        )
        await work.commit()
    assert len(state.family) == 1
    async with uow(sessions, clock) as work:
        found = await search_children(work, family_name="testchild", date_of_birth=date(2015, 3, 1))
        assert len(found) == 2
        kept = await merge_records(
            work, survivor.child.child_id, duplicate.child.child_id, "registered twice"
        )
        await work.commit()
    assert kept.child_id == survivor.child.child_id
    async with uow(sessions, clock) as work:
        retired = await get_child(work, duplicate.child.child_id)
    assert retired.merged_into == survivor.child.child_id
    async with uow(sessions, clock) as work:
        assert [row.child_id for row in await search_children(work, family_name="Testchild")] == [
            survivor.child.child_id
        ]
        with pytest.raises(RecordMerged):
            await change_child(
                work,
                duplicate.child.child_id,
                ChangeDetails(DetailsPatch(preferred_name="X")),
                2,
            )


async def test_merge_moves_identifiers_the_survivor_lacks(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    async with uow(sessions, clock) as work:
        survivor = await register_child(work, child(nhs_number=None))
        duplicate = await register_child(work, child(upn=None, given_name="Adah"))
        await work.commit()
    async with uow(sessions, clock) as work:
        kept = await merge_records(
            work, survivor.child.child_id, duplicate.child.child_id, "registered twice"
        )
        await work.commit()
    assert (kept.details.nhs_number, kept.details.upn) == ("9990000018", "B801200005001")
    assert kept.version == 2
    async with uow(sessions, clock) as work:
        found = await search_children(work, nhs_number="9990000018")
        assert [row.child_id for row in found] == [survivor.child.child_id]
        with pytest.raises(RecordNotFound, match="merged"):
            await merge_records(
                work, duplicate.child.child_id, survivor.child.child_id, "the other way round"
            )
