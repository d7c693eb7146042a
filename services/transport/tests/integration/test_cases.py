"""Reactions, commands and their projections on a migrated database, SQLite and PostgreSQL.

The reactions run as the consumer runs them: in one transaction with a unit of work, given the
decoded foreign event; the NATS side (delivery, redelivery, positions) is the API tests'.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time
from uuid import uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oneplan_events.clock import FixedClock
from oneplan_events.envelope import Envelope
from oneplan_events.reactions import Delivery
from oneplan_events.schema import event_store, outbox
from oneplan_events.store import EventStore
from oneplan_events.uow import UnitOfWork
from oneplan_kit.db import create_engine, create_sessionmaker
from oneplan_kit.migrations import upgrade
from oneplan_transport.adapters import repository
from oneplan_transport.adapters.tables import DecisionRow
from oneplan_transport.bootstrap import SERVICE
from oneplan_transport.domain.commands import MakeArrangement
from oneplan_transport.domain.model import (
    ArrangementBeforeEligibility,
    CaseStatus,
    case_id_for,
)
from oneplan_transport.entrypoints import consumers
from oneplan_transport.events import (
    CATALOGUE,
    ArrangementDetails,
    CaseOpened,
    EligibilityFacts,
    EligibilityGround,
    Mode,
)
from oneplan_transport.service_layer.handlers import AgeUnknown, decide_eligibility, run

from ..transport_testing import ForeignStreams

NOW = datetime(2026, 9, 14, 9, 30, tzinfo=UTC)
DECIDED_ON = date(2026, 9, 14)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A database migrated to head: the kit's backbone branch and this service's versions."""
    engine = create_engine(database_url)
    await upgrade(SERVICE.migrations_location, engine)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


def work(sessions: async_sessionmaker[AsyncSession]) -> UnitOfWork:
    return UnitOfWork(
        sessions, EventStore(SERVICE.catalogue), source=SERVICE.source, clock=FixedClock(NOW)
    )


async def react(sessions: async_sessionmaker[AsyncSession], envelope: Envelope) -> None:
    """Apply one foreign event as the consumer does: decode, handle, commit once."""
    event = CATALOGUE.decode_envelope(envelope)
    subscription = (
        consumers.PLAN_EVENTS
        if envelope.type.startswith("oneplan.plans")
        else consumers.CHILD_EVENTS
    )
    handler = subscription.reactions.handler_for(envelope.type)
    assert handler is not None
    async with work(sessions) as uow:
        await handler(event, Delivery(envelope, uow))
        await uow.commit()


async def count(session: AsyncSession, table: object) -> int:
    return int(await session.scalar(select(func.count()).select_from(table)))  # type: ignore[arg-type]


