"""The event catalogue: typed, versioned event models, one catalogue per service.

A service's catalogue holds the event types it **publishes** (their full, strict models: the
contract integrators read in the AsyncAPI document) and the **readers** of the foreign events
it consumes: tolerant models of just the fields it needs, because a service never imports
another service's code (consumer-driven contracts). Every catalogue also knows the generic
families any agency publishes (contributions to the shared plan, disclosures), so a new
agency's events decode without a catalogue change anywhere.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Final, TypeVar

from pydantic import BaseModel, ConfigDict

from oneplan_events.envelope import Envelope, MalformedEvent, dataschema_for
from oneplan_events.tracing import current_traceparent
from oneplan_events.types import RECORDED_EVENT_CONTEXT
from oneplan_events.vocabulary import DataClass

__all__ = [
    "Catalogue",
    "DataClass",
    "Event",
    "EventType",
    "ForeignEvent",
    "UnknownEventType",
    "UnsupportedSchemaVersion",
    "Upcaster",
]


class Event(BaseModel):
    """Base of every published event payload: an immutable fact refusing undeclared fields.

    ``type``, ``data_class`` and ``schema_version`` are set by :meth:`Catalogue.register`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ClassVar[str]
    data_class: ClassVar[DataClass]
    schema_version: ClassVar[int]


