"""What the event store's dialect backends share: the row shape, the error, the protocol."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from oneplan_events.envelope import JSON_CONTENT_TYPE, Envelope

if TYPE_CHECKING:
    from oneplan_events.store import Position


class ConcurrencyError(Exception):
    """The stream is not at the expected version (an HTTP 409: reload and retry the command).

    ``actual_version`` is None when a concurrent append committed first and the aborted
    transaction could not read the stream again; reload it in a new transaction.
    """

    def __init__(
        self,
        stream_id: str,
        expected_version: int,
        actual_version: int | None,
        reason: str | None = None,
    ) -> None:
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        actual = "unknown" if actual_version is None else str(actual_version)
        detail = f": {reason}" if reason else ""
        super().__init__(
            f"stream {stream_id!r}: expected version {expected_version}, found {actual}{detail}"
        )


@dataclass(frozen=True, slots=True)
class StoredRow:
    """One ``event_store`` row as a dialect backend returns it.

    ``metadata`` may be the JSON text of the stored object, parsed only when the envelope is
    needed; ``type`` and ``schema_version`` (the row's own columns, written from the envelope
    in the same statement) let the event be decoded without it.
    """

    position: int
    tx_id: int
    stream_id: str
    version: int
    data: Mapping[str, Any]
    metadata: Mapping[str, Any] | str
    type: str | None = None
    schema_version: int = 1


class Backend(Protocol):
    """One dialect's implementation of the store (a module: ``_store_pg``, ``_store_sqlite``)."""

    async def append(
        self,
        conn: AsyncConnection,
        stream_id: str,
        expected_version: int,
        envelopes: Sequence[Envelope],
    ) -> list[Position]: ...

    async def read_stream(
        self, conn: AsyncConnection, stream_id: str, after_version: int
    ) -> list[StoredRow]: ...

    async def stream_version(self, conn: AsyncConnection, stream_id: str) -> int: ...

    async def read_all(
        self, conn: AsyncConnection, after_tx_id: int, after_position: int, limit: int
    ) -> list[StoredRow]: ...


def metadata_of(envelope: Envelope) -> dict[str, str]:
    """The envelope's attributes other than data and the stream version (the row's own
    ``version`` column), as stored in ``event_store.metadata``."""
    metadata = envelope.attributes()
    metadata.pop("streamversion", None)
    if envelope.datacontenttype != JSON_CONTENT_TYPE:
        metadata["datacontenttype"] = envelope.datacontenttype
    return metadata


def envelope_from_row(
    metadata: Mapping[str, Any], data: Mapping[str, Any], version: int | None = None
) -> Envelope:
    """Rebuild the envelope from a stored ``metadata`` object, ``data`` and the row's
    stream ``version``.

    ``metadata`` holds exactly the envelope's attribute names (see :func:`metadata_of`), so it
    is passed through as keywords: this runs once per event on every replay.
    """
    attributes = dict(metadata)
    attributes["time"] = datetime.fromisoformat(attributes["time"])
    attributes.pop("streamversion", None)
    return Envelope(data=data, streamversion=version, **attributes)