async def test_an_issued_plan_opens_one_case_in_the_store_outbox_and_worklist(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    child, plan = uuid4(), uuid4()
    streams = ForeignStreams()
    issued = streams.plan_issued(child, plan)
    await react(sessions, issued)
    # The same plan issued again (a re-issue, or a copy the positions did not catch).
    await react(sessions, streams.plan_issued(child, plan))
    async with work(sessions) as uow:
        [row] = await repository.worklist(uow.session, [], 10, 0)
        [stored] = await uow.read_stream(repository.CASES.stream_id(case_id_for(child)))
        assert (row.case_id, row.status, row.setting_name, row.start_date) == (
            case_id_for(child),
            CaseStatus.AWAITING_ELIGIBILITY.value,
            "Brook Green School",
            date(2026, 9, 21),
        )
        assert isinstance(stored.event, CaseOpened)
        assert stored.event.plan_id == plan
        assert await count(uow.session, outbox) == 1


async def test_a_plan_naming_no_setting_writes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await react(sessions, ForeignStreams().plan_issued(uuid4(), uuid4(), setting=None))
    async with work(sessions) as uow:
        assert await count(uow.session, event_store) == 0
        assert await repository.worklist(uow.session, [], 10, 0) == []


async def test_the_age_comes_from_the_children_service_and_a_move_reopens_the_decision(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    child, streams = uuid4(), ForeignStreams()
    born = date(2019, 5, 1)  # 7 on the decision day: 2 miles
    await react(sessions, streams.child_registered(child, born))
    await react(sessions, streams.plan_issued(child, uuid4()))
    async with work(sessions) as uow:
        outcome = await decide_eligibility(
            uow,
            case_id_for(child),
            EligibilityFacts(distance_miles=2.4),
            decided_on=DECIDED_ON,
            decided_by="officer-1",
            date_of_birth=None,
            target_working_days=10,
            expected_version=None,
        )
        await uow.commit()
    assert outcome.state is not None
    assert outcome.state.decision is not None
    assert outcome.state.decision.grounds == (EligibilityGround.BEYOND_WALKING_DISTANCE,)
    await react(sessions, streams.details_changed(child, born, address_changed=False))
    async with work(sessions) as uow:
        [row] = await repository.worklist(uow.session, [], 10, 0)
        assert row.status == CaseStatus.AWAITING_ARRANGEMENT.value
    await react(sessions, streams.details_changed(child, born, address_changed=True))
    async with work(sessions) as uow:
        [row] = await repository.worklist(uow.session, [], 10, 0)
        assert (row.status, row.decided_on) == (CaseStatus.AWAITING_ELIGIBILITY.value, None)


async def test_without_a_known_date_of_birth_the_request_must_give_one(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    child = uuid4()
    await react(sessions, ForeignStreams().plan_issued(child, uuid4()))
    facts = EligibilityFacts(distance_miles=2.4)
    async with work(sessions) as uow:
        with pytest.raises(AgeUnknown, match="date_of_birth"):
            await decide_eligibility(
                uow,
                case_id_for(child),
                facts,
                decided_on=DECIDED_ON,
                decided_by="officer-1",
                date_of_birth=None,
                target_working_days=10,
                expected_version=None,
            )
    async with work(sessions) as uow:
        outcome = await decide_eligibility(
            uow,
            case_id_for(child),
            facts,
            decided_on=DECIDED_ON,
            decided_by="officer-1",
            date_of_birth=date(2015, 5, 1),  # 11: 3 miles
            target_working_days=10,
            expected_version=None,
        )
        await uow.commit()
    assert outcome.state is not None
    assert outcome.state.status is CaseStatus.NOT_ELIGIBLE


async def test_a_refused_command_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    child = uuid4()
    await react(sessions, ForeignStreams().plan_issued(child, uuid4()))
    details = ArrangementDetails(
        modes=(Mode.TAXI,),
        pick_up_time=time(8, 0),
        drop_off_time=time(8, 30),
        starts_on=date(2026, 9, 21),
    )
    async with work(sessions) as uow:
        before = await count(uow.session, event_store)
    async with work(sessions) as uow:
        with pytest.raises(ArrangementBeforeEligibility):
            await run(
                uow, case_id_for(child), MakeArrangement(uuid4(), details, DECIDED_ON, "o"), None
            )
    async with work(sessions) as uow:
        assert await count(uow.session, event_store) == before


async def test_the_worklist_puts_the_nearest_start_with_no_arrangement_first(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    streams = ForeignStreams()
    children = {name: uuid4() for name in ("later", "sooner", "undated", "arranged")}
    starts = {
        "later": "2026-10-05",
        "sooner": "2026-09-21",
        "undated": None,
        "arranged": "2026-09-15",
    }
    for name, child in children.items():
        await react(sessions, streams.plan_issued(child, uuid4(), start_date=starts[name]))
    arranged = case_id_for(children["arranged"])
    async with work(sessions) as uow:
        await decide_eligibility(
            uow,
            arranged,
            EligibilityFacts(distance_miles=5),
            decided_on=DECIDED_ON,
            decided_by="officer-1",
            date_of_birth=date(2015, 5, 1),
            target_working_days=10,
            expected_version=None,
        )
        bus = ArrangementDetails(modes=(Mode.BUS_PASS,), starts_on=date(2026, 9, 15))
        await run(uow, arranged, MakeArrangement(uuid4(), bus, DECIDED_ON, "o"), None)
        await uow.commit()
    async with work(sessions) as uow:
        rows = await repository.worklist(uow.session, [], 10, 0)
        by_case = {case_id_for(child): name for name, child in children.items()}
        assert [by_case[row.case_id] for row in rows] == ["sooner", "later", "undated", "arranged"]
        waiting = [CaseStatus.AWAITING_ELIGIBILITY]
        only = await repository.worklist(uow.session, waiting, 10, 0)
        assert [by_case[row.case_id] for row in only] == ["sooner", "later", "undated"]
        page = await repository.worklist(uow.session, [], 2, 1)
        assert [by_case[row.case_id] for row in page] == ["later", "undated"]


async def test_each_decision_is_kept_for_the_timeliness_report(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    child, streams = uuid4(), ForeignStreams()
    await react(sessions, streams.child_registered(child, date(2019, 5, 1)))
    await react(sessions, streams.plan_issued(child, uuid4()))

    async def decide(on: date) -> None:
        async with work(sessions) as uow:
            await decide_eligibility(
                uow,
                case_id_for(child),
                EligibilityFacts(distance_miles=2.4),
                decided_on=on,
                decided_by="officer-1",
                date_of_birth=None,
                target_working_days=10,
                expected_version=None,
            )
            await uow.commit()

    await decide(date(2026, 9, 28))  # 19 working days after Tuesday 1 September
    await react(sessions, streams.details_changed(child, date(2019, 5, 1), address_changed=True))
    await decide(date(2026, 10, 1))  # after the move: not timed from the plan's issue
    async with work(sessions) as uow:
        assert await count(uow.session, DecisionRow) == 2
        timed = await repository.first_decisions_between(
            uow.session, date(2026, 9, 1), date(2026, 10, 31)
        )
        assert timed == [(19, False)]
        before = await repository.first_decisions_between(
            uow.session, date(2026, 9, 1), date(2026, 9, 27)
        )
        assert before == []


def test_the_catalogue_is_whole() -> None:
    assert CATALOGUE.missing_upcasters() == []