class ForeignEvent(Event):
    """Base of a reader: the fields a consumer needs from another service's event.

    Unknown fields are ignored (the producer may add fields in a compatible new version
    without the consumer changing); a field the reader needs and the event lacks is a
    validation error, and the consumer parks the event with the reason.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")


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

# Generic families every catalogue knows: (pattern with a `service` group, registrar).
# Filled by oneplan_events.catalogue.shared when it is imported.
GENERIC_FAMILIES: list[tuple[re.Pattern[str], Callable[[Catalogue, str], object]]] = []


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


def service_of(event_type: str) -> str:
    """The publishing service named by an event type (its second part)."""
    return event_type.split(".")[1]


@dataclass(frozen=True, slots=True)
class EventType:
    """What the catalogue knows of one event type."""

    name: str
    model: type[Event]
    data_class: DataClass | None  # None: each event carries its own ``data_class`` field
    version: int
    summary: str
    published: bool = True  # False: a reader of another service's event
    # False: a generic-family type (another service's disclosures, say) met while decoding,
    # not one the service declared it reads; contracts list only what is declared.
    declared: bool = True

    @property
    def service(self) -> str:
        """The publishing service (second part of the type)."""
        return service_of(self.name)

    @property
    def dataschema(self) -> str:
        """The URN of the current schema version."""
        return dataschema_for(self.name, self.version)


class Catalogue:
    """The registry of one service's event types, their upcasters and their schemas.

    ``service`` names the publishing service: :meth:`register` refuses a type of another
    service (that is a reader, :meth:`reads`). ``None`` makes a catalogue for tests and tools
    that publish under several names.
    """

    def __init__(self, service: str | None = None) -> None:
        self.service = service
        self._types: dict[str, EventType] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        # Per type: its current version and its model's validator, found once (decode runs
        # for every event a consumer or a replay reads).
        self._validators: dict[str, tuple[int, Any]] = {}
        self._families: list[tuple[re.Pattern[str], Callable[[Catalogue, str], object]]] = []
        # Imported here (not at module level) because shared imports this module.
        from oneplan_events.catalogue import shared  # noqa: F401 - fills GENERIC_FAMILIES

    # -- registration ---------------------------------------------------------------------

    def register(
        self, event_type: str, data_class: DataClass | None, *, version: int = 1, summary: str
    ) -> Callable[[E], E]:
        """Class decorator registering a model of an event type this service publishes.

        ``data_class=None`` is for generic events whose data class varies per event: the model
        must then declare a ``data_class`` field.
        """
        check_type_name(event_type)
        if self.service is not None and service_of(event_type) != self.service:
            raise ValueError(
                f"{event_type} is not an event of {self.service}: register a reader of "
                "another service's event with Catalogue.reads"
            )
        _check_version_and_summary(event_type, version, summary)

        def decorate(model: E) -> E:
            self._add(EventType(event_type, model, data_class, version, summary))
            return model

        return decorate

    def reads(
        self,
        event_type: str,
        data_class: DataClass,
        *,
        version: int = 1,
        summary: str = "",
    ) -> Callable[[E], E]:
        """Class decorator registering a reader (a :class:`ForeignEvent`) of another
        service's event.

        ``version`` is the producer's schema version the reader was written for: older
        stored versions go through this catalogue's upcasters, newer ones are read as they
        are (the reader ignores fields it does not know).
        """
        check_type_name(event_type)
        _check_version_and_summary(event_type, version, summary or event_type)

        def decorate(model: E) -> E:
            if not issubclass(model, ForeignEvent):
                raise TypeError(f"a reader of {event_type} must be a ForeignEvent")
            self._add(EventType(event_type, model, data_class, version, summary, published=False))
            return model

        return decorate

    def add_generic_reader(
        self, event_type: str, model: type[Event], data_class: DataClass | None, summary: str
    ) -> None:
        """Register another service's generic-family type (a contribution, a disclosure),
        read with the family's shared strict model."""
        self._add(EventType(event_type, model, data_class, 1, summary, published=False))

    def reads_family(self, type_pattern: str, register: Callable[[Catalogue, str], object]) -> None:
        """Read a family of other services' events that this service alone consumes, such as
        every agency's ``oneplan.<service>.advice.submitted``: the first time a type matching
        ``type_pattern`` (a regular expression with a ``service`` group) is met, ``register``
        is called with this catalogue and the publishing service's name, and registers its
        reader (e.g. with :meth:`add_generic_reader`). Unlike the generic families every
        catalogue knows (contributions, disclosures), this one is this catalogue's own.
        """
        pattern = re.compile(type_pattern)
        if "service" not in pattern.groupindex:
            raise ValueError(f"{type_pattern!r} needs a named group 'service'")
        self._families.append((pattern, register))

    def _add(self, entry: EventType) -> None:
        known = self._types.get(entry.name)
        if known is not None:
            if known.model is entry.model:
                # the same model registered again (a shared generic class), now declared
                self._types[entry.name] = dataclasses.replace(known, declared=True)
                return
            raise ValueError(f"event type {entry.name!r} is already registered")
        if entry.data_class is None and "data_class" not in entry.model.model_fields:
            raise ValueError(f"{entry.name}: data_class=None needs a 'data_class' field")
        entry.model.type = entry.name
        entry.model.schema_version = entry.version
        self._validators.pop(entry.name, None)
        if entry.data_class is not None:
            entry.model.data_class = entry.data_class
        self._types[entry.name] = entry

    def upcaster(self, event_type: str, *, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator registering the function turning ``from_version`` data into the next one."""

        def decorate(function: Upcaster) -> Upcaster:
            key = (event_type, from_version)
            if key in self._upcasters:
                raise ValueError(f"{event_type}: an upcaster from v{from_version} exists already")
            self._upcasters[key] = function
            return function

        return decorate

    # -- lookup ---------------------------------------------------------------------------

    def info(self, event_type: str) -> EventType:
        """The catalogue entry for ``event_type``; raises :class:`UnknownEventType`."""
        known = self._types.get(event_type)
        if known is not None:
            return known
        for pattern, register in (*GENERIC_FAMILIES, *self._families):
            match = pattern.match(event_type)
            if match is not None:
                before = set(self._types)
                register(self, match["service"])
                for name in set(self._types) - before:  # the family met, not declared
                    self._types[name] = dataclasses.replace(self._types[name], declared=False)
                return self._types[event_type]
        raise UnknownEventType(event_type)

    def model(self, event_type: str) -> type[Event]:
        """The model class of ``event_type``."""
        return self.info(event_type).model

    def types(self) -> list[str]:
        """Every registered event type (published and read), sorted."""
        return sorted(self._types)

    def published(self) -> list[EventType]:
        """The event types this service publishes, sorted by name."""
        return [self._types[name] for name in sorted(self._types) if self._types[name].published]

    def readers(self) -> list[EventType]:
        """The foreign event types this service declares it reads, sorted by name (not the
        generic-family types it merely met while decoding)."""
        return [
            entry
            for entry in (self._types[name] for name in sorted(self._types))
            if not entry.published and entry.declared
        ]

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._types

    # -- decoding -------------------------------------------------------------------------

    def upcast(
        self, event_type: str, schema_version: int, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``data`` of ``schema_version`` brought to the current version (input untouched)."""
        info = self.info(event_type)
        current = info.version
        if schema_version < 1 or (info.published and schema_version > current):
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
        known = self._validators.get(event_type)
        if known is None:
            info = self.info(event_type)
            # The model's pydantic-core validator, which model_validate calls (without the
            # Python wrapper around it: a replay decodes a million events).
            known = self._validators[event_type] = (
                info.version,
                info.model.__pydantic_validator__,
            )
        version, validator = known
        if schema_version == version:
            # The hot path of every consumer and replay: nothing to upcast, no copy.
            event: Event = validator.validate_python(data, context=RECORDED_EVENT_CONTEXT)
            return event
        info = self.info(event_type)
        upcast = self.upcast(event_type, schema_version, data)
        return info.model.model_validate(upcast, context=RECORDED_EVENT_CONTEXT)

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

    # -- publishing -----------------------------------------------------------------------

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

        ``childid`` defaults to the event's ``child_id`` field when it has one. The stream
        version is set by the event store when the event is appended.
        """
        info = self.info(type(event).type)
        if type(event) is not info.model or not info.published:
            raise ValueError(
                f"{type(event).__name__} is not a published model of {info.name} in this catalogue"
            )
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


def _check_version_and_summary(event_type: str, version: int, summary: str) -> None:
    if version < 1:
        raise ValueError(f"{event_type}: schema version must be >= 1, got {version}")
    if not summary.strip():
        raise ValueError(f"{event_type}: a summary is required")


def _child_id_of(event: Event) -> str | None:
    child_id = getattr(event, "child_id", None)
    return None if child_id is None else str(child_id)
