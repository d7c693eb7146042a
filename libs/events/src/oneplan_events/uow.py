"""The unit of work: one transaction per command, and the only place that commits.

::

    async with runtime.unit_of_work() as uow:
        outcome = await uow.execute(CHILDREN, child_id, RegisterChild(...))
        await uow.commit()

Leaving the block without :meth:`UnitOfWork.commit` rolls everything back. After a successful
commit the outbox relay is woken so the events reach JetStream at once. A consumer's reaction
gets a unit of work bound to the consumer's own transaction (:meth:`UnitOfWork.bound_to`): it
appends its events atomically with the consumer's inbox row, and the consumer commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oneplan_events.catalogue import Event
from oneplan_events.clock import Clock, SystemClock
from oneplan_events.decider import Aggregate, Outcome
from oneplan_events.store import ConcurrencyError, EventStore, RecordedEvent

__all__ = ["EventSourcedWork", "UnitOfWork"]

S = TypeVar("S")
C = TypeVar("C")


class EventSourcedWork(Protocol):
    """What commands need of a unit of work; the SQL one and the testkit's in-memory fake
    both provide it (and pass the same contract suite)."""

    @property
    def now(self) -> datetime: ...

    async def stream_version(self, stream_id: str) -> int: ...

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]: ...

    async def append(
        self, stream_id: str, expected_version: int, events: Sequence[Event]
    ) -> list[RecordedEvent]: ...

    async def execute(
        self,
        aggregate: Aggregate[S, C],
        record_id: UUID | str,
        command: C,
        *,
        expected_version: int | None = None,
    ) -> Outcome[S]: ...

    async def commit(self) -> None: ...


class UnitOfWork:
    """A command's transaction: a session, event appends into the store and outbox, one commit.

    ``now`` is read from ``clock`` once, at first use, so every event and check of one
    command sees the same instant. ``correlation_id`` and ``causation_id`` go on every event
    it appends (a reaction's: the causing event's correlation id and its id).
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession] | None,
        store: EventStore,
        *,
        source: str,
        clock: Clock | None = None,
        after_commit: Callable[[], None] = lambda: None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        now: datetime | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._store = store
        self._source = source
        self._clock = clock or SystemClock()
        self._after_commit = after_commit
        self._session: AsyncSession | None = None
        self._now = now
        self._bound = False
        self.correlation_id = correlation_id
        self.causation_id = causation_id
        self.committed = False
        self.appended: list[RecordedEvent] = []

    @classmethod
    def bound_to(
        cls,
        session: AsyncSession,
        store: EventStore,
        *,
        source: str,
        clock: Clock | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> UnitOfWork:
        """A unit of work on a transaction someone else owns (and commits): a consumer's."""
        uow = cls(
            None,
            store,
            source=source,
            clock=clock,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        uow._session = session
        uow._bound = True
        return uow

    @property
    def session(self) -> AsyncSession:
        """The transaction's session (for the service's own tables and queries)."""
        if self._session is None:
            raise RuntimeError("use the unit of work inside 'async with'")
        return self._session

    @property
    def now(self) -> datetime:
        """The instant this unit of work runs at (read from the clock once)."""
        if self._now is None:
            self._now = self._clock.now()
        return self._now

    @property
    def store(self) -> EventStore:
        """The event store it appends to (its catalogue decodes and encodes events)."""
        return self._store

    async def __aenter__(self) -> Self:
        if self._bound:
            raise RuntimeError("a bound unit of work is already inside its owner's transaction")
        assert self._sessionmaker is not None
        self._session = self._sessionmaker()
        self.committed = False
        self.appended = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            if not self.committed:
                await session.rollback()
        finally:
            await session.close()
            self._session = None

    async def stream_version(self, stream_id: str) -> int:
        """How many events the stream holds now (0 for a new stream)."""
        conn = await self.session.connection()
        return await self._store.stream_version(conn, stream_id)

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        """The stream's events after ``after_version``, oldest first, in this transaction."""
        conn = await self.session.connection()
        return await self._store.read_stream(conn, stream_id, after_version)

    async def append(
        self, stream_id: str, expected_version: int, events: Sequence[Event]
    ) -> list[RecordedEvent]:
        """Append ``events`` to the store and the outbox in this transaction.

        ``expected_version`` is the number of events the stream held when the command decided
        (0 for a new stream); a mismatch raises ``ConcurrencyError`` (answered as 409).
        ``childid`` is taken from an event's ``child_id`` field when it has one.
        """
        envelopes = [
            self._store.catalogue.envelope_for(
                event,
                source=self._source,
                subject=stream_id,
                correlationid=self.correlation_id,
                causationid=self.causation_id,
                time=self.now,
            )
            for event in events
        ]
        conn = await self.session.connection()
        # The typed events are already here: spare RecordedEvent.event decoding them again.
        recorded = await self._store.append(
            conn, stream_id, expected_version, envelopes, events=events
        )
        self.appended.extend(recorded)
        return recorded

    async def load(self, aggregate: Aggregate[S, Any], record_id: UUID | str) -> tuple[S, int]:
        """A record's state folded from its stream, and its version (0: no events yet)."""
        decider = aggregate.decider
        state = decider.initial_state()
        recorded = await self.read_stream(aggregate.stream_id(record_id))
        for item in recorded:
            state = decider.evolve(state, item.event)
        return state, len(recorded)

    async def execute(
        self,
        aggregate: Aggregate[S, C],
        record_id: UUID | str,
        command: C,
        *,
        expected_version: int | None = None,
    ) -> Outcome[S]:
        """Run ``command`` on one record: load, check the version, decide, append, evolve,
        project, all in this transaction.

        ``expected_version`` (from ``If-Match``) must equal the record's version, else
        ``ConcurrencyError``; ``None`` means "the version just loaded" (the store still
        refuses a concurrent writer). For a record with no events yet the decider speaks
        first, so a command on a record that does not exist is refused as such, not as a
        version conflict. A command deciding no events changes nothing.
        """
        state, version = await self.load(aggregate, record_id)
        stream_id = aggregate.stream_id(record_id)
        stale = expected_version is not None and expected_version != version
        if stale and version > 0:
            raise ConcurrencyError(stream_id, expected_version or 0, version)
        events = aggregate.decider.decide(state, command, self.now)
        if stale:
            raise ConcurrencyError(stream_id, expected_version or 0, version)
        if not events:
            return Outcome(state, version, [])
        recorded = await self.append(stream_id, version, events)
        for item in recorded:
            state = aggregate.decider.evolve(state, item.event)
        if aggregate.project is not None:
            await aggregate.project(self.session, state, recorded)
        return Outcome(state, version + len(recorded), recorded)

    async def commit(self) -> None:
        """Commit the transaction, then wake the outbox relay."""
        if self._bound:
            raise RuntimeError("a bound unit of work is committed by its owner (the consumer)")
        await self.session.commit()
        self.committed = True
        self._after_commit()
