"""The AsyncAPI 3.0 document of every OnePlan event, generated from the services' catalogues.

Each installed service contributes what it publishes (a ``send`` operation per event type,
with its full schema) and what it reads (a ``receive`` operation per foreign event type), so
the document shows who depends on what. ``oneplan generate`` writes ``docs/asyncapi.yaml``
from the installed services (``oneplan_kit.deployment``); ``oneplan check-generated`` exits 1
when the committed file differs. The output is deterministic (types sorted, no timestamps),
so the file only changes when the contract does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import yaml

from oneplan_events.catalogue import Catalogue, DataClass, EventType

__all__ = ["ServiceContract", "asyncapi_document", "render"]

_REFS: Final = "#/components/schemas/"
_HEADERS: Final = "CloudEventsHeaders"

_DESCRIPTION: Final = """\
Every event OnePlan services publish on NATS JetStream. Each event is a CloudEvents 1.0 event
carried by the CloudEvents NATS protocol binding in binary content mode: every attribute is a
header `ce-<name>` (values percent-encoded), the data is the JSON body (`content-type:
application/json`), and `Nats-Msg-Id` is the event id, so JetStream drops a re-published event
within the stream's duplicate window. The NATS subject is the event type followed by the
record's key (`<type>.<record>`), so subscribe to `<type>.>`; in JetStream a service's stream
stores it with a partition number appended (`<type>.<record>.<partition>`, the same partition
for every event of a record). `ce-subject` names the record's event stream and
`ce-streamversion` the event's version in it (1, 2, 3... per record, in order). The data's schema
version is in `ce-dataschema` (`urn:oneplan:event:<type>:v<version>`); consumers upcast older
versions on read. `ce-dataclass` is the class of information the event carries, on which
consent decisions are taken. See docs/events.md for how to add and evolve an event type.
"""


def _headers_schema() -> dict[str, Any]:
    def text(description: str, **more: Any) -> dict[str, Any]:
        return {"type": "string", "description": description, **more}

    return {
        "type": "object",
        "description": "CloudEvents attributes as NATS headers (values percent-encoded).",
        "required": [
            "ce-id",
            "ce-source",
            "ce-type",
            "ce-specversion",
            "ce-time",
            "content-type",
            "Nats-Msg-Id",
        ],
        "properties": {
            "ce-id": text("Event id (a UUID).", format="uuid"),
            "ce-source": text("The publishing service, `/oneplan/<service>`."),
            "ce-type": text("The event type; the NATS subject begins with it."),
            "ce-specversion": text("CloudEvents version.", const="1.0"),
            "ce-time": text("When the fact happened (RFC 3339, UTC).", format="date-time"),
            "ce-subject": text("The event stream the event belongs to, e.g. `child/<uuid>`."),
            "ce-streamversion": text(
                "The event's version in its stream: 1 for the first, then 2, 3...",
                pattern="^[1-9][0-9]*$",
            ),
            "ce-dataschema": text("`urn:oneplan:event:<type>:v<schema version>`."),
            "ce-childid": text("The child the event is about, when it is about one child."),
            "ce-correlationid": text("Id shared by every event of one piece of work."),
            "ce-causationid": text("Id of the command or event that caused this one."),
            "ce-traceparent": text("W3C trace context of the command that created the event."),
            "ce-dataclass": text(
                "Class of information carried.", enum=[member.value for member in DataClass]
            ),
            "content-type": text("Media type of the body.", const="application/json"),
            "Nats-Msg-Id": text("JetStream de-duplication id: the event id."),
            "traceparent": text("W3C trace context of the publish span (set by the relay)."),
        },
    }


class _Schemas:
    """Collects payload schemas, hoisting shared definitions into components/schemas."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {_HEADERS: _headers_schema()}

    def payload(self, info: EventType) -> dict[str, Any]:
        schema = self._generate(info, _REFS + "{model}")
        if schema is None:
            # A definition name clashes with a different one: qualify this type's names.
            schema = self._generate(info, f"{_REFS}{info.service}.{{model}}")
        if schema is None:
            raise ValueError(f"{info.name}: conflicting schema definitions")
        return schema

    def _generate(self, info: EventType, template: str) -> dict[str, Any] | None:
        schema: dict[str, Any] = info.model.model_json_schema(ref_template=template)
        prefix = template.removeprefix(_REFS).removesuffix("{model}")
        definitions = {prefix + name: value for name, value in schema.pop("$defs", {}).items()}
        if any(self.schemas.get(name, value) != value for name, value in definitions.items()):
            return None
        self.schemas.update(definitions)
        schema["title"] = info.name
        schema["description"] = info.summary
        return schema


