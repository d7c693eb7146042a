"""The OnePlan event backbone.

Every service and every integrator stands on this package:

- :mod:`oneplan_events.envelope` - the CloudEvents envelope and its NATS binding;
- :mod:`oneplan_events.vocabulary` - data classes, plan sections, purposes, agencies;
- :mod:`oneplan_events.catalogue` - typed, versioned events, one catalogue per service;
- :mod:`oneplan_events.decider`, :mod:`~oneplan_events.uow` - deciders and the unit of work;
- :mod:`oneplan_events.types` - the free-text, date and time types of every input and event;
- :mod:`oneplan_events.schema`, :mod:`~oneplan_events.store`, :mod:`~oneplan_events.relay`,
  :mod:`~oneplan_events.replay` - the event store, the transactional outbox and its relay;
- :mod:`oneplan_events.consumer`, :mod:`~oneplan_events.reactions`,
  :mod:`~oneplan_events.discovery`, :mod:`~oneplan_events.deadletters` - exactly-once,
  in-order consumers and the reactions they run;
- :mod:`oneplan_events.streams` - partitioned JetStream streams and stream replay;
- :mod:`oneplan_events.clock`, :mod:`~oneplan_events.tracing` - time and trace context;
- :mod:`oneplan_events.asyncapi` - the AsyncAPI document of the services' catalogues.

The names below are importable from the package itself; they load their module on first use,
so importing one part never drags in (or cycles through) the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oneplan_events.catalogue import Catalogue, DataClass, Event, ForeignEvent
    from oneplan_events.clock import Clock, FixedClock, SystemClock
    from oneplan_events.consumer import DurableConsumer
    from oneplan_events.decider import Aggregate, Decider, Outcome
    from oneplan_events.envelope import Envelope, MalformedEvent
    from oneplan_events.reactions import Delivery, Reactions
    from oneplan_events.streams import StreamSpec, ensure_stream, replay_stream
    from oneplan_events.uow import UnitOfWork

_EXPORTS = {
    "Catalogue": "catalogue",
    "DataClass": "catalogue",
    "Event": "catalogue",
    "ForeignEvent": "catalogue",
    "Clock": "clock",
    "FixedClock": "clock",
    "SystemClock": "clock",
    "DurableConsumer": "consumer",
    "Aggregate": "decider",
    "Decider": "decider",
    "Outcome": "decider",
    "Envelope": "envelope",
    "MalformedEvent": "envelope",
    "Delivery": "reactions",
    "Reactions": "reactions",
    "StreamSpec": "streams",
    "ensure_stream": "streams",
    "replay_stream": "streams",
    "UnitOfWork": "uow",
}

__all__ = [
    "Aggregate",
    "Catalogue",
    "Clock",
    "DataClass",
    "Decider",
    "Delivery",
    "DurableConsumer",
    "Envelope",
    "Event",
    "FixedClock",
    "ForeignEvent",
    "MalformedEvent",
    "Outcome",
    "Reactions",
    "StreamSpec",
    "SystemClock",
    "UnitOfWork",
    "ensure_stream",
    "replay_stream",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'oneplan_events' has no attribute {name!r}")
    return getattr(importlib.import_module(f"oneplan_events.{module}"), name)
