"""OpenTelemetry across NATS: ``traceparent`` travels with every event.

The envelope's ``traceparent`` attribute records the context the event was created in (the
command's request). When the relay publishes, :func:`publish_span` opens a PRODUCER span
``send <subject>`` under that context and writes the span's own context into the plain W3C
``traceparent`` header of the NATS message; the consumer's :func:`process_span` opens a CONSUMER
span ``process <subject>`` whose parent is that header (or, failing it, the envelope's
attribute). Attributes follow the OpenTelemetry messaging semantic conventions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from oneplan_events.envelope import Envelope

__all__ = [
    "TRACEPARENT_HEADER",
    "configure_tracing",
    "current_traceparent",
    "process_span",
    "publish_span",
]

TRACEPARENT_HEADER: Final = "traceparent"
_PROPAGATOR: Final = TraceContextTextMapPropagator()
_TRACER_NAME: Final = "oneplan_events"


def configure_tracing(service_name: str, otlp_endpoint: str | None = None) -> TracerProvider:
    """Install a tracer provider for ``service_name``; export over OTLP/HTTP only when asked.

    Without an endpoint spans are still created (so ``traceparent`` propagates and logs carry
    trace ids) but nothing leaves the process.
    """
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if otlp_endpoint:
        # Imported here: the exporter pulls in protobuf and requests, which a service that
        # never exports should not pay for at start-up.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=_traces_url(otlp_endpoint)))
        )
    trace.set_tracer_provider(provider)
    return provider


def _traces_url(endpoint: str) -> str:
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, or None outside a sampled-or-valid span."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get(TRACEPARENT_HEADER)


_cached_tracer: list[tuple[trace.TracerProvider, trace.Tracer]] = []


def _tracer() -> trace.Tracer:
    """This module's tracer from the current provider (looked up once per provider: every
    event published and every event consumed opens a span)."""
    provider = trace.get_tracer_provider()
    if _cached_tracer and _cached_tracer[0][0] is provider:
        return _cached_tracer[0][1]
    tracer = provider.get_tracer(_TRACER_NAME)
    _cached_tracer[:] = [(provider, tracer)]
    return tracer


def _context_from(traceparent: str | None) -> otel_context.Context:
    if not traceparent:
        return otel_context.Context()
    return _PROPAGATOR.extract({TRACEPARENT_HEADER: traceparent})


def _messaging_attributes(envelope: Envelope, operation: str) -> dict[str, str]:
    return {
        "messaging.system": "nats",
        "messaging.destination.name": envelope.type,
        "messaging.message.id": envelope.id,
        "messaging.operation.type": operation,
        "messaging.operation.name": "send" if operation == "send" else "process",
    }


@contextmanager
def publish_span(
    envelope: Envelope, headers: MutableMapping[str, str] | None = None
) -> Iterator[Span]:
    """A PRODUCER span ``send <subject>`` around publishing ``envelope``.

    The span's parent is the envelope's ``traceparent`` (the context that created the event),
    so a relay running in the background still joins the command's trace. When ``headers`` is
    given, the span's context is written into its ``traceparent`` key, which the consumer uses
    as its parent.
    """
    with _tracer().start_as_current_span(
        f"send {envelope.type}",
        context=_context_from(envelope.traceparent),
        kind=SpanKind.PRODUCER,
        attributes=_messaging_attributes(envelope, "send"),
    ) as span:
        if headers is not None:
            _PROPAGATOR.inject(headers)
        yield span


@contextmanager
def process_span(envelope: Envelope, headers: Mapping[str, str] | None = None) -> Iterator[Span]:
    """A CONSUMER span ``process <subject>`` whose parent is the message's trace context.

    The NATS ``traceparent`` header (written by :func:`publish_span`) wins over the envelope's
    attribute, so the trace reads request -> send -> process.
    """
    parent = (headers or {}).get(TRACEPARENT_HEADER) or envelope.traceparent
    with _tracer().start_as_current_span(
        f"process {envelope.type}",
        context=_context_from(parent),
        kind=SpanKind.CONSUMER,
        attributes=_messaging_attributes(envelope, "process"),
    ) as span:
        yield span
