"""The event store: append-only streams with optimistic concurrency, on PostgreSQL and SQLite.

Every method takes the caller's :class:`~sqlalchemy.ext.asyncio.AsyncConnection` and works in
the caller's transaction; nothing here commits. :meth:`EventStore.append` writes the event rows
*and* their outbox rows, so a command's events are published if and only if it commits.

Commit order and gap safety
---------------------------
Positions come from a sequence, and on PostgreSQL a sequence value can become visible after a
higher one (transaction A takes position 10, B takes 11, B commits first). A catch-up reader
that trusted positions would read 11, move its cursor past 10 and never see it. So the global
order is not the position but :class:`Position` = ``(tx_id, position)``:

* each event row stores ``tx_id = pg_current_xact_id()`` of the appending transaction;
* :meth:`EventStore.read_all` returns only rows whose ``tx_id`` is below the reader's snapshot
  ``xmin`` (``pg_snapshot_xmin(pg_current_snapshot())``): every transaction with a smaller id
  has finished, so no row can ever appear below the reader's cursor later. Rows are returned
  in ``(tx_id, position)`` order, which is the order the reader commits to.

The price: one long-open writing transaction anywhere in the PostgreSQL cluster (xids are
cluster-wide) holds ``xmin`` back, and readers stall (never skip) behind it until it ends.
The outbox relay reads the outbox by the same rule and in the same order (each outbox row
carries its event's ``position``, through which it finds the ``tx_id``), so it is held back
the same way; see :mod:`oneplan_events._outbox`.

Per-stream order needs one more rule. A transaction that took its xid *before* the stream's
previous event committed could append the next version with a *lower* ``tx_id``, and
``read_all`` would then return version n+1 before version n. ``append`` therefore refuses,
with :class:`ConcurrencyError`, to append when the stream's last event has a ``tx_id`` greater
than the current transaction's; the command is retried in a new transaction, which gets a
newer xid. The check and the inserts are one statement, so it costs no round trip.

On SQLite the single writer lock serialises writing transactions, so position order is commit
order; ``tx_id`` is 0 there and ``read_all`` orders by position alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from pydantic_core import from_json
from sqlalchemy.ext.asyncio import AsyncConnection

from oneplan_events._store_base import (
    Backend,
    ConcurrencyError,
    StoredRow,
    envelope_from_row,
    metadata_of,
)
from oneplan_events.catalogue import Catalogue, Event
from oneplan_events.envelope import Envelope

__all__ = [
    "ConcurrencyError",
    "EventStore",
    "Position",
    "RecordedEvent",
    "envelope_from_row",
    "metadata_of",
]

SUPPORTED_DIALECTS: Final = ("postgresql", "sqlite")


@dataclass(frozen=True, order=True, slots=True)
class Position:
    """A cursor in the store's commit order: ``(tx_id, position)``; compare as a tuple."""

    tx_id: int
    position: int

    START: ClassVar[Position]


Position.START = Position(0, 0)


class RecordedEvent:
    """An event as stored: its envelope, stream, version and commit-order position.

    Immutable. ``event`` (the typed catalogue model, upcast to the current schema version) is
    decoded on first access, so readers that only need the envelope (republish, raw
    projections) never pay for validation; a writer that holds the typed event already
    passes it as ``event``. An event read from the store builds its ``envelope`` on first
    access too (from the row's stored attributes), so a projection that needs only the typed
    event, its stream and its version never pays for that: a replay reads a million events.
    """

    __slots__ = (
        "_data",
        "_envelope",
        "_event",
        "_metadata",
        "_schema_version",
        "_type",
        "catalogue",
        "position",
        "stream_id",
        "version",
    )

    stream_id: str
    version: int
    position: Position
    catalogue: Catalogue
    _envelope: Envelope | None
    _event: Event | None
    # Read from a row (``from_row``): what the envelope and the event are built from.
    _data: Mapping[str, Any]
    _metadata: Mapping[str, Any] | str
    _type: str | None
    _schema_version: int

    def __init__(
        self,
        envelope: Envelope,
        stream_id: str,
        version: int,
        position: Position,
        catalogue: Catalogue | None = None,
        *,
        event: Event | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "_envelope", envelope)
        set_(self, "_event", event)
        set_(self, "_type", None)
        set_(self, "stream_id", stream_id)
        set_(self, "version", version)
        set_(self, "position", position)
        set_(self, "catalogue", catalogue if catalogue is not None else Catalogue())

    @classmethod
    def from_row(cls, row: StoredRow, catalogue: Catalogue) -> RecordedEvent:
        """The event of a stored row, its envelope built when first asked for."""
        recorded = cls.__new__(cls)
        set_ = object.__setattr__
        set_(recorded, "_envelope", None)
        set_(recorded, "_event", None)
        set_(recorded, "_data", row.data)
        set_(recorded, "_metadata", row.metadata)
        set_(recorded, "_type", row.type)
        set_(recorded, "_schema_version", row.schema_version)
        set_(recorded, "stream_id", row.stream_id)
        set_(recorded, "version", row.version)
        set_(recorded, "position", Position(row.tx_id, row.position))
        set_(recorded, "catalogue", catalogue)
        return recorded

    @property
    def envelope(self) -> Envelope:
        """The CloudEvents envelope (with its stream version) as it was appended."""
        envelope: Envelope | None = self._envelope
        if envelope is None:
            envelope = envelope_from_row(_parsed(self._metadata), self._data, self.version)
            object.__setattr__(self, "_envelope", envelope)
        return envelope

    @property
    def event(self) -> Event:
        """The typed event, upcast and validated by the catalogue (decoded once)."""
        event: Event | None = self._event
        if event is None:
            if self._envelope is None and self._type is not None:
                # The row's own type and schema version columns, written from its envelope.
                event = self.catalogue.decode(self._type, self._schema_version, self._data)
            else:
                envelope = self.envelope
                event = self.catalogue.decode(envelope.type, envelope.schema_version, envelope.data)
            object.__setattr__(self, "_event", event)
        return event

    def _key(self) -> tuple[Envelope, str, int, Position]:
        return (self.envelope, self.stream_id, self.version, self.position)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RecordedEvent):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"RecordedEvent(envelope={self.envelope!r}, stream_id={self.stream_id!r}, "
            f"version={self.version!r}, position={self.position!r})"
        )

    def __setattr__(self, name: str, value: object) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _parsed(metadata: Mapping[str, Any] | str) -> Mapping[str, Any]:
    # PostgreSQL rows carry the metadata as the JSON text of their jsonb column, parsed here,
    # when the envelope is first asked for (its output is plain JSON: no NaN, no lone
    # surrogates, which pydantic-core's parser and json.loads read alike).
    if isinstance(metadata, str):
        parsed: Mapping[str, Any] = from_json(metadata)
        return parsed
    return metadata


