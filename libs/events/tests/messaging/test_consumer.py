"""DurableConsumer against a real nats-server: each record's events applied exactly once, in
version order, across partitions and instances, with failures holding back only their record.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import insert, select

from oneplan_events.catalogue import ContributionSubmitted
from oneplan_events.deadletters import list_dead_letters, request_replay
from oneplan_events.positions import PositionRace, load_positions, save_positions
from oneplan_events.reactions import Delivery, Reactions
from oneplan_events.schema import consumer_positions, event_store

from .conftest import FAST, Harness, connect, projection, record


def assert_each_once(harness: Harness, projected: list[tuple[str, str]]) -> None:
    counts = Counter(event_id for event_id, _ in projected)
    assert counts == Counter(envelope.id for envelope in harness.published)


def in_order(applied: dict[str, list[int]]) -> bool:
    return all(versions == list(range(1, len(versions) + 1)) for versions in applied.values())


async def test_every_event_is_applied_once_in_order_per_record(harness: Harness) -> None:
    await harness.publish_many(300, records=25)
    consumer = harness.consumer("projector", batch=40)
    await harness.until_projected(300)
    assert_each_once(harness, await harness.projected())
    applied = await harness.projected_per_record()
    assert len(applied) == 25
    assert in_order(applied)
    assert consumer.stats.applied == 300
    assert await harness.position_count() == 25  # one position per record, not per event
    assert sorted(consumer.durable_names()) == ["projector_p0", "projector_p1"]
    await harness.stop_consumers()
    assert not consumer.running


async def test_positions_are_per_consumer(harness: Harness) -> None:
    await harness.publish_many(20)
    harness.consumer("first")
    harness.consumer("second")
    await harness.until_projected(40)
    projected = await harness.projected()
    assert Counter(event_id for event_id, _ in projected) == Counter(
        {envelope.id: 2 for envelope in harness.published}
    )


async def test_a_republished_event_is_a_duplicate_by_its_version(harness: Harness) -> None:
    """Beyond JetStream's duplicate window the positions still drop a repeat."""
    first = harness.envelope("first")
    await harness.publish(first)
    consumer = harness.consumer("projector")
    await harness.until_projected(1)
    # The same event again, under a new message id (so JetStream keeps it).
    headers, body = first.to_nats()
    headers["Nats-Msg-Id"] = str(uuid.uuid4())
    await harness.js.publish(first.nats_subject, body, headers=headers)

    async def seen() -> bool:
        return consumer.stats.duplicates == 1

    await harness.eventually(seen, message="the repeat recognised")
    assert await harness.projected_count() == 1


async def test_a_version_gap_is_held_until_the_missing_event_arrives(harness: Harness) -> None:
    record_id = str(uuid.uuid4())
    v1, v2, v3 = (harness.envelope(f"v{n}", record_id) for n in (1, 2, 3))
    consumer = harness.consumer("projector")
    await harness.publish(v2)
    await harness.publish(v3)

    async def held() -> bool:
        return consumer.stats.held >= 2

    await harness.eventually(held, message="v2 and v3 held back")
    assert await harness.projected_count() == 0
    await harness.publish(v1)
    await harness.until_projected(3)
    assert [title for _, title in await harness.projected()] == ["v1", "v2", "v3"]


async def test_a_failed_event_holds_back_its_record_only(harness: Harness) -> None:
    """The defect: FamilyMemberAdded fails once, FamilyMemberRemoved arrives, and the retry
    must not bring the removed parent back. Other records go on meanwhile."""
    members: dict[str, set[str]] = {}
    failures = Counter[str]()
    reactions = Reactions()

    @reactions.handles(ContributionSubmitted)
    async def network(event: Any, delivery: Delivery) -> None:
        person = event.title.split(":")[1]
        if event.title.startswith("added") and failures[person] < 2:
            failures[person] += 1  # fails in the batch, then alone once: retried later
            raise RuntimeError("the database blinked")
        record_id = delivery.envelope.subject or ""
        if event.title.startswith("added"):
            members.setdefault(record_id, set()).add(person)
        else:
            members.setdefault(record_id, set()).discard(person)
        await record(event, delivery)

    child = str(uuid.uuid4())
    other = str(uuid.uuid4())
    await harness.publish(harness.envelope("added:parent", child))
    await harness.publish(harness.envelope("removed:parent", child))
    await harness.publish(harness.envelope("removed:nobody", other))
    consumer = harness.consumer("projector", reactions, batch=10)
    await harness.until_projected(3)
    assert members[f"contribution/{child}"] == set()  # added, then removed: in that order
    applied = await harness.projected_per_record()
    assert applied[f"contribution/{child}"] == [1, 2]
    assert consumer.stats.retried >= 1
    assert consumer.stats.held >= 1


