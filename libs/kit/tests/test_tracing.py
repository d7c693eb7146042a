"""One trace per command: the HTTP request, its SQL statements, and the publish to NATS."""

from __future__ import annotations

import asyncio
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind


async def test_a_command_is_traced_from_request_to_publish(sqlite_service: Any) -> None:
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        response = await sqlite_service.client.post(
            "/widgets", json={"name": "gear", "size": 1}, headers=sqlite_service.auth()
        )
        assert response.status_code == 201
        async with asyncio.timeout(10):
            while True:
                if any(s.kind is SpanKind.PRODUCER for s in exporter.get_finished_spans()):
                    break
                await asyncio.sleep(0.05)
        spans = exporter.get_finished_spans()
    finally:
        exporter.shutdown()
    server = next(s for s in spans if s.kind is SpanKind.SERVER)
    assert server.context is not None
    trace_id = server.context.trace_id
    in_trace = [s for s in spans if s.context is not None and s.context.trace_id == trace_id]
    kinds = {s.kind for s in in_trace}
    assert SpanKind.CLIENT in kinds, "SQL statements are traced"
    assert SpanKind.PRODUCER in kinds, "the relay's publish joins the command's trace"
