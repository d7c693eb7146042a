"""End-to-end latency at a steady rate: from a command's scheduled start to the moment the
other service's handler has committed it.

Every contender runs the same open-loop schedule: in a round, command i is due at
t0 + i / RATE (RATE commands/s for SECONDS seconds), whatever happened to the commands before
it. WRITERS senders (a service's concurrent requests) take the commands in schedule order and
each starts its command when it is due; when every sender is still busy, the next command
starts late, and that wait counts in its latency (no coordinated omission). A latency runs
from the command's *scheduled* time (not from when a sender got round to it, not from a
commit or a publish call) to the receiving side's end below, both read from
``time.perf_counter`` in this one process; every contender's percentiles come from the same
nearest-rank function over all of its commands. A warm-up per round (one command per sender
at once: pool connections open, consumer created, first pull waiting) is not reported.

Contenders, each round on a fresh stream (and fresh tables):

* OnePlan: at its scheduled time the command builds a contribution event (a new record),
  opens a transaction, ``EventStore.append``s it (event row + outbox row), commits and wakes
  the relay; an ``OutboxRelay`` publishes it to the service's partitioned JetStream stream; a
  ``DurableConsumer`` (the other service: its own pinned pull consumers, engine and pool, a
  reaction registered with ``@handles``) applies it into an ORM projection row plus its
  record's position and commits. Ends when that commit returns.
* raw publish -> DurableConsumer: at its scheduled time, raw nats-py ``js.publish`` (awaiting
  the ack) of the same event into the same kind of DurableConsumer. Ends when the consumer's
  commit returns: the consumer's share of the OnePlan figure.
* raw nats-py (baseline): at its scheduled time, raw ``js.publish`` (awaiting the ack) to a
  raw pull consumer (``fetch(100)`` + ``ack``). Ends when ``fetch`` returns the message.

Both services' engines are made as the services make them (``oneplan_kit.db.create_engine``:
its default pool, pre-ping on checkout), on the benchmark database. Everything shares this
process's event loop, so the senders, relay and consumers compete for one core.

Reported per contender: p50, p90, p99 and max latency; the commands that started more than
BENCH_LATE_MS after their scheduled time, with the largest lag, and how many of them found
no sender free when they fell due ("queued": the senders fell behind; the other late starts
are the event loop waking late); the
achieved rate (commands / (last start - t0 + 1/RATE), which is RATE when nothing started
late) and the handled rate (commands / (last handled - t0)). Target: OnePlan p99 < 50 ms at
500 commands/s.

    uv run python bench/bench_latency.py
    # BENCH_DATABASE_URL, BENCH_NATS_URL, BENCH_ROUNDS (3), BENCH_RATE (500),
    # BENCH_SECONDS (8), BENCH_WRITERS (4), BENCH_LATE_MS (1); BENCH_QUICK=1: 1 round of 1 s
    # at 100/s
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import nats
from nats.aio.client import Client
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).parent))

from _common import QUICK, bench_nats, connect, float_setting, percentile, setting
from bench_consumer import DATABASE_URL, Base, BenchService, Contribution, fresh_engine

from oneplan_events.catalogue import ContributionSubmitted
from oneplan_events.consumer import DurableConsumer
from oneplan_events.reactions import Delivery, Reactions
from oneplan_events.relay import OutboxRelay
from oneplan_events.store import EventStore
from oneplan_kit.db import create_engine

ROUNDS = setting("BENCH_ROUNDS", 3, 1)
RATE = setting("BENCH_RATE", 500, 100)
SECONDS = float_setting("BENCH_SECONDS", 8, 1)
WRITERS = setting("BENCH_WRITERS", 4, 4)
LATE = float(os.environ.get("BENCH_LATE_MS", "1")) / 1000
COMMANDS = int(RATE * SECONDS)
TARGET_P99 = 0.050

#: Runs command n (-1 for the warm-up) and returns the id of the event it produced.
Command = Callable[[int], Awaitable[str]]
#: event id -> perf_counter when the receiving side was done with it
Handled = dict[str, float]


# -- the schedule and its figures -------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """What the senders did: command i was due at ``t0 + i / RATE`` and started at
    ``started[i]``; ``ids[i]`` is its event; ``queued[i]`` says no sender was free when it
    fell due (the senders were behind the schedule)."""

    t0: float
    started: list[float]
    ids: list[str]
    queued: list[bool]

    def due(self, i: int) -> float:
        return self.t0 + i / RATE


async def run_schedule(command: Command) -> Schedule:
    """Start COMMANDS commands open-loop at RATE per second over WRITERS senders."""
    t0 = time.perf_counter() + 0.01  # every sender is waiting before the first is due
    started = [0.0] * COMMANDS
    ids = [""] * COMMANDS
    queued = [False] * COMMANDS
    taken = 0

    async def sender() -> None:
        nonlocal taken
        while taken < COMMANDS:
            i, taken = taken, taken + 1
            delay = t0 + i / RATE - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                queued[i] = True
            started[i] = time.perf_counter()
            ids[i] = await command(i)

    await asyncio.gather(*(sender() for _ in range(WRITERS)))
    return Schedule(t0, started, ids, queued)


@dataclass(frozen=True)
class RoundFigures:
    """One contender's round: latencies (s) from each command's scheduled time."""

    latencies: list[float]
    late: int
    queued: int
    max_lag: float
    achieved_rate: float
    handled_rate: float

    @classmethod
    def of(cls, schedule: Schedule, handled: Handled) -> RoundFigures:
        missing = [event_id for event_id in schedule.ids if event_id not in handled]
        if missing:
            raise RuntimeError(f"{len(missing)} of {COMMANDS} commands were never handled")
        lags = [start - schedule.due(i) for i, start in enumerate(schedule.started)]
        done = [handled[event_id] for event_id in schedule.ids]
        return cls(
            latencies=[end - schedule.due(i) for i, end in enumerate(done)],
            late=sum(1 for lag in lags if lag > LATE),
            queued=sum(
                1
                for lag, queued in zip(lags, schedule.queued, strict=True)
                if queued and lag > LATE
            ),
            max_lag=max(lags),
            achieved_rate=COMMANDS / (max(schedule.started) - schedule.t0 + 1 / RATE),
            handled_rate=COMMANDS / (max(done) - schedule.t0),
        )

    def at(self, q: float) -> float:
        """The q-th percentile latency in ms."""
        return percentile(self.latencies, q) * 1000


async def wait_for(done: Callable[[], bool], limit: float) -> None:
    deadline = time.perf_counter() + limit
    while not done():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"not done within {limit}s")
        await asyncio.sleep(0.005)


async def measure(command: Command, handled: Handled) -> RoundFigures:
    """Warm-up (not reported): one command per sender at once, so the pools hold the
    connections a running service would; then the schedule; figures once all are handled."""
    warm_up = await asyncio.gather(*(command(-1) for _ in range(WRITERS)))
    await wait_for(lambda: all(event_id in handled for event_id in warm_up), limit=30)
    handled.clear()
    schedule = await run_schedule(command)
    await wait_for(lambda: len(handled) >= COMMANDS, limit=60 + SECONDS)
    return RoundFigures.of(schedule, handled)


# -- the receiving sides -----------------------------------------------------------------------


class StampingSession(Session):
    """A consumer session that records when the events its handlers applied were committed."""


@event.listens_for(StampingSession, "after_commit")
def _stamp(session: Session) -> None:
    now = time.perf_counter()
    handled: Handled = session.info["handled"]
    for event_id in session.info.pop("applied", ()):
        handled[event_id] = now


def projection() -> Reactions:
    """The receiving service's reaction: an ORM projection row, and the event noted so the
    session's commit stamps when it was done."""
    reactions = Reactions()

    @reactions.handles(ContributionSubmitted)
    async def project(event: ContributionSubmitted, delivery: Delivery) -> None:
        session: AsyncSession = delivery.session
        envelope_id = delivery.envelope.id
        session.add(
            Contribution(event_id=envelope_id, child_id=str(event.child_id), title="latency")
        )
        session.info.setdefault("applied", []).append(envelope_id)

    return reactions


