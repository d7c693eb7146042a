"""JSON log lines carry the service name and the current trace and span ids."""

from __future__ import annotations

import json
import logging

from opentelemetry.sdk.trace import TracerProvider

from oneplan_kit.logging import JsonFormatter


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "kit.test", "levelname": "INFO", "msg": message})
    record.__dict__.update(extra)
    return record


def test_a_line_inside_a_span_carries_its_ids() -> None:
    tracer = TracerProvider().get_tracer("kit-test")
    formatter = JsonFormatter("kittest")
    with tracer.start_as_current_span("work") as span:
        line = json.loads(formatter.format(_record("hello", child_count=3)))
        context = span.get_span_context()
    assert line["message"] == "hello"
    assert line["service"] == "kittest"
    assert line["level"] == "INFO"
    assert line["logger"] == "kit.test"
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")
    assert line["child_count"] == 3
    assert "timestamp" in line


def test_a_line_outside_a_span_has_no_trace_ids() -> None:
    line = json.loads(JsonFormatter("kittest").format(_record("quiet")))
    assert "trace_id" not in line
