"""The OnePlan event envelope: CloudEvents 1.0 carried by the CloudEvents NATS binding.

Binary content mode: every attribute travels as a NATS header ``ce-<name>`` (values
percent-encoded as the CloudEvents HTTP binding prescribes), ``datacontenttype`` travels as
``content-type`` and the data is the JSON body. ``Nats-Msg-Id`` carries the event id so that
JetStream's duplicate window drops a re-published event.

The NATS subject is the event type followed by the record's key (:func:`record_key` of the
CloudEvents ``subject``, the event stream): ``oneplan.children.child.registered.<key>``. So a
subscriber filters by type with ``<type>.>``, and JetStream can partition a stream by record
with a subject transform (each service stream appends a partition number: ``<type>.<key>.<n>``;
see :mod:`oneplan_events.streams`). The extension ``streamversion`` is the event's version in
its record's stream, set by the event store, so a consumer can tell a gap from a duplicate.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote, unquote

__all__ = [
    "JSON_CONTENT_TYPE",
    "MSG_ID_HEADER",
    "Envelope",
    "MalformedEvent",
    "dataschema_for",
    "event_type_of_subject",
    "record_key",
]

JSON_CONTENT_TYPE: Final = "application/json"
MSG_ID_HEADER: Final = "Nats-Msg-Id"
SPEC_VERSION: Final = "1.0"

_PREFIX: Final = "ce-"
_CONTENT_TYPE_HEADER: Final = "content-type"
_REQUIRED: Final = ("id", "source", "type", "specversion", "time")
_OPTIONAL: Final = (
    "subject",
    "dataschema",
    "childid",
    "correlationid",
    "causationid",
    "traceparent",
    "dataclass",
    "streamversion",
)
# CloudEvents HTTP binding 3.1.3.2: space, '"', '%' and everything outside U+0021..U+007E is
# percent-encoded; every other printable ASCII character stays as it is.
_SAFE: Final = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"%')
_DATASCHEMA: Final = re.compile(r"^urn:oneplan:event:(?P<type>[^:]+):v(?P<version>[1-9][0-9]*)$")
_KEY_TOKEN: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_VERSION: Final = re.compile(r"^[1-9][0-9]{0,11}$")
_NO_RECORD: Final = "_"
_TYPE_TOKENS: Final = 4  # oneplan.<service>.<aggregate>.<event>


class MalformedEvent(ValueError):
    """A message that is not a valid OnePlan CloudEvent; the message says why."""


def dataschema_for(event_type: str, schema_version: int) -> str:
    """The ``dataschema`` URN naming an event type's schema version."""
    return f"urn:oneplan:event:{event_type}:v{schema_version}"


def record_key(stream_id: str | None) -> str:
    """The subject token naming an event's record: the last part of its stream id when that
    is a plain token (``child/<uuid>`` -> ``<uuid>``), else a digest of the whole id.

    Deterministic, so every event of a record lands in the same stream partition.
    """
    if not stream_id:
        return _NO_RECORD
    last = stream_id.rsplit("/", 1)[-1]
    if _KEY_TOKEN.match(last):
        return last
    return hashlib.sha256(stream_id.encode("utf-8")).hexdigest()[:32]


def event_type_of_subject(subject: str) -> str:
    """The event type a NATS subject carries (its first four tokens)."""
    return ".".join(subject.split(".", _TYPE_TOKENS)[:_TYPE_TOKENS])


