"""The event catalogue: typed, versioned event models and the one registry of them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Final, TypeVar

from pydantic import BaseModel, ConfigDict

from oneplan_events.envelope import Envelope, MalformedEvent, dataschema_for
from oneplan_events.tracing import current_traceparent
from oneplan_events.types import RECORDED_EVENT_CONTEXT

__all__ = [
    "CATALOGUE",
    "Catalogue",
    "DataClass",
    "Event",
    "EventType",
    "UnknownEventType",
    "UnsupportedSchemaVersion",
    "Upcaster",
]


class DataClass(StrEnum):
    """The class of information an event carries; consent is given per data class."""

    IDENTITY = "identity"
    STORY = "story"
    EDUCATION = "education"
    HEALTH = "health"
    SOCIAL_CARE = "social_care"
    TRANSPORT = "transport"
    CONSENT = "consent"


class Event(BaseModel):
    """Base of every event payload: an immutable fact, refusing fields it does not declare.

    ``type``, ``data_class`` and ``schema_version`` are set by :meth:`Catalogue.register`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ClassVar[str]
    data_class: ClassVar[DataClass]
    schema_version: ClassVar[int]


class UnknownEventType(KeyError):
    """The catalogue has no event type of this name."""

    def __init__(self, event_type: str) -> None:
        super().__init__(event_type)
        self.event_type = event_type

    def __str__(self) -> str:
        return f"unknown event type {self.event_type!r}"


class UnsupportedSchemaVersion(ValueError):
    """A stored schema version the catalogue cannot bring to the current one."""


Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
E = TypeVar("E", bound=type[Event])

# oneplan.<service>.<aggregate>.<event>, each part lower snake case.
_TYPE_PATTERN: Final = re.compile(
    r"^oneplan\.([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)$"
)
# Events are facts: the last word of the event name is a past tense or past participle.
_PAST_SUFFIXES: Final = ("ed", "en", "wn", "ne")
_IRREGULAR_PAST: Final = frozenset(
    {
        "begun", "bought", "brought", "built", "cut", "dealt", "fed", "found", "held", "kept",
        "led", "left", "lent", "lost", "made", "meant", "met", "paid", "put", "read", "run",
        "sent", "set", "shut", "sold", "spent", "taught", "told", "won",
    }
)  # fmt: skip


def check_type_name(event_type: str) -> None:
    """Raise ValueError unless ``event_type`` is ``oneplan.<service>.<aggregate>.<past-tense>``."""
    match = _TYPE_PATTERN.match(event_type)
    if match is None:
        raise ValueError(
            f"event type {event_type!r} must match oneplan.<service>.<aggregate>.<event> "
            "(lower snake case parts)"
        )
    last_word = match[3].rsplit("_", 1)[-1]
    if not (last_word.endswith(_PAST_SUFFIXES) or last_word in _IRREGULAR_PAST):
        raise ValueError(
            f"event type {event_type!r} must end in a past-tense verb (a fact, e.g. 'issued')"
        )


@dataclass(frozen=True, slots=True)
class EventType:
    """What the catalogue knows of one event type."""

    name: str
    model: type[Event]
    data_class: DataClass | None  # None: each event carries its own ``data_class`` field
    version: int
    summary: str

    @property
    def service(self) -> str:
        """The publishing service (second part of the type)."""
        return self.name.split(".")[1]

    @property
    def dataschema(self) -> str:
        """The URN of the current schema version."""
        return dataschema_for(self.name, self.version)


