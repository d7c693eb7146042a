"""The unit of work: one transaction per command, and the only place that commits.

::

    async with runtime.unit_of_work() as uow:
        version = await uow.stream_version(stream_id)
        await uow.append(stream_id, version, [ChildRegistered(...)])
        await uow.commit()

Leaving the block without :meth:`UnitOfWork.commit` rolls everything back. After a successful
commit the outbox relay is woken so the events reach JetStream at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oneplan_events.catalogue import Event
from oneplan_events.store import EventStore, RecordedEvent

__all__ = ["UnitOfWork"]


class UnitOfWork:
    """A command's transaction: a session, event appends into the store and outbox, one commit."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        store: EventStore,
        *,
        source: str,
        after_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._store = store
        self._source = source
        self._after_commit = after_commit
        self._session: AsyncSession | None = None
        self.committed = False

    @property
    def session(self) -> AsyncSession:
        """The transaction's session (for the service's own tables and queries)."""
        if self._session is None:
            raise RuntimeError("use the unit of work inside 'async with'")
        return self._session

    async def __aenter__(self) -> Self:
        self._session = self._sessionmaker()
        self.committed = False
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

    async def read_stream(self, stream_id: str) -> list[RecordedEvent]:
        """Every event of the stream, oldest first, read inside this transaction."""
        conn = await self.session.connection()
        return await self._store.read_stream(conn, stream_id)

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[Event],
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> list[RecordedEvent]:
        """Append ``events`` to the store and the outbox in this transaction.

        ``expected_version`` is the number of events the stream held when the command decided
        (0 for a new stream); a mismatch raises ``ConcurrencyError`` (answered as 409).
        ``childid`` is taken from an event's ``child_id`` field when it has one. Envelopes are
        built by the store's catalogue (the service definition's, normally ``CATALOGUE``).
        """
        envelopes = [
            self._store.catalogue.envelope_for(
                event,
                source=self._source,
                subject=stream_id,
                correlationid=correlation_id,
                causationid=causation_id,
            )
            for event in events
        ]
        conn = await self.session.connection()
        return await self._store.append(conn, stream_id, expected_version, envelopes)

    async def commit(self) -> None:
        """Commit the transaction, then wake the outbox relay."""
        await self.session.commit()
        self.committed = True
        self._after_commit()