@dataclass(frozen=True, slots=True)
class ServiceContract:
    """What one service contributes to the document: its name and its catalogue."""

    name: str
    catalogue: Catalogue


def asyncapi_document(services: Sequence[ServiceContract]) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of ``services`` as plain data."""
    schemas = _Schemas()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for service in sorted(services, key=lambda contract: contract.name):
        for info in service.catalogue.published():
            # AsyncAPI keys allow letters, digits, '.', '-' and '_': the type itself will do.
            key = info.name
            messages[key] = _message(info, schemas.payload(info))
            channels[key] = _channel(info)
            operations[f"publish.{key}"] = _operation("send", service.name, info, key)
    for service in sorted(services, key=lambda contract: contract.name):
        for info in service.catalogue.readers():
            if info.name in channels:
                operations[f"{service.name}.receive.{info.name}"] = _operation(
                    "receive", service.name, info, info.name
                )
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "OnePlan events",
            "version": "1.0.0",
            "description": " ".join(_DESCRIPTION.split()),
        },
        "defaultContentType": "application/json",
        "servers": {
            "embedded": {
                "host": "127.0.0.1:4223",
                "protocol": "nats",
                "description": "The embedded default: the nats-server with JetStream that "
                "`oneplan dev` starts under ./var/ (another free port when 4223 is taken).",
            }
        },
        "channels": dict(sorted(channels.items())),
        "operations": dict(sorted(operations.items())),
        "components": {
            "messages": dict(sorted(messages.items())),
            "schemas": dict(sorted(schemas.schemas.items())),
        },
    }


def _channel(info: EventType) -> dict[str, Any]:
    key = info.name
    return {
        "address": f"{key}.{{record}}",
        "title": key,
        "summary": info.summary,
        "parameters": {
            "record": {
                "description": "The record's key: the last part of `ce-subject` (a UUID for "
                "OnePlan's own records). Subscribe to `" + key + ".>`."
            }
        },
        "messages": {key: {"$ref": f"#/components/messages/{key}"}},
    }


def _operation(action: str, service: str, info: EventType, key: str) -> dict[str, Any]:
    verb = "publishes" if action == "send" else "reads"
    return {
        "action": action,
        "title": f"{service} {verb} {info.name}",
        "summary": info.summary or f"{service} reads {info.name}",
        "channel": {"$ref": f"#/channels/{key}"},
        "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
    }


def _message(info: EventType, payload: dict[str, Any]) -> dict[str, Any]:
    data_class = info.data_class.value if info.data_class else "per event (data_class field)"
    return {
        "name": info.name,
        "title": info.model.__name__,
        "summary": info.summary,
        "contentType": "application/json",
        "headers": {
            "allOf": [
                {"$ref": _REFS + _HEADERS},
                {
                    "type": "object",
                    "properties": {
                        "ce-type": {"type": "string", "const": info.name},
                        "ce-dataschema": {"type": "string", "const": info.dataschema},
                    },
                },
            ]
        },
        "payload": payload,
        "x-oneplan-schema-version": info.version,
        "x-oneplan-dataclass": data_class,
    }


def render(services: Sequence[ServiceContract]) -> str:
    """The document as YAML text."""
    return yaml.safe_dump(
        asyncapi_document(services), sort_keys=False, allow_unicode=True, width=100
    )