@dataclass(frozen=True, slots=True)
class Envelope:
    """A CloudEvents 1.0 event with the OnePlan extensions.

    Construction validates the invariants (time is timezone-aware, data is a JSON object,
    dataschema names this type), so an ``Envelope`` that exists is always publishable.
    """

    id: str
    source: str
    type: str
    time: datetime
    data: Mapping[str, Any] = field(hash=False)
    subject: str | None = None
    dataschema: str | None = None
    datacontenttype: str = JSON_CONTENT_TYPE
    specversion: str = SPEC_VERSION
    childid: str | None = None
    correlationid: str | None = None
    causationid: str | None = None
    traceparent: str | None = None
    dataclass: str | None = None
    streamversion: int | None = None

    def __post_init__(self) -> None:
        # Every envelope read or written passes here (a replay builds a million): the common
        # case of each check is tested first, the full check only when it is not met.
        if not (self.id and self.source and self.type):
            for name in ("id", "source", "type"):
                if not getattr(self, name):
                    raise MalformedEvent(f"attribute {name!r} must be a non-empty string")
        if self.specversion != SPEC_VERSION:
            raise MalformedEvent(
                f"specversion {self.specversion!r} is not supported (expected {SPEC_VERSION!r})"
            )
        if self.time.tzinfo is None or self.time.utcoffset() is None:
            raise MalformedEvent("attribute 'time' must be timezone-aware")
        if type(self.data) is not dict and not isinstance(self.data, Mapping):
            raise MalformedEvent("data must be a JSON object")
        if self.datacontenttype != JSON_CONTENT_TYPE and (
            _media_type(self.datacontenttype) != JSON_CONTENT_TYPE
        ):
            raise MalformedEvent(
                f"datacontenttype {self.datacontenttype!r} is not supported "
                f"(expected {JSON_CONTENT_TYPE!r})"
            )
        if self.dataschema is not None:
            _parse_dataschema(self.dataschema, self.type)
        if self.streamversion is not None and self.streamversion < 1:
            raise MalformedEvent(f"streamversion must be >= 1, got {self.streamversion}")

    @property
    def nats_subject(self) -> str:
        """The subject to publish on: the type, then the record's key."""
        return f"{self.type}.{record_key(self.subject)}"

    @property
    def schema_version(self) -> int:
        """The data's schema version, parsed from ``dataschema`` (1 when absent)."""
        if self.dataschema is None:
            return 1
        return _parse_dataschema(self.dataschema, self.type)

    def attributes(self) -> dict[str, str]:
        """Every attribute except data, as strings (absent optional attributes left out)."""
        values: dict[str, str] = {
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "specversion": self.specversion,
            "time": self.time.isoformat(),
        }
        for name in _OPTIONAL:
            value = getattr(self, name)
            if value is not None:
                values[name] = str(value)
        return values

    def body(self) -> bytes:
        """The data serialised as compact UTF-8 JSON."""
        return json.dumps(
            self.data, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode("utf-8")

    def to_nats(self) -> tuple[dict[str, str], bytes]:
        """Headers and body of the NATS message carrying this event (binary content mode)."""
        headers = {
            _PREFIX + name: quote(value, safe=_SAFE) for name, value in self.attributes().items()
        }
        headers[_CONTENT_TYPE_HEADER] = quote(self.datacontenttype, safe=_SAFE)
        headers[MSG_ID_HEADER] = self.id
        return headers, self.body()

    @classmethod
    def from_nats(cls, subject: str, headers: Mapping[str, str] | None, body: bytes) -> Envelope:
        """Read an event from a NATS message, or raise :class:`MalformedEvent` saying why.

        Unknown ``ce-`` extension attributes are ignored (CloudEvents consumers must tolerate
        them); everything else is checked before an envelope is built.
        """
        attributes = _read_attributes(headers or {})
        event_type = attributes["type"]
        if subject != event_type and not subject.startswith(event_type + "."):
            raise MalformedEvent(
                f"NATS subject {subject!r} does not carry the event type {event_type!r}"
            )
        optional: dict[str, Any] = {name: attributes.get(name) for name in _OPTIONAL}
        optional["streamversion"] = _parse_version(attributes.get("streamversion"))
        return cls(
            id=attributes["id"],
            source=attributes["source"],
            type=event_type,
            specversion=attributes["specversion"],
            time=_parse_time(attributes["time"]),
            data=_parse_body(body),
            datacontenttype=attributes.get("datacontenttype", JSON_CONTENT_TYPE),
            **optional,
        )


def _unquote(name: str, value: str) -> str:
    if "%" not in value:
        return value  # the common case, and the hot path of every consumer
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError as error:
        raise MalformedEvent(f"header {name!r} is not percent-encoded UTF-8") from error


def _read_attributes(headers: Mapping[str, str]) -> dict[str, str]:
    # One pass over the headers (this runs for every message every consumer reads): header
    # names are case-insensitive, the ce- ones are the attributes.
    attributes: dict[str, str] = {}
    content_type: str | None = None
    for key, value in headers.items():
        name = key.lower()
        if name.startswith(_PREFIX):
            attributes[name[len(_PREFIX) :]] = _unquote(key, value)
        elif name == _CONTENT_TYPE_HEADER:
            content_type = value
    missing = [name for name in _REQUIRED if name not in attributes]
    if missing:
        raise MalformedEvent(f"missing required attribute(s): {', '.join(missing)}")
    if attributes["specversion"] != SPEC_VERSION:
        raise MalformedEvent(
            f"specversion {attributes['specversion']!r} is not supported "
            f"(expected {SPEC_VERSION!r})"
        )
    if content_type is not None:
        attributes["datacontenttype"] = _unquote(_CONTENT_TYPE_HEADER, content_type)
    return attributes


def _parse_version(value: str | None) -> int | None:
    if value is None:
        return None
    if not _VERSION.match(value):
        raise MalformedEvent(f"attribute 'streamversion' is not a version number: {value!r}")
    return int(value)


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise MalformedEvent(f"attribute 'time' is not an RFC 3339 timestamp: {value!r}") from error
    if parsed.tzinfo is None:
        raise MalformedEvent(f"attribute 'time' has no UTC offset: {value!r}")
    return parsed


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Built once: json.loads with any option builds a new decoder on every call.
_JSON_DECODER: Final = json.JSONDecoder(parse_constant=_refuse_constant)


def _parse_body(body: bytes) -> dict[str, Any]:
    try:
        data = _JSON_DECODER.decode(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedEvent(f"body is not UTF-8 JSON: {error}") from error
    if not isinstance(data, dict):
        raise MalformedEvent(f"body is JSON but not an object (got {type(data).__name__})")
    return data


@functools.lru_cache(maxsize=1024)
def _parse_dataschema(dataschema: str, event_type: str) -> int:
    # Cached: every envelope built or read checks its dataschema, and a service meets only a
    # few (type, version) pairs; an invalid one raises and is not cached.
    match = _DATASCHEMA.match(dataschema)
    if match is None or match["type"] != event_type:
        raise MalformedEvent(
            f"dataschema {dataschema!r} is not 'urn:oneplan:event:{event_type}:v<version>'"
        )
    return int(match["version"])
