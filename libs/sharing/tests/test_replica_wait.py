"""ConsentReplica.wait_until_applied: a read carrying a consistency token waits for it."""

from __future__ import annotations

import asyncio
import random
import time
from uuid import uuid4

from nats.js import JetStreamContext
from replica_testing import eventually, fast_replica, publish, recreate_stream, running
from sharing_factories import consent_given

from oneplan_sharing import ConsentReplica


async def wait_noting_progress(
    replica: ConsentReplica, sequence: int, within: float
) -> tuple[bool, int]:
    """Wait, then say what the replica had applied when the waiter was answered."""
    released = await replica.wait_until_applied(sequence, within)
    return released, replica.applied_sequence


async def test_a_sequence_already_applied_is_answered_at_once(js: JetStreamContext) -> None:
    for _ in range(3):
        await publish(js, consent_given(uuid4()))
    replica = fast_replica(js)
    async with running(replica):
        await eventually(lambda: replica.applied_sequence == 3)
        for sequence in (0, 1, 3):
            assert await replica.wait_until_applied(sequence, timeout=0)
        assert not await replica.wait_until_applied(4, timeout=0)
        assert len(replica._waiters) == 0


async def test_a_waiter_is_released_by_the_event_it_waits_for(js: JetStreamContext) -> None:
    replica = fast_replica(js)
    async with running(replica):
        await eventually(lambda: replica.ready)
        waiter = asyncio.create_task(wait_noting_progress(replica, 2, within=5))
        await asyncio.sleep(0.1)
        first = await publish(js, consent_given(uuid4()))
        await eventually(lambda: replica.applied_sequence == first)
        await asyncio.sleep(0.1)
        assert not waiter.done()  # sequence 1 does not release a wait for 2
        token = await publish(js, consent_given(uuid4()))
        assert token == 2
        started = time.monotonic()
        assert await waiter == (True, 2)
        assert time.monotonic() - started < 1.0  # released by the event, not by a timeout


async def test_a_waiter_gives_up_after_its_timeout(js: JetStreamContext) -> None:
    await publish(js, consent_given(uuid4()))
    replica = fast_replica(js)
    async with running(replica):
        await eventually(lambda: replica.applied_sequence == 1)
        started = time.monotonic()
        assert not await replica.wait_until_applied(2, timeout=0.2)
        assert 0.2 <= time.monotonic() - started < 1.0
        assert len(replica._waiters) == 0


async def test_hundreds_of_waiters_are_each_released_in_turn(js: JetStreamContext) -> None:
    events = 40
    rng = random.Random(7)
    replica = fast_replica(js)
    async with running(replica):
        await eventually(lambda: replica.ready)
        reachable = [rng.randint(1, events) for _ in range(600)]
        waiters = [
            asyncio.create_task(wait_noting_progress(replica, seq, within=10)) for seq in reachable
        ]
        never = [
            asyncio.create_task(wait_noting_progress(replica, events + 1 + i % 5, within=0.5))
            for i in range(200)
        ]
        await asyncio.sleep(0.05)
        assert len(replica._waiters) == 800
        for _ in range(events):
            await publish(js, consent_given(uuid4()))
        answers = await asyncio.gather(*waiters)
        for seq, (released, applied_then) in zip(reachable, answers, strict=True):
            assert released
            assert applied_then >= seq  # never released before its sequence was applied
        assert [released for released, _ in await asyncio.gather(*never)] == [False] * 200
        assert len(replica._waiters) == 0
        # waiters that gave up do not pile up in the queue
        assert len(replica._waiters._heap) < 64


async def test_a_rebuild_releases_nobody_and_the_rebuilt_replica_does(
    js: JetStreamContext,
) -> None:
    for _ in range(3):
        await publish(js, consent_given(uuid4()))
    replica = fast_replica(js)
    applied: list[int] = []
    replica.on_applied(lambda _envelope, seq: applied.append(seq))
    async with running(replica):
        await eventually(lambda: replica.ready and replica.applied_sequence == 3)
        four = asyncio.create_task(wait_noting_progress(replica, 4, within=10))
        six = asyncio.create_task(wait_noting_progress(replica, 6, within=1.5))
        await asyncio.sleep(0.05)
        await recreate_stream(js)
        await publish(js, consent_given(uuid4()))
        await eventually(lambda: applied == [1, 2, 3, 1])  # rebuilt from the new stream
        await asyncio.sleep(0.1)
        assert not four.done()
        assert not six.done()
        # a sequence the old stream had reached is not applied by the rebuilt replica yet
        assert not await replica.wait_until_applied(3, timeout=0.05)
        for _ in range(3):
            await publish(js, consent_given(uuid4()))
        assert await four == (True, 4)
        started = time.monotonic()
        released, applied_then = await six
        assert not released  # the new stream stops at 4: the waiter for 6 times out
        assert applied_then == 4
        assert time.monotonic() - started < 1.5
        assert len(replica._waiters) == 0
