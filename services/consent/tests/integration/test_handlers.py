"""The consent service's use cases, reactions and read models on a migrated SQLite and
PostgreSQL database (no NATS: reactions are given their events as a consumer would)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from oneplan_consent.adapters import repository
from oneplan_consent.adapters.tables import ConsentRow, OverrideRow
from oneplan_consent.domain.aggregates import AlreadyEnded, ConsentRefused
from oneplan_consent.domain.commands import Actor, RecordDuty, RecordOverride, RecordRefusal
from oneplan_consent.domain.who_may_consent import ConsentRequest
from oneplan_consent.entrypoints.consumers import CHILD_FACTS, DISCLOSURES
from oneplan_consent.events import CATALOGUE, CaptureMethod, ConsentCapacity, ConsentGiver
from oneplan_consent.service_layer import handlers
from oneplan_consent.service_layer.expiry import expire_due
from oneplan_events.catalogue import register_disclosure_event
from oneplan_events.clock import FixedClock
from oneplan_events.envelope import Envelope
from oneplan_events.reactions import Delivery
from oneplan_events.schema import event_store, outbox
from oneplan_events.store import EventStore
from oneplan_events.uow import UnitOfWork
from oneplan_events.vocabulary import KNOWN_AGENCIES, DataClass, Purpose
from oneplan_kit.db import create_engine, create_sessionmaker
from oneplan_kit.migrations import upgrade

from ..consent_testing import children_envelope

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DOB = date(2016, 3, 1)
CSA_END = date(2032, 6, 25)
CASEWORKER = Actor(sub="send-user-1", agency="send")
LEAD = Actor(sub="lead-1", agency="social_care")
AGENCIES = frozenset(KNOWN_AGENCIES)

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade("oneplan_consent:migrations", engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> Sessions:
    return create_sessionmaker(engine)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def uow(sessions: Sessions, clock: FixedClock) -> UnitOfWork:
    return UnitOfWork(sessions, EventStore(CATALOGUE), source="/oneplan/consent", clock=clock)


async def count(sessions: Sessions, table: Any, *where: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


async def deliver(sessions: Sessions, clock: FixedClock, envelope: Envelope) -> None:
    """Apply one event with the consent service's reactions, as its consumer does: in one
    transaction, through a unit of work bound to it."""
    reactions = DISCLOSURES.reactions if "disclosure" in envelope.type else CHILD_FACTS.reactions
    handler = reactions.handler_for(envelope.type)
    assert handler is not None, envelope.type
    event = CATALOGUE.decode_envelope(envelope)
    async with sessions() as session, session.begin():
        work = UnitOfWork.bound_to(
            session, EventStore(CATALOGUE), source="/oneplan/consent", clock=clock
        )
        await handler(event, Delivery(envelope, work))


class Child:
    """A child the consent service learns about from the children service's events."""

    def __init__(self, sessions: Sessions, clock: FixedClock) -> None:
        self.child_id = uuid4()
        self.parent_id = uuid4()
        self._sessions = sessions
        self._clock = clock
        self._version = 0

    async def tell(self, event_type: str, **data: Any) -> None:
        self._version += 1
        payload = {
            "child_id": self.child_id,
            "date_of_birth": DOB,
            "compulsory_school_age_ends_on": CSA_END,
            **data,
        }
        envelope = children_envelope(event_type, self.child_id, self._version, payload)
        await deliver(self._sessions, self._clock, envelope)

    async def registered_with_parent(self) -> Child:
        await self.tell("oneplan.children.child.registered", given_name="Sam", family_name="Ex")
        await self.member(self.parent_id, "family_member.added", pr=True)
        return self

    async def member(self, member_id: UUID, event: str, *, pr: bool) -> None:
        await self.tell(
            f"oneplan.children.{event}",
            member_id=member_id,
            given_name="Alex",
            family_name="Example",
            relationship="parent",
            parental_responsibility=pr,
        )


