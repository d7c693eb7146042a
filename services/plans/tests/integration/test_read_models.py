"""Commands, projections, queries and the reactions' handlers on a migrated database, SQLite and
PostgreSQL alike (the testkit's `database_url` runs each test on both)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oneplan_events.clock import FixedClock
from oneplan_events.schema import outbox
from oneplan_events.store import ConcurrencyError, EventStore
from oneplan_events.uow import UnitOfWork
from oneplan_events.vocabulary import PlanSection
from oneplan_kit.db import create_engine, create_sessionmaker
from oneplan_kit.migrations import upgrade
from oneplan_plans.adapters import repository
from oneplan_plans.adapters.repository import ASSESSMENTS, PLANS
from oneplan_plans.adapters.tables import AssessmentRow, ClockRow, PlanRow
from oneplan_plans.bootstrap import SERVICE
from oneplan_plans.domain.clock import ClockStatus
from oneplan_plans.domain.commands import (
    DecideToAssess,
    RecordComments,
    RequestAssessment,
)
from oneplan_plans.domain.errors import RulesBroken
from oneplan_plans.events import AdviceType, PlanIssued, Requester, Setting, SettingType
from oneplan_plans.service_layer import handlers

CHILD = UUID("0b6f3c1e-8d55-4a57-9d55-1f3f7b1f0c11")
TODAY = date(2026, 9, 1)
SCHOOL = Setting(name="Example Primary School", urn="123456", type=SettingType.MAINSTREAM)
SECTIONS = {PlanSection.B: "Needs.", PlanSection.E: "Outcomes.", PlanSection.F: "Provision."}


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    await upgrade(SERVICE.migrations_location, engine)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


def work(sessions: async_sessionmaker[AsyncSession]) -> UnitOfWork:
    clock = FixedClock(datetime(2026, 9, 1, 10, tzinfo=UTC))
    return UnitOfWork(sessions, EventStore(SERVICE.catalogue), source=SERVICE.source, clock=clock)


async def requested(
    sessions: async_sessionmaker[AsyncSession], received_on: date = date(2026, 3, 2)
) -> UUID:
    assessment_id = uuid4()
    async with work(sessions) as uow:
        await uow.execute(
            ASSESSMENTS,
            assessment_id,
            RequestAssessment(assessment_id, CHILD, received_on, Requester.PARENT, "cw-1"),
        )
        await uow.commit()
    return assessment_id


async def agreed_with_advice(sessions: async_sessionmaker[AsyncSession]) -> tuple[UUID, UUID]:
    assessment_id = await requested(sessions)
    advice_request_id = uuid4()
    async with work(sessions) as uow:
        decision = DecideToAssess(True, date(2026, 4, 1), "Evidence.", "manager-1")
        await uow.execute(ASSESSMENTS, assessment_id, decision)
        await handlers.request_advice(
            uow,
            assessment_id,
            advice_request_id,
            agency="health",
            advice_type=AdviceType.HEALTH,
            requested_on=date(2026, 4, 2),
            question=None,
            expected_version=None,
        )
        await uow.commit()
    return assessment_id, advice_request_id


async def test_a_request_is_stored_published_and_projected_with_its_clocks(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assessment_id = await requested(sessions)
    async with work(sessions) as uow:
        row = await uow.session.get(AssessmentRow, assessment_id)
        clocks = (
            await uow.session.scalars(
                select(ClockRow)
                .where(ClockRow.assessment_id == assessment_id)
                .order_by(ClockRow.position)
            )
        ).all()
        queued = await uow.session.scalar(select(func.count()).select_from(outbox))
        assert row is not None
        assert (row.stage, row.received_on, row.version) == ("requested", date(2026, 3, 2), 1)
        assert [(c.name, c.due_on) for c in clocks] == [
            ("decision_to_assess", date(2026, 4, 13)),
            ("draft_or_decision_not_to_issue", date(2026, 6, 22)),
            ("final_plan", date(2026, 7, 20)),
        ]
        assert "Regulation 4(1)" in clocks[0].how
    assert queued == 1


async def test_the_worklist_finds_overdue_advice_by_agency(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assessment_id, advice_request_id = await agreed_with_advice(sessions)
    async with work(sessions) as uow:
        overdue = await repository.clock_worklist(
            uow.session, TODAY, status=ClockStatus.OVERDUE, agency="health", limit=50
        )
        assert [(row.advice_request_id, status) for row, status in overdue] == [
            (advice_request_id, ClockStatus.OVERDUE)
        ]
        assert (
            await repository.clock_worklist(
                uow.session, TODAY, status=ClockStatus.OVERDUE, agency="social_care", limit=50
            )
            == []
        )
        every = await repository.clock_worklist(
            uow.session, TODAY, status=None, agency=None, limit=50
        )
        by_name = {row.name: status for row, status in every if row.assessment_id == assessment_id}
        assert by_name["decision_to_assess"] is ClockStatus.MET
        assert by_name["final_plan"] is ClockStatus.OVERDUE
        on_track = await repository.clock_worklist(
            uow.session, date(2026, 4, 3), status=ClockStatus.ON_TRACK, agency=None, limit=50
        )
        assert {row.name for row, _ in on_track if row.assessment_id == assessment_id} == {
            "advice",
            "draft_or_decision_not_to_issue",
            "final_plan",
        }


async def test_an_agencys_advice_event_is_recorded_once_and_an_unknown_one_passed_over(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assessment_id, advice_request_id = await agreed_with_advice(sessions)
    source = uuid4()
    for _ in range(2):  # an agency's event delivered again is nothing to do
        async with work(sessions) as uow:
            known = await handlers.receive_advice_from_agency(
                uow, advice_request_id, date(2026, 5, 20), source
            )
            await uow.commit()
        assert known
    async with work(sessions) as uow:
        assert not await handlers.receive_advice_from_agency(uow, uuid4(), date(2026, 5, 20), None)
        state, version = await uow.load(ASSESSMENTS, assessment_id)
    assert state is not None
    [item] = state.advice
    assert (item.received_on, item.late_by_days, item.source_event_id) == (
        date(2026, 5, 20),
        6,
        source,
    )
    assert version == 4


async def test_the_final_plan_ends_the_assessment_and_issues_the_plan_in_one_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assessment_id, advice_request_id = await agreed_with_advice(sessions)
    async with work(sessions) as uow:
        # A child under 5 on the day of issue: the first review is due 6 months on.
        await repository.upsert_child_facts(
            uow.session, CHILD, date(2022, 1, 10), date(2038, 6, 25)
        )
        await handlers.receive_advice_from_agency(uow, advice_request_id, date(2026, 5, 1), None)
        await handlers.issue_draft(
            uow,
            assessment_id,
            uuid4(),
            issued_on=date(2026, 6, 1),
            sections=SECTIONS,
            issued_by="cw-1",
            expected_version=None,
        )
        await uow.execute(
            ASSESSMENTS, assessment_id, RecordComments(date(2026, 6, 5), "cw-1", "Agreed.")
        )
        completed, issued = await handlers.issue_final_plan(
            uow,
            assessment_id,
            issued_on=date(2026, 6, 8),
            setting=SCHOOL,
            start_date=date(2026, 9, 1),
            sections=None,
            issued_by="manager-1",
            expected_version=None,
        )
        await uow.commit()
    assert completed.state is not None
    assert issued.state is not None
    [plan_event] = issued.events
    assert isinstance(plan_event, PlanIssued)
    assert plan_event.next_review_due_on == date(2026, 12, 8)
    async with work(sessions) as uow:
        row = await uow.session.get(PlanRow, issued.state.plan_id)
        assessment = await uow.session.get(AssessmentRow, assessment_id)
        assert row is not None
        assert assessment is not None
        assert (row.setting_urn, row.setting_type, row.start_date) == (
            "123456",
            "mainstream",
            date(2026, 9, 1),
        )
        assert (assessment.stage, assessment.plan_id) == ("completed", row.plan_id)
        [stored] = await uow.read_stream(PLANS.stream_id(row.plan_id))
        assert stored.event == plan_event
    assert (
        dict(completed.state.sections)[PlanSection.I]
        == "Example Primary School; type: mainstream; URN 123456"
    )


async def test_a_refused_command_writes_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    assessment_id = await requested(sessions)
    async with work(sessions) as uow:
        with pytest.raises(RulesBroken):
            await uow.execute(
                ASSESSMENTS, assessment_id, DecideToAssess(True, date(2026, 1, 1), "Early.", "m-1")
            )
    async with work(sessions) as uow:
        row = await uow.session.get(AssessmentRow, assessment_id)
        queued = await uow.session.scalar(select(func.count()).select_from(outbox))
        assert row is not None
        assert row.version == 1
    assert queued == 1


async def test_two_concurrent_decisions_one_wins(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assessment_id = await requested(sessions)
    decision = DecideToAssess(True, date(2026, 4, 1), "Evidence.", "manager-1")
    async with work(sessions) as first:
        await first.execute(ASSESSMENTS, assessment_id, decision, expected_version=1)
        await first.commit()
    async with work(sessions) as second:
        with pytest.raises(ConcurrencyError):
            await second.execute(ASSESSMENTS, assessment_id, decision, expected_version=1)


async def test_child_facts_keep_the_latest_and_the_story(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    story = {"aspirations": {"text": "To be a vet.", "author": {}, "told_on": "2026-01-01"}}
    async with work(sessions) as uow:
        await repository.upsert_child_facts(uow.session, CHILD, date(2012, 1, 1), date(2028, 6, 30))
        await repository.upsert_child_facts(
            uow.session, CHILD, date(2012, 2, 1), date(2028, 6, 30), story=story, story_revision=1
        )
        await repository.upsert_child_facts(uow.session, CHILD, date(2012, 2, 2), date(2028, 6, 30))
        await uow.commit()
    async with work(sessions) as uow:
        facts = await repository.child_facts(uow.session, CHILD)
        assert facts is not None
        assert (facts.date_of_birth, facts.story, facts.story_revision) == (
            date(2012, 2, 2),
            story,
            1,
        )
    assert handlers.section_a_from_story(story) == "My aspirations: To be a vet."