async def test_failing_handler_is_retried_then_parked_and_its_record_goes_on(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="oneplan_events.consumer")
    attempts = Counter[str]()
    reactions = Reactions()

    @reactions.handles(ContributionSubmitted)
    async def fragile(event: Any, delivery: Delivery) -> None:
        attempts[event.title] += 1
        if event.title == "poison":
            raise RuntimeError("cannot project poison")
        await record(event, delivery)

    record_id = str(uuid.uuid4())
    for title in ("before", "poison", "after"):
        await harness.publish(harness.envelope(title, record_id))
    consumer = harness.consumer(
        "projector", reactions, max_deliver=3, parked_loses="a row of the test projection"
    )

    async def parked() -> bool:
        return consumer.stats.parked == 1

    await harness.eventually(parked, message="poison parked")
    # The ERROR says which consumer parked which event, why, and what is missing meanwhile.
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    poison_id = harness.published[1].id
    assert (getattr(error, "consumer", None), getattr(error, "event_id", None)) == (
        "projector",
        poison_id,
    )
    assert error.getMessage().startswith(f"consumer projector: parked event {poison_id} (")
    assert "failed 3 times, last: RuntimeError: cannot project poison" in error.getMessage()
    assert "missing until replayed: a row of the test projection" in error.getMessage()
    await harness.until_projected(2)
    assert [title for _, title in await harness.projected()] == ["before", "after"]
    assert attempts["poison"] == 1 + 3  # in the batch, then alone until the third failure
    async with harness.sessionmaker() as session:
        [letter] = await list_dead_letters(session, "projector")
    assert letter.event_id == harness.published[1].id
    assert "RuntimeError: cannot project poison" in letter.error
    assert letter.state == "parked"


async def test_undecodable_messages_are_parked_and_later_events_apply(harness: Harness) -> None:
    good = harness.envelope("good")
    headers, _ = good.to_nats()

    def with_id(event_id: str, **more: str) -> dict[str, str]:
        return {
            **headers,
            "ce-id": event_id,
            "Nats-Msg-Id": event_id,
            "ce-subject": f"contribution/{event_id}",
            **more,
        }

    subject = good.nats_subject
    await harness.js.publish(subject, b"{not json", headers=with_id("x1"))
    await harness.js.publish(subject, b'{"title": "missing fields"}', headers=with_id("x2"))
    await harness.js.publish(subject, b'{"title": "no headers"}')
    await harness.publish(good)
    consumer = harness.consumer("projector")
    await harness.until_projected(1)
    assert await harness.projected() == [(good.id, "good")]

    async def all_parked() -> bool:
        return consumer.stats.parked == 3

    await harness.eventually(all_parked, message="three parked")
    async with harness.sessionmaker() as session:
        letters = await list_dead_letters(session, "projector")
    assert [letter.event_id for letter in letters] == ["x1", "x2", None]
    reasons = [letter.error for letter in letters]
    assert "MalformedEvent: body is not UTF-8 JSON" in reasons[0]
    assert "ValidationError" in reasons[1]
    assert "missing required attribute(s): id, source, type" in reasons[2]


async def test_events_without_a_handler_pass_and_count_in_their_record(harness: Harness) -> None:
    """A record's events the consumer does not handle still move its position, so the next
    handled event is not mistaken for a gap."""
    record_id = str(uuid.uuid4())
    unhandled = harness.envelope("v1", record_id)
    headers, body = unhandled.to_nats()
    other_type = f"oneplan.{harness.service}.note.written"
    headers["ce-type"] = other_type
    await harness.js.publish(
        other_type + unhandled.nats_subject[len(unhandled.type) :], body, headers=headers
    )
    await harness.publish(harness.envelope("v2", record_id))
    consumer = harness.consumer("projector")
    await harness.until_projected(1)
    assert [title for _, title in await harness.projected()] == ["v2"]
    assert consumer.stats.passed == 1
    assert consumer.stats.held == 0


async def test_two_instances_share_the_partitions_and_apply_each_event_once(
    harness: Harness, nats_url: str
) -> None:
    other, _ = await connect(nats_url)
    try:
        first = harness.consumer("projector", batch=20)
        second = harness.consumer("projector", batch=20, nc=other)
        await harness.publish_many(400, records=40)
        await harness.until_projected(400)
        await asyncio.sleep(0.5)  # let any duplicate application show up
        assert_each_once(harness, await harness.projected())
        assert in_order(await harness.projected_per_record())
        pinned = set(first.pinned_partitions) | set(second.pinned_partitions)
        assert pinned <= {0, 1}
        assert not set(first.pinned_partitions) & set(second.pinned_partitions)
    finally:
        await harness.stop_consumers()
        await other.close()


