"""The outbox relay: publishes committed outbox rows to JetStream, in order per stream.

Guarantees (the reasoning is in ``docs/event-store.md``):

* **Nothing uncommitted is published**: the relay only reads committed outbox rows.
* **Commit order, gap-safe**: rows are read in the store's commit order, and on PostgreSQL
  only once every transaction that could commit ahead of them has finished (the rule of
  ``EventStore.read_all``, see :mod:`oneplan_events._outbox`). Outbox ids are taken at insert,
  not at commit, so walking them would pass a row whose transaction commits late, and then
  publish a later version of its stream first. The price: a long-open writing transaction
  anywhere in the PostgreSQL cluster holds the relay back until it ends; it never makes the
  relay skip a row.
* **Nothing committed is lost**: a row is marked published only after JetStream acknowledged
  it; a crash between the ack and the mark republishes it, and JetStream drops the repeat
  within its duplicate window because ``Nats-Msg-Id`` is the event id.
* **In order per stream**: publishes are pipelined across streams, but a stream's next event
  is sent only after its previous one was acknowledged (stored), and when a publish fails the
  rest of that stream waits for the retry. So a stream's events are stored in version order
  even when a connection drops with messages in flight.
* **One publisher per database**: a lease row (``relay_lease``) names the relay allowed to
  publish; others stand by and take over when it expires or is released.
* **Outages**: a NATS or database error makes the relay back off (bounded exponential) and
  resume where the outbox says it stopped; rows are never skipped or dropped. A row JetStream
  keeps refusing (no stream for its subject, say) blocks the relay, visibly, in ``stats``.

Run one in-process (the service lifespan) or as ``python -m oneplan_events.relay``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import nats
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from oneplan_events._outbox import OutboxReader, OutboxRow, mark_published
from oneplan_events._publisher import PublishSession
from oneplan_events._relay_lease import Lease
from oneplan_events.schema import NOTIFY_CHANNEL

__all__ = ["OutboxRelay", "RelayStats", "main"]

log = logging.getLogger(__name__)

# With LISTEN/NOTIFY the relay is woken by commits; this poll is only a safety net.
_LISTENING_POLL: Final = 1.0
# How long one drain runs before the pipeline is flushed and the counters refreshed.
_DRAIN_SECONDS: Final = 1.0
# Committed rows held back by an older open transaction: look again after this, doubling.
_HELD_BACK_PAUSE: Final = 0.005


@dataclass
class RelayStats:
    """Counters for readiness checks and metrics."""

    published_total: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None
    oldest_unpublished_at: datetime | None = None
    holds_lease: bool = False
    consecutive_failures: int = 0

    def lag(self, now: datetime | None = None) -> timedelta:
        """Age of the oldest row known to be waiting (zero when the outbox is drained)."""
        if self.oldest_unpublished_at is None:
            return timedelta(0)
        return max(timedelta(0), (now or datetime.now(UTC)) - self.oldest_unpublished_at)


class OutboxRelay:
    """Publish the outbox of ``engine``'s database to JetStream until stopped.

    ``batch`` rows are read at a time; up to ``in_flight`` publishes await their acks at once
    (each for at most ``ack_timeout`` seconds). Idle, the relay waits for a NOTIFY (PostgreSQL)
    or polls every ``poll_interval`` seconds (SQLite), and :meth:`wake` cuts either short.
    Only the holder of the lease ``name`` publishes; ``lease_ttl`` is how long a crashed
    holder keeps the others waiting. ``js`` should come from a connection that reconnects
    forever (``max_reconnect_attempts=-1``): the relay backs off while NATS is away.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        js: JetStreamContext,
        *,
        name: str = "default",
        batch: int = 500,
        in_flight: int = 256,
        poll_interval: float = 0.05,
        lease_ttl: float = 10.0,
        ack_timeout: float = 5.0,
        max_backoff: float = 5.0,
    ) -> None:
        if batch < 1 or in_flight < 1:
            raise ValueError("batch and in_flight must be >= 1")
        self.engine = engine
        self.js = js
        self.name = name
        self.batch = batch
        self.in_flight = in_flight
        self.poll_interval = poll_interval
        self.ack_timeout = ack_timeout
        self.max_backoff = max_backoff
        self.lease_ttl = lease_ttl
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stats = RelayStats()
        self._lease = Lease(engine, name, self.holder, lease_ttl)
        self._reader = OutboxReader(engine, batch)
        self._wake = asyncio.Event()
        self._marked = asyncio.Event()
        self._stopping = asyncio.Event()
        self._listener: AsyncConnection | None = None
        self._held_back_pause = _HELD_BACK_PAUSE

    def wake(self) -> None:
        """Look at the outbox now (call after a commit that wrote outbox rows)."""
        self._wake.set()

    def stop(self) -> None:
        """Ask :meth:`run` to finish the current batch, release the lease and return."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Publish until :meth:`stop` is called; errors are backed off, never raised."""
        self._reader.restart()
        try:
            while not self._stopping.is_set():
                try:
                    await self._step()
                except Exception as error:
                    # Any failure (NATS away, database away, a refused row) is retried:
                    # the outbox still holds everything not yet acknowledged.
                    self._record_error(error)
                    await self._pause(self._backoff())
                else:
                    self.stats.consecutive_failures = 0
        finally:
            await self._shutdown()

    async def _step(self) -> None:
        self.stats.holds_lease = await self._lease.hold()
        if not self.stats.holds_lease:
            # Another relay publishes meanwhile: when this one's turn comes, it starts afresh.
            self._reader.restart()
            await self._pause(min(self._lease.ttl.total_seconds() / 4, 1.0))
            return
        await self._ensure_listener()
        # Cleared before reading, so a commit landing during the drain still wakes us after.
        self._wake.clear()
        published = self.stats.published_total
        if await self._drain():
            await self._pause(self._idle_pause(self.stats.published_total > published))

    def _idle_pause(self, progressed: bool) -> float:
        """How long to wait for new work after finding none ready."""
        idle = _LISTENING_POLL if self._listener else self.poll_interval
        if progressed or not self._reader.held_back:
            self._held_back_pause = _HELD_BACK_PAUSE
        if not self._reader.held_back:
            return idle
        # The transaction holding rows back may write no outbox row, so no NOTIFY would say
        # when it ends: look again soon, backing off while it stays open.
        pause = self._held_back_pause
        self._held_back_pause = min(2 * pause, idle)
        return min(pause, idle)

    async def _drain(self) -> bool:
        """Publish batch after batch; True when the outbox was found empty.

        The reader's cursor carries on from the previous drain, which left nothing
        unacknowledged behind it; after any failure it starts again from the first
        unpublished row, since unacknowledged rows are then behind it.
        """
        try:
            return await self._drain_from_cursor()
        except BaseException:
            self._reader.restart()
            raise

    async def _drain_from_cursor(self) -> bool:
        """Publish what the reader returns until it is empty, for about ``_DRAIN_SECONDS``.

        Publishing is one pipeline across batches (a stream's next event still waits for its
        previous one's ack); while a batch is fed in, the next one is read and what was
        acknowledged so far is marked, so the database round trips overlap the publishing.
        Whether to read on is decided before the next read starts, so a drain never leaves a
        read batch unpublished behind the reader's cursor. Any failure raises after marking
        what was acknowledged.
        """
        session = PublishSession(self.js, in_flight=self.in_flight, ack_timeout=self.ack_timeout)
        restart_at = asyncio.get_running_loop().time() + _DRAIN_SECONDS
        marking: asyncio.Task[None] | None = None
        prefetch: asyncio.Task[list[OutboxRow]] | None = None
        try:
            rows = await self._reader.next_batch()
            found_empty = not rows
            self.stats.oldest_unpublished_at = rows[0].created_at if rows else None
            while rows and session.error is None:
                more = await self._keep_draining(restart_at)
                prefetch = asyncio.create_task(self._reader.next_batch()) if more else None
                await session.feed([row.message for row in rows])
                marking = await self._mark_in_background(marking, session.take_acked())
                rows = await prefetch if prefetch is not None else []
                found_empty = more and not rows
            await session.flush()
        finally:
            if prefetch is not None and not prefetch.done():
                await _cancelled(prefetch)
            if marking is not None:
                await marking
            await self._mark_published(session.take_acked())
        if session.error is not None:
            raise session.error
        if found_empty:
            self.stats.oldest_unpublished_at = None
        return found_empty

    async def _keep_draining(self, restart_at: float) -> bool:
        if self._stopping.is_set() or asyncio.get_running_loop().time() > restart_at:
            return False
        return await self._lease.hold()

    async def _mark_in_background(
        self, previous: asyncio.Task[None] | None, acked: list[tuple[int, int]]
    ) -> asyncio.Task[None]:
        if previous is not None:
            await previous
        return asyncio.create_task(self._mark_published(acked))

    async def _mark_published(self, acked: list[tuple[int, int]]) -> None:
        if not acked:
            return
        async with self.engine.begin() as conn:
            await mark_published(conn, sorted(acked))
        self.stats.published_total += len(acked)
        # Whoever waits for a publication (a write answering with its consistency token)
        # looks again now.
        self._marked.set()
        self._marked = asyncio.Event()

    async def wait_for_marks(self, seconds: float) -> None:
        """Return when the relay next marks rows published, or after ``seconds``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._marked.wait(), seconds)

    async def _ensure_listener(self) -> None:
        if self.engine.dialect.name != "postgresql":
            return
        if self._listener is not None and not self._listener.closed:
            driver = (await self._listener.get_raw_connection()).driver_connection
            if driver is not None and not driver.is_closed():
                return
        await self._close_listener()
        conn = await self.engine.connect()
        try:
            driver = (await conn.get_raw_connection()).driver_connection
            if driver is None:
                raise RuntimeError("no asyncpg connection to LISTEN on")
            await driver.add_listener(NOTIFY_CHANNEL, self._on_notify)
        except BaseException:
            await conn.close()
            raise
        self._listener = conn

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is None:
            return
        with contextlib.suppress(Exception):
            driver = (await listener.get_raw_connection()).driver_connection
            if driver is not None and not driver.is_closed():
                await driver.remove_listener(NOTIFY_CHANNEL, self._on_notify)
        with contextlib.suppress(Exception):
            await listener.close()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    def _backoff(self) -> float:
        self.stats.consecutive_failures += 1
        delay: float = 0.05 * 2.0 ** min(self.stats.consecutive_failures, 16)
        return min(self.max_backoff, delay)

    def _record_error(self, error: BaseException) -> None:
        self.stats.last_error = f"{type(error).__name__}: {error}"
        self.stats.last_error_at = datetime.now(UTC)
        log.warning("outbox relay %s: %s (backing off)", self.name, self.stats.last_error)

    async def _shutdown(self) -> None:
        await self._close_listener()
        with contextlib.suppress(Exception):
            await self._lease.release()
        self.stats.holds_lease = False


async def _cancelled(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(BaseException):
        await task


async def _serve(
    database_url: str, nats_url: str, name: str, inbox_prefix: str, options: Mapping[str, Any]
) -> None:
    engine = create_async_engine(database_url)
    nc = await nats.connect(
        nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.5, inbox_prefix=inbox_prefix
    )
    relay = OutboxRelay(engine, nc.jetstream(), name=name, **options)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, relay.stop)
    try:
        await relay.run()
    finally:
        await nc.drain()
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    """``python -m oneplan_events.relay --database-url URL --nats-url URL``."""
    parser = argparse.ArgumentParser(
        prog="python -m oneplan_events.relay",
        description="Publish a service's outbox to JetStream.",
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--nats-url", required=True)
    parser.add_argument("--name", default="default")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--lease-ttl", type=float, default=10.0)
    parser.add_argument(
        "--inbox-prefix",
        default="_INBOX",
        help="reply inbox prefix; under deploy/nats permissions, the service's _INBOX_<service>",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    options = {"batch": args.batch, "lease_ttl": args.lease_ttl}
    asyncio.run(_serve(args.database_url, args.nats_url, args.name, args.inbox_prefix, options))


if __name__ == "__main__":
    main()