@pytest.fixture
async def child(sessions: Sessions, clock: FixedClock) -> Child:
    return await Child(sessions, clock).registered_with_parent()


def consent_request(person_id: UUID, **changes: Any) -> ConsentRequest:
    fields: dict[str, Any] = {
        "given_by": ConsentGiver(
            person_id=person_id, name="Alex Example", capacity=ConsentCapacity.PARENT_WITH_PR
        ),
        "owner_agencies": ("send",),
        "recipient_agencies": ("health",),
        "data_classes": (DataClass.STORY,),
        "purposes": (Purpose.HEALTH_CARE,),
        "valid_from": NOW,
        "valid_until": NOW + timedelta(days=30),
        "capture_method": CaptureMethod.SIGNED_FORM,
    }
    fields.update(changes)
    return ConsentRequest(**fields)


async def give(sessions: Sessions, clock: FixedClock, child: Child, **changes: Any) -> UUID:
    async with uow(sessions, clock) as work:
        outcome = await handlers.give_consent(
            work,
            child.child_id,
            consent_request(child.parent_id, **changes),
            actor=CASEWORKER,
            known_agencies=AGENCIES,
        )
        await work.commit()
    assert outcome.state is not None
    return outcome.state.given.consent_id


async def test_children_events_teach_the_service_who_may_consent(
    sessions: Sessions, clock: FixedClock, child: Child
) -> None:
    async with sessions() as session:
        facts = await repository.load_child_facts(session, child.child_id)
    assert facts is not None
    assert (facts.date_of_birth, facts.compulsory_school_age_ends_on) == (DOB, CSA_END)
    assert facts.holds_parental_responsibility(child.parent_id)

    await child.member(child.parent_id, "family_member.changed", pr=False)
    corrected = date(2016, 9, 1)
    await child.tell(
        "oneplan.children.details.changed",
        date_of_birth=corrected,
        compulsory_school_age_ends_on=date(2033, 6, 24),
        changed_fields=["date_of_birth"],
        address_changed=False,
    )
    async with sessions() as session:
        facts = await repository.load_child_facts(session, child.child_id)
    assert facts is not None
    assert not facts.holds_parental_responsibility(child.parent_id)
    assert facts.compulsory_school_age_ends_on == date(2033, 6, 24)

    await child.tell(
        "oneplan.children.family_member.removed",
        member_id=child.parent_id,
        relationship="parent",
        parental_responsibility=False,
        ended_on=date(2026, 3, 1),
    )
    async with sessions() as session:
        facts = await repository.load_child_facts(session, child.child_id)
    assert facts is not None
    assert child.parent_id not in facts.members


async def test_a_consent_writes_its_event_outbox_and_read_model_in_one_commit(
    sessions: Sessions, clock: FixedClock, child: Child
) -> None:
    consent_id = await give(sessions, clock, child)
    async with sessions() as session:
        row = await session.get(ConsentRow, consent_id)
        [recorded] = await EventStore(CATALOGUE).read_stream(
            await session.connection(), f"consent/{consent_id}"
        )
    assert row is not None
    assert (row.status, row.version, row.child_id) == ("given", 1, child.child_id)
    assert row.record["recorded_by"] == "send-user-1"
    assert recorded.envelope.type == "oneplan.consent.consent.given"
    assert (recorded.envelope.time, recorded.envelope.streamversion) == (NOW, 1)
    assert await count(sessions, outbox) == 1

    async with uow(sessions, clock) as work:
        await handlers.give_consent(
            work,
            child.child_id,
            consent_request(child.parent_id),
            actor=CASEWORKER,
            known_agencies=AGENCIES,
        )  # not committed: nothing of it remains
    assert await count(sessions, event_store) == 1