async def test_a_stopped_instance_hands_its_partitions_over_at_once(
    harness: Harness, nats_url: str
) -> None:
    other, _ = await connect(nats_url)
    try:
        first = harness.consumer("projector")
        await harness.publish_many(40, records=8)
        await harness.until_projected(40)
        second = harness.consumer("projector", nc=other)
        await first.stop()  # gives its pins up
        await harness.publish_many(40, records=8, prefix="later")
        await harness.until_projected(80, within=10)
        assert_each_once(harness, await harness.projected())
        assert second.stats.applied >= 1
    finally:
        await harness.stop_consumers()
        await other.close()


async def test_a_batch_slower_than_the_pin_ttl_keeps_its_partition(
    harness: Harness, nats_url: str
) -> None:
    """The server moves a pin once the pinned instance has sent no pull for ``pin_ttl``: an
    instance busy with a slow batch must keep pulling, or a standby takes the partition over
    while it is still applying (and the two then take turns on it)."""
    slow = asyncio.Event()

    async def record_slowly(event: Any, delivery: Delivery) -> None:
        if event.title == "slow" and not slow.is_set():
            slow.set()
            await asyncio.sleep(3 * FAST.pin_ttl)
        await record(event, delivery)

    reactions = Reactions()
    reactions.handles(ContributionSubmitted)(record_slowly)
    other, _ = await connect(nats_url)
    try:
        first = harness.consumer("projector", reactions, batch=5)
        await harness.publish_many(40, records=8)
        await harness.until_projected(40)
        assert first.pinned_partitions == [0, 1]
        standby = harness.consumer("projector", reactions, nc=other, batch=5)
        await asyncio.sleep(2 * FAST.expires)  # the standby's requests are waiting
        record_id = str(uuid.uuid4())
        await harness.publish(harness.envelope("slow", record_id))
        for index in range(20):
            await harness.publish(harness.envelope(f"after{index}", record_id))
        await harness.until_projected(61, within=20)
        assert slow.is_set()
        assert standby.stats.applied == 0, "the standby took a partition from a busy instance"
        assert first.pinned_partitions == [0, 1]
        assert in_order(await harness.projected_per_record())
    finally:
        await harness.stop_consumers()
        await other.close()


async def test_an_instance_that_dies_is_replaced_without_loss_or_repeats(
    harness: Harness, nats_url: str
) -> None:
    """The first instance's connection is cut without unpinning; once its pins time out the
    second instance takes over, and the messages the first had in flight come back after the
    ack wait: each event is applied once, in order per record."""
    doomed, _ = await connect(nats_url)
    survivor, _ = await connect(nats_url)
    try:
        harness.consumer("projector", nc=doomed, batch=10)
        harness.consumer("projector", nc=survivor, batch=10)
        await harness.publish_many(60, records=10)
        await asyncio.sleep(0.3)
        await doomed.close()  # dies mid-stream: no ack, no unpin
        await harness.publish_many(60, records=10, prefix="after")
        await harness.until_projected(120, within=30)
        await asyncio.sleep(0.5)
        assert_each_once(harness, await harness.projected())
        assert in_order(await harness.projected_per_record())
    finally:
        await harness.stop_consumers()
        await survivor.close()


async def test_a_race_on_a_new_record_applies_it_once(harness: Harness) -> None:
    """Two transactions that both saw no position for a record: the second write of the
    position is refused (PositionRace), so the event is applied once."""
    async with harness.sessionmaker() as session, session.begin():
        assert await load_positions(session, "c", ["s"]) == {}
        await save_positions(session, "c", {"s": 1})
    async with harness.sessionmaker() as session, session.begin():
        with pytest.raises(PositionRace):
            await save_positions(session, "c", {"s": 1})


async def test_events_without_a_stream_version_are_kept_once_by_the_inbox(
    harness: Harness,
) -> None:
    """An integrator's event published without OnePlan's libraries carries no version."""
    envelope = harness.envelope("plain")
    headers, body = envelope.to_nats()
    del headers["ce-streamversion"]
    for _ in range(2):
        await harness.js.publish(
            envelope.nats_subject, body, headers={**headers, "Nats-Msg-Id": str(uuid.uuid4())}
        )
    consumer = harness.consumer("projector")

    async def settled() -> bool:
        return consumer.stats.applied + consumer.stats.duplicates == 2

    await harness.eventually(settled, message="both deliveries handled")
    assert await harness.projected_count() == 1
    assert await harness.inbox_count() == 1


