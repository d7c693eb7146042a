"""Referral commands, their projection and the clinical notes beside them, on a migrated
database: SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oneplan_events.schema import outbox
from oneplan_events.store import EventStore
from oneplan_events.uow import UnitOfWork
from oneplan_kit.auth import Principal
from oneplan_kit.db import create_engine, create_sessionmaker
from oneplan_kit.migrations import upgrade
from oneplan_referrals.adapters import repository
from oneplan_referrals.adapters.directory import load_directory
from oneplan_referrals.bootstrap import SERVICE
from oneplan_referrals.domain.commands import AcceptReferral, BookAppointment
from oneplan_referrals.domain.errors import InvalidInput, WrongState
from oneplan_referrals.events import Urgency
from oneplan_referrals.service_layer.directory import sync
from oneplan_referrals.service_layer.handlers import on_referral, receive_referral

from ..referrals_testing import OT, RISE

CALLER = Principal("clinician-1", "health", frozenset({"clinician"}))
REASON = "Low mood and school refusal since January."
DIRECTORY = load_directory(None)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    await upgrade(SERVICE.migrations_location, engine)
    made = create_sessionmaker(engine)
    async with UnitOfWork(made, EventStore(SERVICE.catalogue), source=SERVICE.source) as uow:
        await sync(uow, DIRECTORY)
        await uow.commit()
    try:
        yield made
    finally:
        await engine.dispose()


def work(sessions: async_sessionmaker[AsyncSession]) -> UnitOfWork:
    return UnitOfWork(sessions, EventStore(SERVICE.catalogue), source=SERVICE.source)


async def _known_child(sessions: async_sessionmaker[AsyncSession]) -> object:
    from uuid import uuid4

    child = uuid4()
    async with sessions() as session, session.begin():
        await repository.remember_child(session, child, date(2015, 3, 1))
    return child


async def _receive(uow: UnitOfWork, child: object) -> repository.Referral:  # type: ignore[name-defined]
    referral, _ = await receive_referral(
        uow,
        CALLER,
        DIRECTORY,
        child_id=child,  # type: ignore[arg-type]
        service_id=RISE,
        referrer_agency="school",
        urgency=Urgency.ROUTINE,
        received_on=date(2026, 1, 5),
        reason=REASON,
    )
    return referral


async def test_a_referral_is_stored_projected_and_its_reason_never_published(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    child = await _known_child(sessions)
    async with work(sessions) as uow:
        referral = await _receive(uow, child)
        await on_referral(uow, CALLER, referral.referral_id, AcceptReferral(date(2026, 1, 9)))
        await uow.commit()
    async with work(sessions) as uow:
        [row] = await repository.referrals_of_child(uow.session, referral.child_id)
        notes = [n.text for n in await repository.clinical_notes(uow.session, referral.referral_id)]
        query = select(outbox.c.body).where(outbox.c.stream_id.like("referral/%"))
        published = (await uow.session.execute(query)).scalars().all()
        state = repository.referral_from_state(row.state)
        status, is_open, version = row.status, row.open, row.version
    assert (status, is_open, version, state.accepted_on) == (
        "accepted",
        True,
        2,
        date(2026, 1, 9),
    )
    assert (state.referral_id, state.received_on, state.service_id) == (
        referral.referral_id,
        referral.received_on,
        RISE,
    )
    assert notes == [REASON]
    assert len(published) == 2
    assert all(REASON.encode() not in body for body in published)


async def test_a_refused_step_writes_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    child = await _known_child(sessions)
    async with work(sessions) as uow:
        referral = await _receive(uow, child)
        await uow.commit()
    async with work(sessions) as uow:
        command = BookAppointment(referral.referral_id, date(2026, 1, 9), date(2026, 2, 1))
        with pytest.raises(WrongState):
            await on_referral(uow, CALLER, referral.referral_id, command, note=("triage", "x"))
    async with work(sessions) as uow:
        [unchanged] = await repository.referrals_of_child(uow.session, referral.child_id)
        assert unchanged.version == 1
        assert len(await repository.clinical_notes(uow.session, referral.referral_id)) == 1


async def test_an_unknown_child_or_service_is_refused_before_anything_is_written(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from uuid import uuid4

    async with work(sessions) as uow:
        with pytest.raises(InvalidInput) as unknown_child:
            await _receive(uow, uuid4())
        assert unknown_child.value.field == "child_id"
        with pytest.raises(InvalidInput) as unknown_service:
            await receive_referral(
                uow,
                CALLER,
                DIRECTORY,
                child_id=uuid4(),
                service_id=uuid4(),
                referrer_agency="school",
                urgency=Urgency.URGENT,
                received_on=date(2026, 1, 5),
                reason=REASON,
            )
        assert unknown_service.value.field == "service_id"
        assert uow.appended == []


async def test_the_worklist_query_pages_open_referrals_longest_waiting_first(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    child = await _known_child(sessions)
    async with work(sessions) as uow:
        for received in (date(2026, 3, 1), date(2025, 11, 3), date(2026, 1, 5)):
            await receive_referral(
                uow,
                CALLER,
                DIRECTORY,
                child_id=child,
                service_id=RISE,  # type: ignore[arg-type]
                referrer_agency="school",
                urgency=Urgency.ROUTINE,
                received_on=received,
                reason=REASON,
            )
        await uow.commit()
    async with work(sessions) as uow:
        first, total = await repository.waiting_list(uow.session, limit=2)
        after = (first[-1].received_on, first[-1].referral_id)
        rest, _ = await repository.waiting_list(uow.session, limit=2, after=after)
        end = (rest[-1].received_on, rest[-1].referral_id)
        beyond, no_total = await repository.waiting_list(uow.session, limit=2, after=end)
        counted = await repository.count_waiting(uow.session)
        others = await repository.count_waiting(uow.session, service_id=OT)
    assert [r.received_on for r in [*first, *rest]] == [
        date(2025, 11, 3),
        date(2026, 1, 5),
        date(2026, 3, 1),
    ]
    assert {r.service_name for r in [*first, *rest]} == {"Rise (CAMHS)"}
    assert (total, beyond, no_total, counted, others) == (3, [], None, 3, 0)