@dataclass(frozen=True)
class Producer:
    """The producing service's stream and engine."""

    service: BenchService
    engine: AsyncEngine


@contextlib.asynccontextmanager
async def consuming_service(nc: Client, handled: Handled) -> AsyncIterator[Producer]:
    """A fresh stream and tables, and a DurableConsumer stamping ``handled`` at each commit,
    with an engine of its own (the other service's)."""
    service = await BenchService.create(nc)
    tables = await fresh_engine(Base.metadata)
    await tables.dispose()
    producer_engine = create_engine(DATABASE_URL)
    consumer_engine = create_engine(DATABASE_URL)
    consumer = DurableConsumer(
        nc,
        async_sessionmaker(
            consumer_engine,
            expire_on_commit=False,
            sync_session_class=StampingSession,
            info={"handled": handled},
        ),
        name="projector",
        stream=service.stream,
        reactions=projection(),
        catalogue=service.catalogue,
        work_factory=service.work,
    )
    task = asyncio.create_task(consumer.run())
    try:
        yield Producer(service, producer_engine)
    finally:
        await consumer.stop()
        await task
        await producer_engine.dispose()
        await consumer_engine.dispose()
        await service.delete(nc)


# -- the contenders ----------------------------------------------------------------------------


async def oneplan(nc: Client) -> RoundFigures:
    """Command transaction (append + outbox) -> OutboxRelay -> DurableConsumer commit."""
    handled: Handled = {}
    js = nc.jetstream()
    async with consuming_service(nc, handled) as producer:
        store = EventStore()
        relay = OutboxRelay(producer.engine, js, name=f"latency-{uuid.uuid4().hex[:6]}")
        relay_task = asyncio.create_task(relay.run())

        async def command(n: int) -> str:
            envelope = producer.service.envelope(n)  # a new record each
            assert envelope.subject is not None
            async with producer.engine.begin() as connection:
                await store.append(connection, envelope.subject, 0, [envelope])
            relay.wake()
            return envelope.id

        try:
            return await measure(command, handled)
        finally:
            relay.stop()
            await relay_task


