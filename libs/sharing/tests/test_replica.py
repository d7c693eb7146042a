"""ConsentReplica against a real nats-server: catch-up, live updates, fail closed when stale."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any
from uuid import uuid4

import nats
import pytest
from nats.js import JetStreamContext
from sharing_factories import T0, consent_given, envelope_of

from oneplan_events.catalogue import DataClass, Event
from oneplan_events.streams import ensure_stream, service_stream
from oneplan_sharing import STALE_REASON, ConsentReplica, DecisionRequest, Purpose
from oneplan_sharing.facts import ConsentWithdrawal

STREAM = "CONSENT"
CHILD = uuid4()
REQUEST = DecisionRequest(
    CHILD, "send", "health", DataClass.STORY, Purpose.HEALTH_CARE, T0 + timedelta(days=1)
)


async def eventually(predicate: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def publish(js: JetStreamContext, event: Event) -> None:
    envelope = envelope_of(event)
    headers, body = envelope.to_nats()
    await js.publish(envelope.nats_subject, body, headers=headers)


@pytest.fixture
async def server(nats_server_factory: Callable[..., Any]) -> AsyncIterator[Any]:
    process = nats_server_factory()
    yield process
    process.stop()


@pytest.fixture
async def js(server: Any) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(
        server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1, connect_timeout=2
    )
    context = nc.jetstream(timeout=1.0)
    await ensure_stream(context, service_stream("consent"))
    yield context
    await nc.close()


@contextlib.asynccontextmanager
async def running(replica: ConsentReplica) -> AsyncIterator[ConsentReplica]:
    task = asyncio.create_task(replica.run())
    try:
        yield replica
    finally:
        await replica.stop()
        await asyncio.wait_for(task, 5)


def fast_replica(js: JetStreamContext, staleness: float = 5.0) -> ConsentReplica:
    return ConsentReplica(
        js,
        max_staleness=timedelta(seconds=staleness),
        probe_interval=timedelta(seconds=0.05),
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
        await js.delete_stream(STREAM)
        await ensure_stream(js, service_stream("consent"))
        other = consent_given(CHILD, recipients=("school",))
        await publish(js, other)
        # the old consent is gone from the new stream: health is denied, school permitted
        await eventually(lambda: not replica.decide(REQUEST).permit, within=5.0)
        school = DecisionRequest(
            CHILD, "send", "school", DataClass.STORY, Purpose.HEALTH_CARE, REQUEST.at
        )
        await eventually(lambda: replica.decide(school).permit, within=5.0)
        assert replica.decide(school).reference == other.consent_id
