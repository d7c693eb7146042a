"""The OnePlan event backbone.

Every service and every integrator stands on this package:

- :mod:`oneplan_events.envelope` - the CloudEvents envelope and its NATS binding;
- :mod:`oneplan_events.catalogue` - every event type, upcasting, JSON Schema;
- :mod:`oneplan_events.types` - the free-text, date and time types of every input and event;
- :mod:`oneplan_events.schema`, :mod:`~oneplan_events.store`, :mod:`~oneplan_events.relay`,
  :mod:`~oneplan_events.replay` - the event store, the transactional outbox and its relay;
- :mod:`oneplan_events.consumer`, :mod:`~oneplan_events.deadletters` - exactly-once consumers;
- :mod:`oneplan_events.streams` - JetStream streams and stream replay;
- :mod:`oneplan_events.tracing` - trace context across NATS;
- :mod:`oneplan_events.asyncapi` - the AsyncAPI document of the catalogue.

The names below are importable from the package itself; they load their module on first use,
so importing one part never drags in (or cycles through) the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oneplan_events.catalogue import CATALOGUE, DataClass, Event, UnknownEventType
    from oneplan_events.consumer import DurableConsumer, Handler
    from oneplan_events.deadletters import list_dead_letters, request_replay
    from oneplan_events.envelope import Envelope, MalformedEvent
    from oneplan_events.streams import STREAMS, StreamSpec, ensure_stream, replay_stream
    from oneplan_events.tracing import configure_tracing, publish_span

_EXPORTS = {
    "CATALOGUE": "catalogue",
    "DataClass": "catalogue",
    "Event": "catalogue",
    "UnknownEventType": "catalogue",
    "DurableConsumer": "consumer",
    "Handler": "consumer",
    "list_dead_letters": "deadletters",
    "request_replay": "deadletters",
    "Envelope": "envelope",
    "MalformedEvent": "envelope",
    "STREAMS": "streams",
    "StreamSpec": "streams",
    "ensure_stream": "streams",
    "replay_stream": "streams",
    "configure_tracing": "tracing",
    "publish_span": "tracing",
}

__all__ = [
    "CATALOGUE",
    "STREAMS",
    "DataClass",
    "DurableConsumer",
    "Envelope",
    "Event",
    "Handler",
    "MalformedEvent",
    "StreamSpec",
    "UnknownEventType",
    "configure_tracing",
    "ensure_stream",
    "list_dead_letters",
    "publish_span",
    "replay_stream",
    "request_replay",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'oneplan_events' has no attribute {name!r}")
    return getattr(importlib.import_module(f"oneplan_events.{module}"), name)
