"""ConsentReplica against a real nats-server: catch-up, live updates, fail closed when stale."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from nats.js import JetStreamContext
from replica_testing import (
    STREAM,
    create_stream,
    eventually,
    fast_replica,
    hooked_replica,
    publish,
    recreate_stream,
    running,
)
from sharing_factories import T0, consent_given

from oneplan_events.catalogue import DataClass
from oneplan_sharing import STALE_REASON, ConsentReplica, DecisionRequest, Purpose
from oneplan_sharing.facts import ConsentWithdrawal

CHILD = uuid4()
REQUEST = DecisionRequest(
    CHILD, "send", "health", DataClass.STORY, Purpose.HEALTH_CARE, T0 + timedelta(days=1)
)


async def test_catches_up_from_the_start_of_the_stream(js: JetStreamContext) -> None:
    given = consent_given(CHILD)
    await publish(js, given)
    for _ in range(50):
        await publish(js, consent_given(uuid4()))
    replica = fast_replica(js)
    assert replica.decide(REQUEST).reason == STALE_REASON  # nothing proven before run()
    async with running(replica):
        await eventually(lambda: replica.ready)
        assert replica.applied_sequence == 51
        decision = replica.decide(REQUEST)
        assert decision.permit
        assert decision.reference == given.consent_id


async def test_follows_withdrawal_live(js: JetStreamContext) -> None:
    given = consent_given(CHILD)
    replica = fast_replica(js)
    async with running(replica):
        await eventually(lambda: replica.ready)
        assert not replica.decide(REQUEST).permit
        await publish(js, given)
        await eventually(lambda: replica.decide(REQUEST).permit)
        await publish(
            js,
            ConsentWithdrawal(
                consent_id=given.consent_id, child_id=CHILD, withdrawn_at=T0, withdrawn_by="p"
            ),
        )
        await eventually(lambda: not replica.decide(REQUEST).permit, within=1.0)
        lag = replica.lag()
        assert lag is not None
        assert lag < timedelta(seconds=5)


async def test_fails_closed_when_nats_is_gone_and_recovers(
    server: Any, js: JetStreamContext
) -> None:
    await publish(js, consent_given(CHILD))
    replica = fast_replica(js, staleness=0.5)
    async with running(replica):
        await eventually(lambda: replica.decide(REQUEST).permit)
        server.stop()
        started = time.monotonic()
        await eventually(lambda: not replica.decide(REQUEST).permit, within=3.0)
        assert replica.decide(REQUEST).reason == STALE_REASON
        assert time.monotonic() - started < 1.5
        assert not replica.ready
        server.start()
        await eventually(lambda: replica.decide(REQUEST).permit, within=10.0)


async def test_an_undecodable_event_halts_the_replica_closed(js: JetStreamContext) -> None:
    await publish(js, consent_given(CHILD))
    replica = fast_replica(js, staleness=0.3)
    async with running(replica):
        await eventually(lambda: replica.decide(REQUEST).permit)
        await js.publish("oneplan.consent.consent.withdrawn.x", b"{not json")
        await eventually(lambda: replica.decide(REQUEST).reason == STALE_REASON, within=2.0)
        await asyncio.sleep(0.5)
        assert replica.decide(REQUEST).reason == STALE_REASON


async def test_waits_for_a_stream_that_does_not_exist_yet(js: JetStreamContext) -> None:
    replica = ConsentReplica(
        js,
        stream="CONSENT_LATER",
        max_staleness=timedelta(seconds=1),
        probe_interval=timedelta(seconds=0.05),
    )
    async with running(replica):
        await asyncio.sleep(0.2)
        assert not replica.ready
        await js.add_stream(name="CONSENT_LATER", subjects=["later.consent.>"])
        await eventually(lambda: replica.ready)


async def test_rebuilds_when_the_stream_is_recreated(js: JetStreamContext) -> None:
    given = consent_given(CHILD)
    await publish(js, given)
    await publish(js, consent_given(uuid4()))
    replica = fast_replica(js, staleness=0.5)
    applied: list[int] = []
    replica.on_applied(lambda _envelope, seq: applied.append(seq))
    async with running(replica):
        await eventually(lambda: replica.decide(REQUEST).permit)
        assert applied == [1, 2]
        await recreate_stream(js)
        other = consent_given(CHILD, recipients=("school",))
        await publish(js, other)
        # the old consent is gone from the new stream: health is denied, school permitted
        await eventually(lambda: not replica.decide(REQUEST).permit, within=5.0)
        school = DecisionRequest(
            CHILD, "send", "school", DataClass.STORY, Purpose.HEALTH_CARE, REQUEST.at
        )
        await eventually(lambda: replica.decide(school).permit, within=5.0)
        assert replica.decide(school).reference == other.consent_id


async def test_an_event_applied_while_a_probe_is_answered_is_no_rebuild(
    js: JetStreamContext, caplog: pytest.LogCaptureFixture
) -> None:
    await publish(js, consent_given(CHILD))
    await publish(js, consent_given(uuid4()))
    replica, hook = hooked_replica(js)
    applied: list[int] = []
    replica.on_applied(lambda _envelope, seq: applied.append(seq))
    async with running(replica):
        await eventually(lambda: replica.ready and replica.applied_sequence == 2)

        async def apply_one_more_first(info: Any) -> Any:
            # The server answered "last sequence 2"; sequence 3 is published and applied
            # before the replica reads that answer.
            assert info.state.last_seq == 2
            await publish(js, consent_given(uuid4()))
            await eventually(lambda: replica.applied_sequence == 3)
            return info

        hook.after = apply_one_more_first
        await asyncio.wait_for(hook.answered.wait(), 5)
        await publish(js, consent_given(uuid4()))
        await eventually(lambda: replica.applied_sequence == 4)
        await asyncio.sleep(0.2)  # a few more probes
        assert applied == [1, 2, 3, 4]  # read once, in order: never rebuilt
        assert replica.ready
        assert replica.decide(REQUEST).permit
    assert "went back" not in caplog.text


async def test_a_last_sequence_below_what_was_applied_rebuilds(
    js: JetStreamContext, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(3):
        await publish(js, consent_given(uuid4()))
    replica, hook = hooked_replica(js)
    applied: list[int] = []
    replica.on_applied(lambda _envelope, seq: applied.append(seq))
    async with running(replica):
        await eventually(lambda: replica.ready and replica.applied_sequence == 3)

        async def fewer_messages(info: Any) -> Any:
            # The same stream (same creation time) now ends before what was applied, e.g. a
            # store restored from an older backup.
            return dataclasses.replace(info, state=dataclasses.replace(info.state, last_seq=1))

        hook.after = fewer_messages
        await asyncio.wait_for(hook.answered.wait(), 5)
        await eventually(lambda: applied[3:] == [1, 2, 3])  # forgotten and read again
        await eventually(lambda: replica.ready)
    assert "went back from sequence 3 to 1" in caplog.text


async def test_a_recreated_stream_rebuilds_even_when_it_is_longer(js: JetStreamContext) -> None:
    await publish(js, consent_given(CHILD))
    replica, hook = hooked_replica(js)
    applied: list[int] = []
    replica.on_applied(lambda _envelope, seq: applied.append(seq))
    async with running(replica):
        await eventually(lambda: replica.decide(REQUEST).permit)
        others = [consent_given(uuid4()) for _ in range(3)]

        async def recreate() -> None:
            # Recreated and refilled past what the replica applied: only `created` tells.
            await recreate_stream(js)
            for event in others:
                await publish(js, event)

        async def unchanged(info: Any) -> Any:
            return info

        hook.before, hook.after = recreate, unchanged
        await asyncio.wait_for(hook.answered.wait(), 5)
        await eventually(lambda: applied == [1, 1, 2, 3] and replica.ready)
        # the consent of the old stream is gone
        assert not replica.decide(REQUEST).permit


async def test_a_stream_recreated_while_resubscribing_rebuilds(
    js: JetStreamContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="oneplan_sharing.replica")
    await publish(js, consent_given(CHILD))
    replica, hook = hooked_replica(js)
    applied: list[int] = []
    replica.on_applied(lambda _envelope, seq: applied.append(seq))
    async with running(replica):
        await eventually(lambda: replica.decide(REQUEST).permit)
        # The replica falls behind (it knows of sequence 2 but gets no messages) ...
        hook.deliveries_lost = True
        await publish(js, consent_given(uuid4()))

        async def seen(info: Any) -> Any:
            assert info.state.last_seq == 2
            return info

        hook.after = seen
        await asyncio.wait_for(hook.answered.wait(), 5)
        # ... the stream is lost, so resubscribing after the stall finds no stream ...
        await js.delete_stream(STREAM)

        def resubscribing_found_nothing() -> bool:
            messages = [record.getMessage() for record in caplog.records]
            stalled = [i for i, m in enumerate(messages) if "stalled at 1" in m]
            return bool(stalled) and any("does not exist" in m for m in messages[stalled[0] :])

        await eventually(resubscribing_found_nothing, within=10)
        # ... and it comes back with other contents.
        await create_stream(js)
        school = consent_given(CHILD, recipients=("school",))
        await publish(js, school)
        hook.deliveries_lost = False
        school_request = dataclasses.replace(REQUEST, recipient_agency="school")
        await eventually(lambda: replica.decide(school_request).permit)
        assert applied == [1, 1]  # the new stream read from its start
        assert not replica.decide(REQUEST).permit  # the old stream's consent is forgotten
    assert "was recreated" in caplog.text


async def test_waiting_for_a_stream_is_said_once_not_every_tick(
    js: JetStreamContext, caplog: pytest.LogCaptureFixture
) -> None:
    replica = ConsentReplica(
        js,
        stream="CONSENT_QUIET",
        max_staleness=timedelta(seconds=1),
        probe_interval=timedelta(seconds=0.02),
    )
    with caplog.at_level(logging.INFO, logger="oneplan_sharing.replica"):
        async with running(replica):
            await asyncio.sleep(0.5)  # some twenty ticks
            await js.add_stream(name="CONSENT_QUIET", subjects=["quiet.consent.>"])
            await eventually(lambda: replica.ready)
    messages = [record.getMessage() for record in caplog.records]
    assert sum("does not exist yet" in m for m in messages) == 1, messages
    assert any("reached stream CONSENT_QUIET again" in m for m in messages)
