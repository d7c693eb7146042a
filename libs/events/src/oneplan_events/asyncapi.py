"""The AsyncAPI 3.0 document of every OnePlan event, generated from the catalogue.

``python -m oneplan_events.asyncapi`` writes ``docs/asyncapi.yaml``; ``--check`` exits 1 when
the committed file differs from what the catalogue generates. The output is deterministic
(types sorted, no timestamps), so the file only changes when the contract does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import yaml

from oneplan_events.catalogue import CATALOGUE, Catalogue, DataClass, EventType

__all__ = ["DEFAULT_OUTPUT", "asyncapi_document", "main", "render"]

DEFAULT_OUTPUT: Final = Path("docs/asyncapi.yaml")
REGENERATE: Final = "uv run python -m oneplan_events.asyncapi --output docs/asyncapi.yaml"
_REFS: Final = "#/components/schemas/"
_HEADERS: Final = "CloudEventsHeaders"

_DESCRIPTION: Final = """\
Every event OnePlan services publish on NATS JetStream. Each event is a CloudEvents 1.0 event
carried by the CloudEvents NATS protocol binding in binary content mode: every attribute is a
header `ce-<name>` (values percent-encoded), the data is the JSON body (`content-type:
application/json`), and `Nats-Msg-Id` is the event id, so JetStream drops a re-published event
within the stream's duplicate window. The NATS subject is the event type. The data's schema
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
            "ce-type": text("The event type; equal to the NATS subject."),
            "ce-specversion": text("CloudEvents version.", const="1.0"),
            "ce-time": text("When the fact happened (RFC 3339, UTC).", format="date-time"),
            "ce-subject": text("The event stream the event belongs to, e.g. `child/<uuid>`."),
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


def asyncapi_document(catalogue: Catalogue = CATALOGUE) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of ``catalogue`` as plain data."""
    schemas = _Schemas()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type in catalogue.types():
        info = catalogue.info(event_type)
        # AsyncAPI keys allow letters, digits, '.', '-' and '_': the type itself will do.
        key = event_type
        messages[key] = _message(info, schemas.payload(info))
        channels[key] = {
            "address": event_type,
            "title": event_type,
            "summary": info.summary,
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        operations[f"publish.{key}"] = {
            "action": "send",
            "title": f"{info.service} publishes {event_type}",
            "summary": info.summary,
            "channel": {"$ref": f"#/channels/{key}"},
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
        }
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
                "host": "127.0.0.1:4222",
                "protocol": "nats",
                "description": "The embedded default: a nats-server with JetStream that "
                "`oneplan dev` starts under ./var/.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(schemas.schemas.items()))},
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


def render(catalogue: Catalogue = CATALOGUE) -> str:
    """The document as YAML text."""
    return yaml.safe_dump(
        asyncapi_document(catalogue), sort_keys=False, allow_unicode=True, width=100
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Write the document, or with ``--check`` compare it with the file; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m oneplan_events.asyncapi")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="exit 1 when the file differs")
    arguments = parser.parse_args(argv)
    generated = render()
    output: Path = arguments.output
    if arguments.check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != generated:
            print(f"{output} differs from the event catalogue; regenerate it with:\n  {REGENERATE}")
            return 1
        print(f"{output} is up to date ({len(CATALOGUE.types())} event types)")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(generated, encoding="utf-8")
    print(f"wrote {output} ({len(CATALOGUE.types())} event types)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
