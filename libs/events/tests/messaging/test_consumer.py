"""DurableConsumer against a real nats-server: every event applied exactly once."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from nats.js import JetStreamContext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from oneplan_events.catalogue import (
    CATALOGUE,
    Catalogue,
    DataClass,
    Event,
    register_contribution_events,
)
from oneplan_events.consumer import DurableConsumer, _covering_filter
from oneplan_events.deadletters import list_dead_letters
from oneplan_events.envelope import Envelope
from oneplan_events.schema import inbox

from .conftest import Harness, connect, make_harness, record


def assert_each_once(harness: Harness, projected: list[tuple[str, str]]) -> None:
    counts = Counter(event_id for event_id, _ in projected)
    assert counts == Counter(envelope.id for envelope in harness.published)


async def test_every_event_is_applied_once_in_order(harness: Harness) -> None:
    await harness.publish_many(250)
    consumer = harness.consumer("projector", batch=40)
    await harness.until_projected(250)
    projected = await harness.projected()
    assert_each_once(harness, projected)
    assert [title for _, title in projected] == [f"e{i}" for i in range(250)]
    assert await harness.inbox_count() == 250
    assert consumer.running
    assert consumer.stats.applied == 250
    await harness.stop_consumers()
    assert not consumer.running


async def test_inbox_is_per_consumer(harness: Harness) -> None:
    await harness.publish_many(20)
    harness.consumer("first")
    harness.consumer("second")
    await harness.until_projected(40)
    async with harness.engine.connect() as connection:
        consumers = Counter((await connection.execute(select(inbox.c.consumer))).scalars())
    assert consumers == {"first": 20, "second": 20}


async def test_republished_ids_beyond_the_duplicate_window_are_skipped(
    js: JetStreamContext, pg_engine: AsyncEngine
) -> None:
    harness = await make_harness(js, pg_engine, duplicate_window=timedelta(seconds=1))
    try:
        originals = [harness.envelope(f"d{i}") for i in range(30)]
        for envelope in originals:
            await harness.publish(envelope)
        await asyncio.sleep(1.5)  # past the duplicate window: JetStream stores them again
        for envelope in originals:
            await harness.publish(envelope)
        assert (await js.stream_info(harness.stream.name)).state.messages == 60
        consumer = harness.consumer("projector", batch=7)

        async def all_seen() -> bool:
            return consumer.stats.applied + consumer.stats.duplicates >= 60

        await harness.eventually(all_seen, message="60 deliveries handled")
        assert await harness.projected_count() == 30
        assert consumer.stats.duplicates == 30
    finally:
        await harness.stop_consumers()
        await js.delete_stream(harness.stream.name)


def run_consumer_in_thread(
    nats_url: str,
    database_url: str,
    harness: Harness,
    stop: threading.Event,
    started: list[DurableConsumer],
) -> threading.Thread:
    """A second instance with its own event loop, connection and engine: a second process
    as far as NATS and the database can tell."""

    async def main() -> None:
        nc, js = await connect(nats_url)
        engine = create_async_engine(database_url)
        consumer = DurableConsumer(
            js,
            async_sessionmaker(engine, expire_on_commit=False),
            name="projector",
            stream=harness.stream.name,
            subjects=[f"oneplan.{harness.service}.>"],
            handlers={f"oneplan.{harness.service}.contribution.submitted": record},
            ack_wait=1,
        )
        started.append(consumer)
        task = asyncio.create_task(consumer.run())
        await asyncio.to_thread(stop.wait)
        await consumer.stop()
        await task
        await nc.close()
        await engine.dispose()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    return thread


async def test_redelivery_after_ack_wait_before_a_late_commit_does_not_apply_twice(
    pg_harness: Harness, nats_url: str, pg_database_url: str
) -> None:
    """Instance A stalls its whole process past AckWait (so it cannot even send in-progress);
    JetStream redelivers to instance B while A's transaction is still open; then A wakes up,
    commits late and acks late. The inbox keeps the projection to one row."""
    stalled: list[str] = []
    stop = threading.Event()
    threads: list[threading.Thread] = []
    second: list[DurableConsumer] = []

    async def stalling(event: Event, envelope: Envelope, session: AsyncSession) -> None:
        if not stalled:
            stalled.append(envelope.id)
            threads.append(
                run_consumer_in_thread(nats_url, pg_database_url, pg_harness, stop, second)
            )
            time.sleep(2.5)  # noqa: ASYNC251 - blocks this event loop, as a stuck process would
        await record(event, envelope, session)

    await pg_harness.publish(pg_harness.envelope("slow"))
    handlers = {f"oneplan.{pg_harness.service}.contribution.submitted": stalling}
    first = pg_harness.consumer("projector", handlers, ack_wait=1)
    try:

        async def settled() -> bool:
            return bool(second) and first.stats.duplicates + second[0].stats.duplicates == 1

        await pg_harness.eventually(settled, within=15, message="the redelivery was skipped")
        # One of them applied it (which one depends on who claimed the inbox row first).
        assert first.stats.applied + second[0].stats.applied == 1
        assert await pg_harness.projected() == [(stalled[0], "slow")]
        info = await pg_harness.js.consumer_info(pg_harness.stream.name, "projector")
        assert info.num_ack_pending == 0
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)


async def test_failing_handler_is_retried_then_parked(harness: Harness) -> None:
    broken = {"poison"}
    attempts: Counter[str] = Counter()

    async def fragile(event: Event, envelope: Envelope, session: AsyncSession) -> None:
        title = getattr(event, "title", "")
        attempts[title] += 1
        if title in broken:
            raise RuntimeError(f"cannot project {title}")
        await record(event, envelope, session)

    await harness.publish(harness.envelope("before"))
    await harness.publish(harness.envelope("poison"))
    await harness.publish(harness.envelope("after"))
    handlers = {f"oneplan.{harness.service}.contribution.submitted": fragile}
    consumer = harness.consumer("projector", handlers, max_deliver=3, backoff=(0.1, 0.2))

    async def parked() -> bool:
        return consumer.stats.parked == 1

    await harness.eventually(parked, message="poison parked")
    assert sorted(title for _, title in await harness.projected()) == ["after", "before"]
    # delivery 1 in the batch and again alone to isolate it; deliveries 2 and 3 alone
    assert attempts["poison"] == 4
    assert consumer.stats.retried == 2
    async with harness.sessionmaker() as session:
        [letter] = await list_dead_letters(session, "projector")
    assert letter.event_id == harness.published[1].id
    assert letter.deliveries == 3
    assert "RuntimeError: cannot project poison" in letter.error
    assert letter.state == "parked"


async def test_undecodable_and_unknown_messages_are_parked_and_later_events_apply(
    harness: Harness,
) -> None:
    good = harness.envelope("good")
    headers, _ = good.to_nats()
    unknown = f"oneplan.{harness.service}.thing.vanished"
    headers.pop("ce-dataschema")

    def with_id(event_id: str, **more: str) -> dict[str, str]:
        return {**headers, "ce-id": event_id, "Nats-Msg-Id": event_id, **more}

    await harness.js.publish(good.type, b"{not json", headers=with_id("x1"))
    await harness.js.publish(unknown, b"{}", headers=with_id("x2", **{"ce-type": unknown}))
    await harness.js.publish(good.type, b'{"title": "no headers"}')
    await harness.js.publish(good.type, b'{"title": "missing fields"}', headers=with_id("bad-data"))
    await harness.publish(good)
    consumer = harness.consumer("projector")
    await harness.until_projected(1)
    assert await harness.projected() == [(good.id, "good")]

    async def all_parked() -> bool:
        return consumer.stats.parked == 4

    await harness.eventually(all_parked, message="four parked")
    async with harness.sessionmaker() as session:
        letters = await list_dead_letters(session, "projector")
    assert [letter.event_id for letter in letters] == ["x1", "x2", None, "bad-data"]
    reasons = [letter.error for letter in letters]
    assert "MalformedEvent: body is not UTF-8 JSON" in reasons[0]
    assert reasons[1] == f"UnknownEventType: unknown event type '{unknown}'"
    assert "missing required attribute(s): id, source, type" in reasons[2]
    assert "ValidationError" in reasons[3]
    assert all(letter.deliveries == 1 for letter in letters)


async def test_two_instances_share_one_durable(harness: Harness) -> None:
    await harness.publish_many(400)
    first = harness.consumer("shared", batch=20)
    second = harness.consumer("shared", batch=20)
    await harness.until_projected(400)
    await asyncio.sleep(0.3)
    assert_each_once(harness, await harness.projected())
    assert first.stats.applied + second.stats.applied == 400
    assert first.stats.applied > 0
    assert second.stats.applied > 0


async def test_known_types_without_a_handler_are_acknowledged_and_ignored(
    harness: Harness,
) -> None:
    await harness.publish_many(5)
    consumer = harness.consumer("nothing", {f"oneplan.{harness.service}.other.happened": record})

    async def ignored() -> bool:
        return consumer.stats.ignored == 5

    await harness.eventually(ignored, message="five ignored")
    info = await harness.js.consumer_info(harness.stream.name, "nothing")
    assert info.num_ack_pending == 0
    assert await harness.projected_count() == 0


async def test_wildcard_handlers(harness: Harness) -> None:
    await harness.publish_many(3)
    harness.consumer("wild", {"oneplan.*.contribution.submitted": record})
    await harness.until_projected(3)


async def test_a_drifted_consumer_configuration_is_updated(harness: Harness) -> None:
    old = DurableConsumer(
        harness.js,
        harness.sessionmaker,
        name="drifting",
        stream=harness.stream.name,
        subjects=[f"oneplan.{harness.service}.>"],
        handlers={},
        ack_wait=30,
    )
    await old.ensure_consumer()
    new = DurableConsumer(
        harness.js,
        harness.sessionmaker,
        name="drifting",
        stream=harness.stream.name,
        subjects=[f"oneplan.{harness.service}.contribution.>"],
        handlers={},
        ack_wait=7,
    )
    await new.ensure_consumer()
    config = (await harness.js.consumer_info(harness.stream.name, "drifting")).config
    assert config.ack_wait == 7
    assert config.filter_subject == f"oneplan.{harness.service}.contribution.>"
    assert config.max_deliver == -1


async def test_a_private_catalogue_decodes_a_services_own_events(harness: Harness) -> None:
    private = Catalogue()
    note_type = f"oneplan.{harness.service}.note.recorded"

    @private.register(note_type, DataClass.STORY, summary="A private test note was recorded.")
    class NoteRecorded(Event):
        note_id: uuid.UUID
        title: str

    assert note_type not in CATALOGUE
    envelope = private.envelope_for(
        NoteRecorded(note_id=uuid.uuid4(), title="private"),
        source=f"/oneplan/{harness.service}",
        subject=None,
    )
    await harness.publish(envelope)
    own = harness.consumer("own", {note_type: record}, catalogue=private)
    shared = harness.consumer("shared", {note_type: record})
    await harness.until_projected(1)

    async def parked_by_the_shared_catalogue() -> bool:
        return shared.stats.parked == 1

    await harness.eventually(parked_by_the_shared_catalogue, message="unknown type parked")
    assert own.stats.applied == 1
    assert await harness.projected() == [(envelope.id, "private")]


async def test_several_subjects_receive_only_those_subjects(harness: Harness) -> None:
    """Works on nats-server 2.9 (no ``filter_subjects``) and on 2.10+ alike."""
    events = register_contribution_events(harness.service)
    common = {
        "contribution_id": uuid.uuid4(),
        "child_id": uuid.uuid4(),
        "section": "F",
        "data_class": "education",
        "author": "teacher-1",
        "agency": "school",
    }
    submitted = events.submitted(**common, title="submitted", content="-")
    revised = events.revised(**common, title="revised", content="-")
    withdrawn = events.withdrawn(**common)
    for event in (submitted, revised, withdrawn):
        await harness.publish(
            CATALOGUE.envelope_for(event, source=f"/oneplan/{harness.service}", subject=None)
        )
    prefix = f"oneplan.{harness.service}.contribution"
    consumer = DurableConsumer(
        harness.js,
        harness.sessionmaker,
        name="two_subjects",
        stream=harness.stream.name,
        subjects=[f"{prefix}.submitted", f"{prefix}.withdrawn"],
        handlers={"oneplan.*.contribution.*": record},
    )
    harness.consumers.append((consumer, asyncio.create_task(consumer.run())))

    async def all_handled() -> bool:
        return consumer.stats.applied + consumer.stats.ignored >= 2

    await harness.eventually(all_handled, message="both wanted events handled")
    await asyncio.sleep(0.3)  # a message on the unwanted subject would be applied by now
    projected = await harness.projected()
    assert sorted(title for _, title in projected) == ["", "submitted"]
    assert {event_id for event_id, _ in projected} == {
        harness.published[0].id,
        harness.published[2].id,
    }
    info = await harness.js.consumer_info(harness.stream.name, "two_subjects")
    assert info.num_ack_pending == 0
    version = harness.js._nc.connected_server_version
    if (version.major, version.minor) < (2, 10):
        assert info.config.filter_subject == f"{prefix}.*"
        assert consumer.stats.ignored == 1  # the revision: delivered by the wider filter
    else:
        assert sorted(info.config.filter_subjects or []) == [
            f"{prefix}.submitted",
            f"{prefix}.withdrawn",
        ]


@pytest.mark.parametrize(
    ("subjects", "covering"),
    [
        (["a.b.c", "a.b.d"], "a.b.*"),
        (["a.x.c", "a.y.d"], "a.*.*"),
        (["a.b.>", "a.b.c"], "a.b.>"),
        (["a.b", "a.b.c"], "a.>"),
        (["a.b.c.d", "a.b.e"], "a.b.>"),
        (["a.>", "b.c.d"], None),
        (["a.b", "c.d"], "*.*"),
    ],
)
def test_the_covering_filter_for_servers_before_2_10(
    subjects: list[str], covering: str | None
) -> None:
    assert _covering_filter(subjects) == covering