async def test_refusals_write_nothing(sessions: Sessions, clock: FixedClock, child: Child) -> None:
    async with uow(sessions, clock) as work:
        with pytest.raises(handlers.ChildUnknown):
            await handlers.give_consent(
                work,
                uuid4(),
                consent_request(child.parent_id),
                actor=CASEWORKER,
                known_agencies=AGENCIES,
            )
        with pytest.raises(ConsentRefused) as refused:
            await handlers.give_consent(
                work,
                child.child_id,
                consent_request(uuid4()),
                actor=CASEWORKER,
                known_agencies=AGENCIES,
            )
        assert [issue.field for issue in refused.value.issues] == ["given_by.person_id"]
        await work.commit()
    assert await count(sessions, event_store) == 0
    assert await count(sessions, ConsentRow.__table__) == 0


async def test_withdrawal_ends_the_consent_once(
    sessions: Sessions, clock: FixedClock, child: Child
) -> None:
    consent_id = await give(sessions, clock, child)
    clock.advance(timedelta(days=1))
    async with uow(sessions, clock) as work:
        outcome = await handlers.withdraw_consent(
            work, consent_id, actor=CASEWORKER, reason="changed my mind"
        )
        await work.commit()
    assert outcome.version == 2
    async with sessions() as session:
        row = await session.get(ConsentRow, consent_id)
    assert row is not None
    assert (row.status, row.ended_at, row.version) == ("withdrawn", clock.now(), 2)
    async with uow(sessions, clock) as work:
        with pytest.raises(AlreadyEnded, match="withdrawn"):
            await handlers.withdraw_consent(work, consent_id, actor=CASEWORKER, reason=None)


async def test_consents_expire_when_their_end_date_comes(
    sessions: Sessions, clock: FixedClock, child: Child
) -> None:
    soon = await give(sessions, clock, child, valid_until=NOW + timedelta(hours=1))
    later = await give(sessions, clock, child, valid_until=NOW + timedelta(hours=3))
    withdrawn = await give(sessions, clock, child, valid_until=NOW + timedelta(hours=1))
    async with uow(sessions, clock) as work:
        await handlers.withdraw_consent(work, withdrawn, actor=CASEWORKER, reason=None)
        await work.commit()

    def unit_of_work() -> UnitOfWork:
        return uow(sessions, clock)

    assert await expire_due(unit_of_work, NOW, timedelta(hours=2)) == (
        0,
        NOW + timedelta(hours=1),
    )
    clock.advance(timedelta(hours=2))
    expired, next_due = await expire_due(unit_of_work, clock.now(), timedelta(hours=2))
    assert (expired, next_due) == (1, NOW + timedelta(hours=3))
    async with sessions() as session:
        rows = {c: await session.get(ConsentRow, c) for c in (soon, later, withdrawn)}
    assert {c: (r.status if r else None) for c, r in rows.items()} == {
        soon: "expired",
        later: "given",
        withdrawn: "withdrawn",
    }
    assert rows[soon] is not None
    assert rows[soon].ended_at == NOW + timedelta(hours=1)
    assert await expire_due(unit_of_work, clock.now(), timedelta(hours=2)) == (
        0,
        NOW + timedelta(hours=3),
    )


