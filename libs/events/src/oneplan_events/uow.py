"""The unit of work: one transaction per command, and the only place that commits.

::

    async with runtime.unit_of_work() as uow:
        outcome = await uow.execute(CHILDREN, child_id, RegisterChild(...))
        await uow.commit()

Leaving the block without :meth:`UnitOfWork.commit` rolls everything back. After a successful
commit the outbox relay is woken so the events reach JetStream at once. A consumer's reaction
gets a unit of work bound to the consumer's own transaction (:meth:`UnitOfWork.bound_to`): it
appends its events atomically with the consumer's inbox row, and the consumer commits.

A :class:`StateCache` (the service's runtime keeps one) lets ``execute`` skip reading a
record's stream when this process committed the record's last command: see its docstring for
why that is always safe.
"""

from __future__ import annotations

from collections import OrderedDict
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

__all__ = ["EventSourcedWork", "StateCache", "UnitOfWork"]

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


class StateCache:
    """Each record's state and version after the last command this process committed on it.

    Why it is always safe: a stored event is never changed, so "the state after version
    ``v`` of stream ``s``" is a fact that never stops being true once committed; and
    :meth:`UnitOfWork.execute` decides on a remembered state only *optimistically*, appending
    with that version as the expected one, which the store checks atomically in the same
    statement. When another writer (another instance, a reaction) moved the record on, the
    append is refused without writing and the command is decided again on the stream read
    afresh; a decision refused on a remembered state is made again the same way, so every
    refusal a caller sees was made on the stored record. A state is remembered only after its
    transaction committed. Bounded (least recently used records are forgotten).
    """

    def __init__(self, size: int = 4096) -> None:
        if size < 1:
            raise ValueError("size must be >= 1")
        self.size = size
        self._states: OrderedDict[tuple[int, str], tuple[int, Any]] = OrderedDict()

    def get(self, decider: object, stream_id: str) -> tuple[int, Any] | None:
        """``(version, state)`` remembered for a record of ``decider`` (None: not known)."""
        key = (id(decider), stream_id)
        known = self._states.get(key)
        if known is not None:
            self._states.move_to_end(key)
        return known

    def put(self, decider: object, stream_id: str, version: int, state: Any) -> None:
        """Remember a record's committed state at ``version``."""
        key = (id(decider), stream_id)
        self._states[key] = (version, state)
        self._states.move_to_end(key)
        while len(self._states) > self.size:
            self._states.popitem(last=False)

    def forget(self, decider: object, stream_id: str) -> None:
        """Forget a record (its remembered state proved stale)."""
        self._states.pop((id(decider), stream_id), None)

    def __len__(self) -> int:
        return len(self._states)


class UnitOfWork:
    """A command's transaction: a session, event appends into the store and outbox, one commit.

    ``now`` is read from ``clock`` once, at first use, so every event and check of one
    command sees the same instant. ``correlation_id`` and ``causation_id`` go on every event
    it appends (a reaction's: the causing event's correlation id and its id). ``states``
    (the service's :class:`StateCache`) spares ``execute`` reading a record this process
    wrote last.
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
        states: StateCache | None = None,
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
        self._states = states
        # What this transaction brought records to, keyed like the cache: remembered there
        # once it commits (and consulted first by a second command on the same record).
        self._reached: dict[tuple[int, str], tuple[object, str, int, Any]] = {}

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
        self._reached = {}
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

        With a :class:`StateCache`, a record whose state is known (this process committed its
        last command, or this transaction reached it) is not read: the command is decided on
        that state and appended at that version; only when the store refuses that version,
        or the decider refuses the command, is the stream read and the command decided again.
        """
        stream_id = aggregate.stream_id(record_id)
        known = self._known(aggregate, stream_id, expected_version)
        if known is not None:
            outcome = await self._execute_on(aggregate, stream_id, command, *known)
            if outcome is not None:
                return outcome
        state, version = await self.load(aggregate, record_id)
        stale = expected_version is not None and expected_version != version
        if stale and version > 0:
            raise ConcurrencyError(stream_id, expected_version or 0, version)
        events = aggregate.decider.decide(state, command, self.now)
        if stale:
            raise ConcurrencyError(stream_id, expected_version or 0, version)
        if not events:
            return Outcome(state, version, [])
        recorded = await self.append(stream_id, version, events)
        return await self._evolved(aggregate, stream_id, state, version, recorded)

    def _known(
        self, aggregate: Aggregate[S, C], stream_id: str, expected_version: int | None
    ) -> tuple[int, S] | None:
        """A state to decide on without reading the stream, if there is one to trust."""
        if self._states is None or self._bound:
            return None
        decider = aggregate.decider
        reached = self._reached.get((id(decider), stream_id))
        known = (reached[2], reached[3]) if reached else self._states.get(decider, stream_id)
        if known is None:
            # A record this process has not written: most likely a new one (a creation).
            if expected_version not in (None, 0):
                return None
            return 0, decider.initial_state()
        version, state = known
        if expected_version is not None and expected_version != version:
            return None  # the caller saw another version: read the record
        return version, state

    async def _execute_on(
        self, aggregate: Aggregate[S, C], stream_id: str, command: C, version: int, state: S
    ) -> Outcome[S] | None:
        """The command decided on a known state; None: decide again on the stored record."""
        try:
            events = aggregate.decider.decide(state, command, self.now)
        except Exception:
            return None  # a refusal must be made on the stored record
        if not events:
            return None  # "nothing to do" must be said of the stored record too
        try:
            recorded = await self.append(stream_id, version, events)
        except ConcurrencyError as error:
            if error.actual_version is None or error.actual_version == version:
                raise  # a concurrent writer, or a transaction too old: as without the cache
            if self._states is not None:
                self._states.forget(aggregate.decider, stream_id)
            return None
        return await self._evolved(aggregate, stream_id, state, version, recorded)

    async def _evolved(
        self,
        aggregate: Aggregate[S, C],
        stream_id: str,
        state: S,
        version: int,
        recorded: Sequence[RecordedEvent],
    ) -> Outcome[S]:
        for item in recorded:
            state = aggregate.decider.evolve(state, item.event)
        if aggregate.project is not None:
            await aggregate.project(self.session, state, recorded)
        version += len(recorded)
        if self._states is not None and not self._bound:
            decider = aggregate.decider
            self._reached[(id(decider), stream_id)] = (decider, stream_id, version, state)
        return Outcome(state, version, recorded)

    async def commit(self) -> None:
        """Commit the transaction, then wake the outbox relay."""
        if self._bound:
            raise RuntimeError("a bound unit of work is committed by its owner (the consumer)")
        await self.session.commit()
        self.committed = True
        if self._states is not None:
            for decider, stream_id, version, state in self._reached.values():
                self._states.put(decider, stream_id, version, state)
        self._reached = {}
        self._after_commit()
