"""The graduated response on a migrated database, SQLite and PostgreSQL alike (the testkit's
`database_url` runs each test on both): the matrix, SEN support plans and their projections,
the gaps worklist, the review that requests an assessment in the same transaction, and
refusals that write nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from importlib.resources import files
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oneplan_events.clock import FixedClock
from oneplan_events.schema import event_store, outbox
from oneplan_events.store import EventStore
from oneplan_events.uow import UnitOfWork
from oneplan_kit.db import create_engine, create_sessionmaker
from oneplan_kit.migrations import upgrade
from oneplan_plans.adapters import support_repository as repository
from oneplan_plans.adapters.repository import ASSESSMENTS
from oneplan_plans.adapters.support_repository import SUPPORT_PLANS
from oneplan_plans.adapters.support_tables import (
    MatrixVersionRow,
    ProvisionGapRow,
    SupportPlanRow,
    TrackedOutcomeRow,
)
from oneplan_plans.bootstrap import SERVICE
from oneplan_plans.config import load_directory, load_plan_types
from oneplan_plans.domain.errors import RulesBroken
from oneplan_plans.domain.provision_matrix import parse_matrix_yaml
from oneplan_plans.domain.support_commands import (
    CloseSupportPlan,
    LineIn,
    NeedIn,
    OutcomeIn,
    ProgressIn,
    RecordDelivery,
)
from oneplan_plans.domain.support_vocabulary import (
    AreaOfNeed,
    CloseReason,
    ProgressStatus,
    ReviewDecision,
    Tier,
)
from oneplan_plans.service_layer import support_handlers as handlers

CHILD = UUID("0b6f3c1e-8d55-4a57-9d55-1f3f7b1f0c11")
URN = "100001"


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


async def count(session: AsyncSession, table: object) -> int:
    return int(await session.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


async def matrix_published(sessions: async_sessionmaker[AsyncSession]) -> None:
    text = files("oneplan_plans").joinpath("data/provision_matrix.yaml").read_text()
    async with work(sessions) as uow:
        await handlers.publish_matrix(
            uow,
            effective_from=date(2025, 9, 1),
            title="Synthetic matrix",
            entries=parse_matrix_yaml(text),
            published_by="manager-1",
            expected_version=None,
        )
        await uow.commit()


async def plan_with_cycle(
    sessions: async_sessionmaker[AsyncSession], child: UUID = CHILD
) -> tuple[UUID, UUID, UUID]:
    plan_id, need, outcome, line = uuid4(), uuid4(), uuid4(), uuid4()
    async with work(sessions) as uow:
        await handlers.open_support_plan(
            uow,
            load_plan_types(None),
            load_directory(None),
            plan_id=plan_id,
            child_id=child,
            plan_type="sen_support",
            urn=URN,
            opened_on=date(2026, 1, 5),
            opened_by="senco-1",
            opened_by_agency="school",
        )
        await handlers.start_cycle(
            uow,
            plan_id,
            starts_on=date(2026, 1, 12),
            needs=(NeedIn(need, AreaOfNeed.COGNITION_AND_LEARNING, "Reading.", Tier.TARGETED),),
            outcomes=(OutcomeIn(outcome, "Reads a page.", (need,)),),
            lines=(LineIn(line, "CL-T1", "20 minutes", date(2026, 1, 12), outcome_ids=(outcome,)),),
            recorded_by="senco-1",
            by_agency="school",
            views={"child_views": "I like comics.", "child_views_helped_by": "Her TA"},
            expected_version=None,
        )
        await uow.commit()
    return plan_id, outcome, line


async def test_the_matrix_is_stored_and_projected_version_by_version(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await matrix_published(sessions)
    async with work(sessions) as uow:
        matrix = await handlers.matrix(uow)
        projected = await repository.published_matrix(uow.session)
        assert [v.version for v in matrix.versions] == [1]
        assert projected == matrix
        assert await count(uow.session, MatrixVersionRow) == 1


async def test_a_plans_gaps_are_projected_for_its_setting_and_follow_each_change(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await matrix_published(sessions)
    plan_id, outcome, line = await plan_with_cycle(sessions)
    async with work(sessions) as uow:
        assert (await repository.gaps_of_setting(uow.session, URN)).documents == []
        row = await uow.session.get(SupportPlanRow, plan_id)
        assert row is not None
        assert (row.setting_urn, row.cycles, row.is_open) == (URN, 1, True)
        owner = await repository.outcome_owner(uow.session, outcome)
        assert owner is not None
        assert owner.plan_id == plan_id
        delivery = RecordDelivery(line, date(2026, 2, 2), False, "senco-1", "school", "TA absent")
        await uow.execute(SUPPORT_PLANS, plan_id, delivery)
        await uow.commit()
    async with work(sessions) as uow:
        found = await repository.gaps_of_setting(uow.session, URN)
        assert (found.plans, found.children, found.gaps) == (1, 1, 1)
        [item] = [json.loads(document) for document in found.documents]
        assert item["plan_id"] == str(plan_id)
        assert [(g["kind"], g["subject_id"]) for g in item["gaps"]] == [
            ("provision_not_delivered", str(line))
        ]
        assert (await repository.gaps_of_setting(uow.session, "100002")).documents == []
        close = CloseSupportPlan(date(2026, 3, 1), CloseReason.LEFT_SETTING, "senco-1", "school")
        await uow.execute(SUPPORT_PLANS, plan_id, close)
        await uow.commit()
    async with work(sessions) as uow:
        assert await count(uow.session, ProvisionGapRow) == 0
        row = await uow.session.get(SupportPlanRow, plan_id)
        assert row is not None
        assert not row.is_open


async def test_a_review_requesting_an_assessment_records_both_in_one_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await matrix_published(sessions)
    plan_id, outcome, _ = await plan_with_cycle(sessions)
    async with work(sessions) as uow:
        before = await count(uow.session, outbox)
        _reviewed, requested = await handlers.review_cycle(
            uow,
            plan_id,
            reviewed_on=date(2026, 3, 30),
            progress=(ProgressIn(outcome, ProgressStatus.NOT_STARTED, "No change yet."),),
            decision=ReviewDecision.REQUEST_EHC_ASSESSMENT,
            reasons="Little progress despite targeted provision.",
            recorded_by="senco-1",
            by_agency="school",
            expected_version=None,
        )
        await uow.commit()
    assert requested is not None
    assert requested.state is not None
    assessment_id = requested.state.assessment_id
    async with work(sessions) as uow:
        state, _ = await uow.load(ASSESSMENTS, assessment_id)
        assert state is not None
        assert state.sen_support is not None
        assert state.sen_support.support_plan_id == plan_id
        assert state.child_views == "I like comics."
        assert state.requested_by == "school"
        assert state.received_on == date(2026, 3, 30)
        row = await uow.session.get(SupportPlanRow, plan_id)
        assert row is not None
        assert row.ehc_assessment_id == assessment_id
        # progress, reviewed, the revised outcome contribution, and the request
        assert await count(uow.session, outbox) == before + 4


async def test_refused_commands_write_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await matrix_published(sessions)
    plan_id, _, _ = await plan_with_cycle(sessions)
    _other_plan, other_outcome, _ = await plan_with_cycle(sessions, child=uuid4())
    async with work(sessions) as uow:
        events_before = await count(uow.session, event_store)
        gaps_before = await count(uow.session, ProvisionGapRow)
    async with work(sessions) as uow:
        with pytest.raises(RulesBroken, match="not an outcome of this plan"):
            await handlers.review_cycle(
                uow,
                plan_id,
                reviewed_on=date(2026, 3, 30),
                progress=(ProgressIn(other_outcome, ProgressStatus.ACHIEVED, "Yes."),),
                decision=ReviewDecision.CONTINUE,
                reasons=None,
                recorded_by="senco-1",
                by_agency="school",
                expected_version=None,
            )
    async with work(sessions) as uow:
        with pytest.raises(RulesBroken, match="an outcome of another plan"):
            await handlers.start_cycle(
                uow,
                plan_id,
                starts_on=date(2026, 4, 1),
                needs=(NeedIn(uuid4(), AreaOfNeed.COGNITION_AND_LEARNING, "R.", Tier.TARGETED),),
                outcomes=(OutcomeIn(other_outcome, "Taken from another plan."),),
                lines=(),
                recorded_by="senco-1",
                by_agency="school",
                views={},
                expected_version=None,
            )
        with pytest.raises(RulesBroken) as error:
            await handlers.plan_provision(
                uow,
                plan_id,
                LineIn(uuid4(), "NOT-AN-ENTRY", "1 hour", date(2026, 2, 1)),
                "senco-1",
                "school",
                None,
            )
        assert [b.field for b in error.value.broken] == ["entry_id"]
    async with work(sessions) as uow:
        assert await count(uow.session, event_store) == events_before
        assert await count(uow.session, ProvisionGapRow) == gaps_before
        assert await count(uow.session, TrackedOutcomeRow) == 2