class EventStore:
    """Append and read events through the caller's connection, on PostgreSQL or SQLite.

    One instance serves any number of connections and both dialects; ``catalogue`` (the
    service's) decodes :attr:`RecordedEvent.event` and builds the envelopes a unit of work
    appends; tools that only move envelopes (republish) need none.
    """

    def __init__(self, catalogue: Catalogue | None = None) -> None:
        self.catalogue = catalogue if catalogue is not None else Catalogue()

    @classmethod
    def for_dialect(cls, name: str, catalogue: Catalogue | None = None) -> EventStore:
        """A store for dialect ``name``; raises ValueError for a dialect it does not support."""
        if name not in SUPPORTED_DIALECTS:
            raise ValueError(f"no event store for dialect {name!r} (supported: postgresql, sqlite)")
        return cls(catalogue)

    async def append(
        self,
        conn: AsyncConnection,
        stream_id: str,
        expected_version: int,
        envelopes: Sequence[Envelope],
        *,
        events: Sequence[Event] | None = None,
    ) -> list[RecordedEvent]:
        """Append ``envelopes`` to ``stream_id`` as versions ``expected_version + 1 ...``.

        ``expected_version`` is the number of events already in the stream (0: a new stream).
        Each envelope is stored with ``subject`` = ``stream_id`` and its ``streamversion``, so
        consumers see which record and which version every event is. Writes the event rows
        and one outbox row per event in the caller's transaction and never commits. Raises
        :class:`ConcurrencyError` when the stream has moved on (or, on PostgreSQL, when this
        transaction is older than the stream's last writer: retry the command in a new
        transaction). ``events``, when given, are the typed events of ``envelopes`` (the
        recorded events then need not decode them again).
        """
        if expected_version < 0:
            raise ValueError("expected_version must be >= 0")
        if not envelopes:
            return []
        envelopes = [
            dataclasses.replace(envelope, subject=stream_id, streamversion=version)
            for version, envelope in enumerate(envelopes, start=expected_version + 1)
        ]
        backend = _backend(conn)
        positions = await backend.append(conn, stream_id, expected_version, envelopes)
        typed: Sequence[Event | None] = events if events is not None else [None] * len(envelopes)
        return [
            RecordedEvent(
                envelope,
                stream_id,
                expected_version + offset,
                position,
                self.catalogue,
                event=event,
            )
            for offset, (envelope, position, event) in enumerate(
                zip(envelopes, positions, typed, strict=True), start=1
            )
        ]

    async def read_stream(
        self, conn: AsyncConnection, stream_id: str, after_version: int = 0
    ) -> list[RecordedEvent]:
        """The stream's events with a version above ``after_version``, in version order."""
        rows = await _backend(conn).read_stream(conn, stream_id, after_version)
        return [self._recorded(row) for row in rows]

    async def stream_version(self, conn: AsyncConnection, stream_id: str) -> int:
        """The number of events in the stream (0 when it does not exist)."""
        return await _backend(conn).stream_version(conn, stream_id)

    async def read_all(
        self, conn: AsyncConnection, after: Position, limit: int
    ) -> list[RecordedEvent]:
        """Up to ``limit`` events after ``after``, in commit order, gap-safe.

        Never returns an event while an event that commits earlier can still appear; pass the
        last returned :attr:`RecordedEvent.position` as ``after`` to continue.
        """
        if limit < 1:
            raise ValueError("limit must be >= 1")
        rows = await _backend(conn).read_all(conn, after.tx_id, after.position, limit)
        return [self._recorded(row) for row in rows]

    def _recorded(self, row: StoredRow) -> RecordedEvent:
        return RecordedEvent.from_row(row, self.catalogue)


def _backend(conn: AsyncConnection) -> Backend:
    # Imported here so each backend's driver-specific code loads only for its dialect.
    name = conn.dialect.name
    if name == "postgresql":
        from oneplan_events import _store_pg

        return _store_pg
    if name == "sqlite":
        from oneplan_events import _store_sqlite

        return _store_sqlite
    raise ValueError(f"no event store for dialect {name!r} (supported: postgresql, sqlite)")
