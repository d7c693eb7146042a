"""One trace crosses the NATS hop: request -> send (PRODUCER) -> process (CONSUMER)."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from oneplan_events.tracing import configure_tracing, publish_span

from .conftest import Harness


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def named(spans: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    [span] = [span for span in spans if span.name == name]
    return span


async def test_a_trace_crosses_publish_and_consume(
    pg_harness: Harness, exporter: InMemorySpanExporter
) -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("POST /contributions"):
        envelope = pg_harness.envelope("traced")  # the command creates the event
    # the relay, later and outside the request's context
    headers, body = envelope.to_nats()
    with publish_span(envelope, headers):
        await pg_harness.js.publish(envelope.nats_subject, body, headers=headers)
    pg_harness.published.append(envelope)
    pg_harness.consumer("projector")
    await pg_harness.until_projected(1)

    subject = pg_harness.submitted_type
    spans = exporter.get_finished_spans()
    request = named(spans, "POST /contributions")
    send = named(spans, f"send {subject}")
    process = named(spans, f"process {subject}")
    assert request.context is not None
    assert send.context is not None
    assert send.kind is SpanKind.PRODUCER
    assert process.kind is SpanKind.CONSUMER
    assert {request.context.trace_id, send.context.trace_id, process.context.trace_id} == {
        request.context.trace_id
    }
    assert send.parent is not None
    assert send.parent.span_id == request.context.span_id
    assert process.parent is not None
    assert process.parent.span_id == send.context.span_id
    assert process.attributes == {
        "messaging.system": "nats",
        "messaging.destination.name": subject,
        "messaging.message.id": envelope.id,
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
    }
    assert send.attributes is not None
    assert send.attributes["messaging.operation.type"] == "send"


def test_configure_tracing_names_the_service() -> None:
    provider = configure_tracing("children", None)
    assert provider.resource.attributes["service.name"] == "children"
    exporting = configure_tracing("children", "http://127.0.0.1:4318")
    assert exporting.resource.attributes["service.name"] == "children"
    exporting.shutdown()