async def raw_into_consumer(nc: Client) -> RoundFigures:
    """Raw js.publish -> DurableConsumer commit (the consumer's share)."""
    handled: Handled = {}
    js = nc.jetstream()
    async with consuming_service(nc, handled) as producer:

        async def command(n: int) -> str:
            envelope = producer.service.envelope(n)
            headers, body = envelope.to_nats()
            await js.publish(envelope.nats_subject, body, headers=headers)
            return envelope.id

        return await measure(command, handled)


async def raw_nats(nc: Client) -> RoundFigures:
    """Raw js.publish -> raw pull consumer's fetch returning the message."""
    handled: Handled = {}
    js = nc.jetstream()
    service = await BenchService.create(nc)
    subscription = await js.pull_subscribe(
        f"oneplan.{service.name}.>", durable="raw", stream=service.stream
    )

    async def receive() -> None:
        while True:
            with contextlib.suppress(nats.errors.TimeoutError):
                messages = await subscription.fetch(100, timeout=0.05)
                now = time.perf_counter()
                for msg in messages:
                    handled[(msg.headers or {})["Nats-Msg-Id"]] = now
                    await msg.ack()

    async def command(n: int) -> str:
        envelope = service.envelope(n)
        headers, body = envelope.to_nats()
        await js.publish(envelope.nats_subject, body, headers=headers)
        return envelope.id

    receiver = asyncio.create_task(receive())
    try:
        return await measure(command, handled)
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiver
        await service.delete(nc)


RAW = "raw nats-py publish -> fetch (baseline)"
ONEPLAN = "OnePlan: command transaction -> relay -> DurableConsumer commit"
CONTENDERS: dict[str, Callable[[Client], Awaitable[RoundFigures]]] = {
    RAW: raw_nats,
    "raw nats-py publish -> DurableConsumer commit": raw_into_consumer,
    ONEPLAN: oneplan,
}


# -- the run -----------------------------------------------------------------------------------


async def main() -> None:
    async with bench_nats() as url:
        nc = await connect(url)
        try:
            await run(nc)
        finally:
            await nc.close()


async def run(nc: Client) -> None:
    results: dict[str, list[RoundFigures]] = {name: [] for name in CONTENDERS}
    print(
        f"latency benchmark: {RATE} commands/s for {SECONDS:g} s per round ({COMMANDS} "
        f"commands), {WRITERS} senders, {ROUNDS} rounds; latency from each command's "
        "scheduled start"
    )
    for round_number in range(1, ROUNDS + 1):
        for name, contender in CONTENDERS.items():
            figures = await contender(nc)
            results[name].append(figures)
            print(f"  round {round_number}: {name}: {describe(figures)}", flush=True)
    print_latency(results)


def describe(figures: RoundFigures) -> str:
    return (
        f"p50 {figures.at(50):.1f} ms, p90 {figures.at(90):.1f} ms, p99 {figures.at(99):.1f} ms, "
        f"max {max(figures.latencies) * 1000:.1f} ms; late starts {figures.late} "
        f"(no sender free {figures.queued}; max lag {figures.max_lag * 1000:.1f} ms); "
        f"achieved {figures.achieved_rate:,.0f}/s, handled {figures.handled_rate:,.0f}/s"
    )


def print_latency(results: dict[str, list[RoundFigures]]) -> None:
    """Medians over the rounds of each contender's percentiles; late starts summed."""

    def median(name: str, of: Callable[[RoundFigures], float]) -> float:
        return statistics.median(of(figures) for figures in results[name])

    raw50, raw99 = median(RAW, lambda f: f.at(50)), median(RAW, lambda f: f.at(99))
    quick = " [BENCH_QUICK: tiny sizes, figures meaningless]" if QUICK else ""
    print(
        f"\nLatency from the command's scheduled start to the receiving handler's commit, "
        f"{RATE} commands/s, {WRITERS} senders (median of {ROUNDS} rounds; target OnePlan p99 "
        f"< {TARGET_P99 * 1000:.0f} ms){quick}"
    )
    header = ["p50 ms", "p99 ms", "p50 vs raw", "p99 vs raw", "late", "queued", "achieved/s"]
    print(f"{'contender':<64}" + "".join(f"{column:>12}" for column in header))
    for name in results:
        p50, p99 = median(name, lambda f: f.at(50)), median(name, lambda f: f.at(99))
        late = sum(figures.late for figures in results[name])
        queued = sum(figures.queued for figures in results[name])
        achieved = median(name, lambda f: f.achieved_rate)
        cells = [f"{p50:.1f}", f"{p99:.1f}", f"{p50 / raw50:.1f}x", f"{p99 / raw99:.1f}x"]
        cells += [f"{late}/{COMMANDS * ROUNDS}", f"{queued}", f"{achieved:,.0f}"]
        print(f"{name:<64}" + "".join(f"{cell:>12}" for cell in cells))
    oneplan_p99 = median(ONEPLAN, lambda f: f.at(99)) / 1000
    print(f"target OnePlan p99 < 50 ms: {'MET' if oneplan_p99 < TARGET_P99 else 'MISSED'}")


if __name__ == "__main__":
    asyncio.run(main())
