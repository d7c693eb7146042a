"""Rebuilding a read model from the streams: ``oneplan rebuild SERVICE [READ_MODEL]``.

A :class:`ReadModel` names tables a service fills only from consumed events, and the
subscriptions whose handlers fill them. A rebuild empties those tables, then reads every
stream the subscriptions read, from its first message up to its last one at the start, and
runs each event through the same handlers, a page per transaction, with a progress line.

It runs beside the live service: the handlers of a rebuildable read model are idempotent
and order-safe (a row remembers the stream sequence it was last written from and ignores an
older one), so the live consumers and the rebuild converge on the same rows whichever
applies an event first, and an event the live consumers applied before the tables were
emptied is read again by the rebuild. Events that cannot be applied (undecodable, or found
unapplicable by their handler) are counted and skipped: the live consumer parked them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout
from nats.js import api
from nats.js.errors import NotFoundError
from sqlalchemy import delete, table, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oneplan_events._apply import Applier, Item
from oneplan_events._jsapi import stream_names
from oneplan_events.catalogue import Catalogue, Event
from oneplan_events.envelope import Envelope
from oneplan_events.reactions import Unapplicable
from oneplan_events.uow import UnitOfWork

__all__ = [
    "ReadModel",
    "RebuildProgress",
    "RebuildReport",
    "rebuild_consumer",
    "rebuild_filter",
    "rebuild_read_model",
]

_PAGE: Final = 500
_ANALYZE_EVERY: Final = 20  # pages


@dataclass(frozen=True)
class ReadModel:
    """Tables filled only by ``subscriptions``' handlers, which can be rebuilt from the streams."""

    name: str
    tables: Sequence[str]  # the table names, emptied first
    subscriptions: Sequence[Any]  # oneplan_kit.service.Subscription (imported late: no cycle)
    prefetch: Callable[[AsyncSession, Sequence[Event]], Awaitable[None]] | None = None
    """Loads, before a page is applied in its session, the rows its events will write (a
    query a table, not a round trip an event); the handlers must look there first."""


@dataclass
class RebuildReport:
    """What a rebuild read and did, per stream."""

    applied: int = 0
    passed: int = 0
    skipped: int = 0
    streams: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    seconds: float = 0.0


RebuildProgress = Callable[[str, int, int], None]
"""Called after each page with the stream, the messages read from it so far, and its total."""


async def rebuild_read_model(
    model: ReadModel,
    *,
    service: str,
    nc: Client,
    sessionmaker: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    work_factory: Callable[[AsyncSession, Envelope], UnitOfWork],
    progress: RebuildProgress | None = None,
) -> RebuildReport:
    """Empty ``model``'s tables and refill them from every stream its subscriptions read."""
    started = time.perf_counter()
    report = RebuildReport()
    async with sessionmaker() as session, session.begin():
        for name in model.tables:
            await session.execute(delete(table(name)))
    js = nc.jetstream()
    for subscription in model.subscriptions:
        applier = Applier(
            name=f"{service}_rebuild_{model.name}",
            sessionmaker=sessionmaker,
            catalogue=catalogue,
            reactions=subscription.reactions,
            work_factory=work_factory,
            strict_order=False,
            max_deliver=1,
            backoff=(0,),
        )
        subject = rebuild_filter(subscription)
        for stream in await _streams_of(nc, subscription, subject):
            read = await _replay_stream(
                js, service, model, stream, subject, applier, report, progress
            )
            report.streams[stream] = report.streams.get(stream, 0) + read
    report.seconds = time.perf_counter() - started
    return report


def rebuild_filter(subscription: Any) -> str:
    """The subjects a rebuild reads for ``subscription`` (the deployment grants its consumer
    on exactly these: ``oneplan_kit.deployment``)."""
    if subscription.types:
        return f"oneplan.*.{subscription.types}.>"
    return f"oneplan.{subscription.reads}.>"