async def test_an_override_is_queued_for_review_until_reviewed_then_ended(
    sessions: Sessions, clock: FixedClock, child: Child
) -> None:
    override_id = uuid4()
    command = RecordOverride(
        override_id=override_id,
        child_id=child.child_id,
        reason="section 47 enquiry",
        lawful_basis="children_act_1989_s47",  # type: ignore[arg-type]
        recipient_agencies=("social_care",),
        data_classes=(DataClass.HEALTH,),
        ends_at=None,
        hide_from_family=True,
        actor=LEAD,
        known_agencies=AGENCIES,
    )
    async with uow(sessions, clock) as work:
        await handlers.record_override(work, command)
        await work.commit()

    async def queued() -> list[UUID]:
        async with sessions() as session:
            rows = await repository.overrides_where(
                session, needs_review=True, child_id=child.child_id
            )
        return [row.override_id for row in rows]

    assert await queued() == [override_id]
    async with uow(sessions, clock) as work:
        await handlers.review_override(work, override_id, actor=LEAD, outcome="continues")
        await handlers.end_override(work, override_id, actor=LEAD, reason="closed")
        await work.commit()
    assert await queued() == []
    async with sessions() as session:
        row = await session.get(OverrideRow, override_id)
    assert row is not None
    assert (row.version, row.ended_at, len(row.reviews)) == (3, NOW, 1)
    assert row.ends_at == NOW + timedelta(days=30)
    unknown = dataclasses.replace(command, child_id=uuid4(), override_id=uuid4())
    async with uow(sessions, clock) as work:
        with pytest.raises(handlers.ChildUnknown):
            await handlers.record_override(work, unknown)


async def test_duties_and_refusals_are_listed_newest_first(
    sessions: Sessions, clock: FixedClock, child: Child
) -> None:
    def duty(valid_from: datetime | None) -> RecordDuty:
        return RecordDuty(
            duty_id=uuid4(),
            child_id=child.child_id,
            lawful_basis="children_and_families_act_2014_s23",  # type: ignore[arg-type]
            description="health tells the authority of likely SEN",
            owner_agencies=("health",),
            recipient_agencies=("send",),
            data_classes=(DataClass.HEALTH,),
            purposes=(Purpose.EHC_ASSESSMENT,),
            valid_from=valid_from,
            valid_until=None,
            actor=LEAD,
            known_agencies=AGENCIES,
        )

    older, newer = duty(NOW - timedelta(days=3)), duty(None)
    async with uow(sessions, clock) as work:
        for command in (older, newer):
            await handlers.record_duty(work, command)
        await handlers.end_duty(work, older.duty_id, actor=LEAD, reason="done")
        await work.commit()
    for reason in ("not needed", "still not needed"):
        clock.advance(timedelta(minutes=1))
        async with uow(sessions, clock) as work:
            await handlers.record_refusal(
                work,
                RecordRefusal(
                    refusal_id=uuid4(),
                    child_id=child.child_id,
                    owner_agency="send",
                    recipient_agency="transport",
                    data_classes=(DataClass.STORY,),
                    purpose=Purpose.TRANSPORT_PLANNING,
                    reason=reason,
                    actor=CASEWORKER,
                    known_agencies=AGENCIES,
                ),
            )
            await work.commit()
    async with sessions() as session:
        duties = await repository.duties_of(session, child.child_id)
        refusals = await repository.refusals_of(session, child.child_id)
    assert [(d.duty_id, d.ended_at) for d in duties] == [
        (newer.duty_id, None),
        (older.duty_id, NOW),
    ]
    assert [r.record["reason"] for r in refusals] == ["still not needed", "not needed"]


async def test_the_disclosure_log_keeps_each_disclosure_once(
    sessions: Sessions, clock: FixedClock, child: Child
) -> None:
    model = register_disclosure_event("children")
    first, second = (
        model.model_validate(
            {
                "disclosure_id": uuid4(),
                "child_id": child.child_id,
                "owner_agency": "send",
                "recipient_agency": "health",
                "recipient": "health-user-1",
                "data_classes": ("story",),
                "purpose": "health_care",
                "basis": "consent",
                "reference_id": uuid4(),
                "disclosed_at": NOW + timedelta(minutes=minutes),
            }
        )
        for minutes in (1, 2)
    )
    for event in (first, second, first):
        async with sessions() as session, session.begin():
            await repository.add_disclosure(session, "children", event)
    async with sessions() as session:
        log = await repository.disclosures_of(session, child.child_id)
    assert [(row.disclosure_id, row.service) for row in log] == [
        (second.disclosure_id, "children"),
        (first.disclosure_id, "children"),
    ]