async def test_a_consumer_filtered_by_type_reads_only_those_events(harness: Harness) -> None:
    wanted = harness.envelope("wanted")
    unwanted_type = f"oneplan.{harness.service}.note.written"
    headers, body = harness.envelope("unwanted").to_nats()
    headers["ce-type"] = unwanted_type
    await harness.js.publish(f"{unwanted_type}.x", body, headers=headers)
    await harness.publish(wanted)
    consumer = harness.consumer("projector", types="contribution.submitted")
    await harness.until_projected(1)
    await asyncio.sleep(0.3)
    assert await harness.projected() == [(wanted.id, "wanted")]
    assert consumer.stats.passed == 0


async def test_a_reaction_appends_events_atomically_with_the_position(harness: Harness) -> None:
    """A handler's unit of work is the consumer's transaction: what it appends names the
    handled event as its cause and carries its correlation id."""
    reactions = Reactions()

    @reactions.handles(ContributionSubmitted)
    async def react(event: Any, delivery: Delivery) -> None:
        await record(event, delivery)
        revised = harness.catalogue.model(f"oneplan.{harness.service}.contribution.revised")
        await delivery.uow.append(
            f"reaction/{event.contribution_id}",
            0,
            [revised(**event.model_dump(include=set(revised.model_fields)))],
        )

    source = harness.envelope("cause", correlationid="work-1")
    await harness.publish(source)
    harness.consumer("projector", reactions)
    await harness.until_projected(1)
    async with harness.engine.connect() as conn:
        rows = (await conn.execute(select(event_store.c.metadata))).scalars().all()
    assert len(rows) == 1
    metadata = rows[0] if isinstance(rows[0], dict) else json.loads(rows[0])
    assert metadata["causationid"] == source.id
    assert metadata["correlationid"] == "work-1"


async def test_a_reaction_that_fails_leaves_nothing_behind(harness: Harness) -> None:
    reactions = Reactions()

    @reactions.handles(ContributionSubmitted)
    async def half_done(event: Any, delivery: Delivery) -> None:
        await delivery.session.execute(
            insert(projection).values(event_id="partial", title="partial")
        )
        raise RuntimeError("fails after writing")

    await harness.publish(harness.envelope("x"))
    consumer = harness.consumer("projector", reactions, max_deliver=2)

    async def parked() -> bool:
        return consumer.stats.parked == 1

    await harness.eventually(parked, message="parked")
    assert await harness.projected_count() == 0
    async with harness.engine.connect() as conn:
        positions = (await conn.execute(select(consumer_positions))).all()
    assert len(positions) == 1  # the parked event's version was passed over, nothing else


async def test_a_parked_event_without_a_version_is_applied_once_by_its_replay_only(
    harness: Harness,
) -> None:
    """Parking settles an integrator's (version-less) event in the inbox: a copy delivered
    after the duplicate window is not applied, and the letter's replay applies it once."""
    healthy = asyncio.Event()
    reactions = Reactions()

    @reactions.handles(ContributionSubmitted)
    async def until_fixed(event: Any, delivery: Delivery) -> None:
        if not healthy.is_set():
            raise RuntimeError("projection table locked by a migration")
        await record(event, delivery)

    envelope = harness.envelope("late")
    headers, body = envelope.to_nats()
    del headers["ce-streamversion"]

    async def deliver_a_copy() -> None:
        await harness.js.publish(
            envelope.nats_subject, body, headers={**headers, "Nats-Msg-Id": str(uuid.uuid4())}
        )

    await deliver_a_copy()
    consumer = harness.consumer("projector", reactions, max_deliver=2)

    async def parked() -> bool:
        return consumer.stats.parked == 1

    await harness.eventually(parked, message="the event parked")
    healthy.set()
    await deliver_a_copy()

    async def seen_as_duplicate() -> bool:
        return consumer.stats.duplicates == 1

    await harness.eventually(seen_as_duplicate, message="the copy handled as a duplicate")
    assert await harness.projected_count() == 0
    async with harness.sessionmaker() as session, session.begin():
        [letter] = await list_dead_letters(session, "projector")
        await request_replay(session, letter.id)
    await harness.until_projected(1)
    await asyncio.sleep(0.5)
    assert await harness.projected_count() == 1