def rebuild_consumer(service: str, model: ReadModel, stream: str) -> str:
    """The name of the rebuild's consumer on ``stream`` (under the service's prefix)."""
    return f"{service}_rebuild_{model.name}_{stream.lower()}"


async def _streams_of(nc: Client, subscription: Any, subject: str) -> list[str]:
    if subscription.stream is not None:
        return [subscription.stream]
    return sorted(await stream_names(nc, subject))


async def _replay_stream(
    js: Any,
    service: str,
    model: ReadModel,
    stream: str,
    subject: str,
    applier: Applier,
    report: RebuildReport,
    progress: RebuildProgress | None,
) -> int:
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        report.missing.append(stream)  # its service has not created it yet: nothing to read
        return 0
    last = info.state.last_seq
    if info.state.messages == 0:
        return 0
    # A named consumer under the service's prefix (what its NATS user may create), without
    # acknowledgements, removed when done and by the server if the rebuild dies.
    name = rebuild_consumer(service, model, stream)
    config = api.ConsumerConfig(
        name=name,
        ack_policy=api.AckPolicy.NONE,
        deliver_policy=api.DeliverPolicy.ALL,
        replay_policy=api.ReplayPolicy.INSTANT,
        filter_subject=subject,
        inactive_threshold=120.0,
        max_waiting=1,
    )
    with contextlib.suppress(Exception):
        await js.delete_consumer(stream, name)
    sub = await js.pull_subscribe(subject, durable=name, stream=stream, config=config)
    read = 0
    pages = 0
    try:
        if (await sub.consumer_info()).num_pending == 0:
            return 0  # nothing in this stream for the filter
        while True:
            try:
                messages = await sub.fetch(_PAGE, timeout=2.0)
            except NatsTimeout:
                break
            read += len(messages)
            items = [applier.read(m) for m in messages]
            await _apply_page(applier, items, report, model.prefetch)
            pages += 1
            if pages % _ANALYZE_EVERY == 1:
                await _analyze(applier.sessionmaker, model.tables)
            if progress is not None:
                progress(stream, read, info.state.messages)
            # Nothing left for the filter (num_pending), or past the last message at the start.
            metadata = messages[-1].metadata
            if metadata.num_pending == 0 or metadata.sequence.stream >= last:
                break
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
        with contextlib.suppress(Exception):
            await js.delete_consumer(stream, name)
    return read


async def _analyze(sessionmaker: async_sessionmaker[AsyncSession], tables: Sequence[str]) -> None:
    """Fresh planner statistics for the tables being refilled (PostgreSQL): emptied, they
    look empty to the planner until autovacuum gets round to them, and the handlers' and
    prefetch's lookups by key would scan the growing tables instead of their indexes."""
    async with sessionmaker() as session, session.begin():
        if session.get_bind().dialect.name != "postgresql":
            return
        for name in tables:
            await session.execute(text(f'ANALYZE "{name}"'))


async def _apply_page(
    applier: Applier,
    items: list[Item],
    report: RebuildReport,
    prefetch: Callable[[AsyncSession, Sequence[Event]], Awaitable[None]] | None = None,
) -> None:
    wanted = [item for item in items if item.handler is not None]
    report.passed += len(items) - len(wanted) - sum(1 for i in items if i.problem is not None)
    report.skipped += sum(1 for item in items if item.problem is not None)
    try:
        async with applier.sessionmaker() as session, session.begin():
            if prefetch is not None:
                await prefetch(session, [item.event for item in wanted if item.event is not None])
            for item in wanted:
                await applier.apply_one(session, item)
        report.applied += len(wanted)
        return
    except Unapplicable:
        pass
    # One of the page's events is unapplicable: apply the page one event at a time.
    for item in wanted:
        try:
            async with applier.sessionmaker() as session, session.begin():
                await applier.apply_one(session, item)
            report.applied += 1
        except Unapplicable:
            report.skipped += 1
        await asyncio.sleep(0)