class Catalogue:
    """The registry of event types, their upcasters and their schemas."""

    def __init__(self) -> None:
        self._types: dict[str, EventType] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        self._families: list[tuple[re.Pattern[str], Callable[[str], object]]] = []

    def register(
        self, event_type: str, data_class: DataClass | None, *, version: int = 1, summary: str
    ) -> Callable[[E], E]:
        """Class decorator registering an event model under ``event_type``.

        ``data_class=None`` is for generic events whose data class varies per event: the model
        must then declare a ``data_class`` field.
        """
        check_type_name(event_type)
        if version < 1:
            raise ValueError(f"{event_type}: schema version must be >= 1, got {version}")
        if not summary.strip():
            raise ValueError(f"{event_type}: a summary is required")

        def decorate(model: E) -> E:
            self._add(event_type, model, data_class, version, summary)
            return model

        return decorate

    def _add(
        self,
        event_type: str,
        model: type[Event],
        data_class: DataClass | None,
        version: int,
        summary: str,
    ) -> None:
        if event_type in self._types:
            raise ValueError(f"event type {event_type!r} is already registered")
        if data_class is None and "data_class" not in model.model_fields:
            raise ValueError(f"{event_type}: data_class=None needs a 'data_class' field")
        model.type = event_type
        model.schema_version = version
        if data_class is not None:
            model.data_class = data_class
        self._types[event_type] = EventType(event_type, model, data_class, version, summary)

    def upcaster(self, event_type: str, *, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator registering the function turning ``from_version`` data into the next one."""

        def decorate(function: Upcaster) -> Upcaster:
            key = (event_type, from_version)
            if key in self._upcasters:
                raise ValueError(f"{event_type}: an upcaster from v{from_version} exists already")
            self._upcasters[key] = function
            return function

        return decorate

    def family(self, pattern: str, register: Callable[[str], object]) -> None:
        """Register a generic family: a type matching ``pattern`` (with a ``service`` group)
        is registered on first sight by ``register(service)``, so a new agency's events decode
        without a catalogue change."""
        self._families.append((re.compile(pattern), register))

    def info(self, event_type: str) -> EventType:
        """The catalogue entry for ``event_type``; raises :class:`UnknownEventType`."""
        known = self._types.get(event_type)
        if known is not None:
            return known
        for pattern, register in self._families:
            match = pattern.match(event_type)
            if match is not None:
                register(match["service"])
                return self._types[event_type]
        raise UnknownEventType(event_type)

    def model(self, event_type: str) -> type[Event]:
        """The model class of ``event_type``."""
        return self.info(event_type).model

    def types(self) -> list[str]:
        """Every registered event type, sorted."""
        return sorted(self._types)

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._types

    def upcast(
        self, event_type: str, schema_version: int, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``data`` of ``schema_version`` brought to the current version (input untouched)."""
        current = self.info(event_type).version
        if not 1 <= schema_version <= current:
            raise UnsupportedSchemaVersion(
                f"{event_type} v{schema_version} is not between v1 and the current v{current}"
            )
        upcast = dict(data)
        for version in range(schema_version, current):
            step = self._upcasters.get((event_type, version))
            if step is None:
                raise UnsupportedSchemaVersion(
                    f"{event_type}: no upcaster from v{version} to v{version + 1}"
                )
            upcast = step(upcast)
        return upcast

    def decode(self, event_type: str, schema_version: int, data: Mapping[str, Any]) -> Event:
        """Upcast ``data`` to the current version and validate it into the event model.

        Raises :class:`UnknownEventType`, :class:`UnsupportedSchemaVersion` or pydantic's
        ``ValidationError``. A recorded event is read under ``RECORDED_EVENT_CONTEXT``: the
        shared text and time types never refuse what an older rule let through.
        """
        model = self.model(event_type)
        data = self.upcast(event_type, schema_version, data)
        return model.model_validate(data, context=RECORDED_EVENT_CONTEXT)

    def decode_envelope(self, envelope: Envelope) -> Event:
        """Decode an envelope's data, also checking its ``dataclass`` against the event's."""
        event = self.decode(envelope.type, envelope.schema_version, envelope.data)
        if envelope.dataclass is not None and envelope.dataclass != event.data_class:
            raise MalformedEvent(
                f"{envelope.type}: envelope dataclass {envelope.dataclass!r} differs from the "
                f"event's {event.data_class.value!r}"
            )
        return event

    def missing_upcasters(self) -> list[str]:
        """Every (type, version) step without an upcaster; empty when the catalogue is whole."""
        return [
            f"{info.name} v{version}->v{version + 1}"
            for info in self._types.values()
            for version in range(1, info.version)
            if (info.name, version) not in self._upcasters
        ]

    def json_schema(self, event_type: str) -> dict[str, Any]:
        """JSON Schema (draft 2020-12) of the current version of ``event_type``'s data."""
        info = self.info(event_type)
        schema: dict[str, Any] = info.model.model_json_schema()
        schema["$id"] = info.dataschema
        schema["title"] = info.name
        schema["description"] = info.summary
        return schema

    def envelope_for(
        self,
        event: Event,
        *,
        source: str,
        subject: str | None,
        correlationid: str | None = None,
        causationid: str | None = None,
        childid: str | None = None,
        event_id: str | None = None,
        time: datetime | None = None,
    ) -> Envelope:
        """Wrap ``event`` in an envelope: a new id, now (UTC), the current trace context.

        ``childid`` defaults to the event's ``child_id`` field when it has one.
        """
        info = self.info(type(event).type)
        if type(event) is not info.model:
            raise ValueError(f"{type(event).__name__} is not the registered model of {info.name}")
        return Envelope(
            id=event_id or str(uuid.uuid4()),
            source=source,
            type=info.name,
            time=time or datetime.now(UTC),
            data=event.model_dump(mode="json"),
            subject=subject,
            dataschema=info.dataschema,
            childid=childid or _child_id_of(event),
            correlationid=correlationid,
            causationid=causationid,
            traceparent=current_traceparent(),
            dataclass=DataClass(event.data_class).value,
        )


def _child_id_of(event: Event) -> str | None:
    child_id = getattr(event, "child_id", None)
    return None if child_id is None else str(child_id)


CATALOGUE: Final = Catalogue()
"""The one catalogue; importing :mod:`oneplan_events.catalogue` fills it."""
