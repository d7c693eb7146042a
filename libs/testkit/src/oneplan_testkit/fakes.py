"""In-memory fakes of the event store and the unit of work, for tests without a database.

They keep the real ones' promises (the same contract suite runs on both): streams are append
only, versions start at 1 and have no gaps, an append with a stale expected version raises
``ConcurrencyError`` (also when another unit of work committed meanwhile), and nothing a unit
of work appended is visible to others until it commits. They hold no read models: a command
whose aggregate projects into tables needs the real unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar
from uuid import UUID

from oneplan_events.catalogue import Catalogue, Event
from oneplan_events.clock import Clock, SystemClock
from oneplan_events.decider import Aggregate, Outcome
from oneplan_events.store import ConcurrencyError, Position, RecordedEvent

__all__ = ["InMemoryEventStore", "InMemoryUnitOfWork"]

S = TypeVar("S")
C = TypeVar("C")


class InMemoryEventStore:
    """Committed streams, in commit order; shared by the units of work of one test."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.streams: dict[str, list[RecordedEvent]] = {}
        self.all: list[RecordedEvent] = []

    def unit_of_work(
        self, *, source: str = "/oneplan/test", clock: Clock | None = None
    ) -> InMemoryUnitOfWork:
        """A new unit of work on this store."""
        return InMemoryUnitOfWork(self, source=source, clock=clock)

    def version(self, stream_id: str) -> int:
        """The committed version of a stream (0: none)."""
        return len(self.streams.get(stream_id, ()))

    def _commit(self, pending: dict[str, tuple[int, list[RecordedEvent]]]) -> None:
        for stream_id, (expected, _) in pending.items():
            found = self.version(stream_id)
            if found != expected:
                raise ConcurrencyError(stream_id, expected, found, "another unit of work won")
        for stream_id, (_, recorded) in pending.items():
            for item in recorded:
                positioned = RecordedEvent(
                    item.envelope,
                    item.stream_id,
                    item.version,
                    Position(0, len(self.all) + 1),
                    self.catalogue,
                    event=item.event,
                )
                self.streams.setdefault(stream_id, []).append(positioned)
                self.all.append(positioned)


class InMemoryUnitOfWork:
    """The unit of work's event-sourcing side (``EventSourcedWork``) over a fake store."""

    def __init__(
        self, store: InMemoryEventStore, *, source: str, clock: Clock | None = None
    ) -> None:
        self._store = store
        self._source = source
        self._clock = clock or SystemClock()
        self._now: datetime | None = None
        # stream -> (version it had when this unit first appended, what it appended since)
        self._pending: dict[str, tuple[int, list[RecordedEvent]]] = {}
        self.committed = False
        self.correlation_id: str | None = None
        self.causation_id: str | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.committed:
            self._pending.clear()

    @property
    def now(self) -> datetime:
        """The instant this unit of work runs at (read from the clock once)."""
        if self._now is None:
            self._now = self._clock.now()
        return self._now

    async def stream_version(self, stream_id: str) -> int:
        """The stream's version as this unit of work sees it."""
        return len(await self.read_stream(stream_id))

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        """Committed events, then this unit's own, after ``after_version``."""
        committed = list(self._store.streams.get(stream_id, ()))
        pending = self._pending.get(stream_id)
        events = committed if pending is None else committed[: pending[0]] + pending[1]
        return [item for item in events if item.version > after_version]

    async def append(
        self, stream_id: str, expected_version: int, events: Sequence[Event]
    ) -> list[RecordedEvent]:
        """Stage ``events`` as versions ``expected_version + 1 ...``."""
        found = await self.stream_version(stream_id)
        if found != expected_version:
            raise ConcurrencyError(stream_id, expected_version, found)
        base, staged = self._pending.get(stream_id, (found, []))
        recorded = []
        for version, event in enumerate(events, start=expected_version + 1):
            envelope = self._store.catalogue.envelope_for(
                event,
                source=self._source,
                subject=stream_id,
                correlationid=self.correlation_id,
                causationid=self.causation_id,
                time=self.now,
            )
            item = RecordedEvent(
                envelope, stream_id, version, Position(0, 0), self._store.catalogue, event=event
            )
            recorded.append(item)
        self._pending[stream_id] = (base, [*staged, *recorded])
        return recorded

    async def execute(
        self,
        aggregate: Aggregate[S, C],
        record_id: UUID | str,
        command: C,
        *,
        expected_version: int | None = None,
    ) -> Outcome[S]:
        """Load, check the version, decide, stage the events, evolve (no projection)."""
        if aggregate.project is not None:
            raise TypeError("the in-memory unit of work has no read models to project into")
        stream_id = aggregate.stream_id(record_id)
        history = await self.read_stream(stream_id)
        decider = aggregate.decider
        state: Any = decider.initial_state()
        for item in history:
            state = decider.evolve(state, item.event)
        stale = expected_version is not None and expected_version != len(history)
        if stale and history:
            raise ConcurrencyError(stream_id, expected_version or 0, len(history))
        events = decider.decide(state, command, self.now)
        if stale:  # a record with no events: the decider spoke first, as the real one lets it
            raise ConcurrencyError(stream_id, expected_version or 0, len(history))
        if not events:
            return Outcome(state, len(history), [])
        recorded = await self.append(stream_id, len(history), events)
        for item in recorded:
            state = decider.evolve(state, item.event)
        return Outcome(state, len(history) + len(recorded), recorded)

    async def commit(self) -> None:
        """Make the staged events visible, or ``ConcurrencyError`` if a stream moved."""
        self._store._commit(self._pending)
        self._pending.clear()
        self.committed = True
