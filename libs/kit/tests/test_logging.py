"""JSON log lines carry the service name and the current trace and span ids."""

from __future__ import annotations

import json
import logging

from opentelemetry.sdk.trace import TracerProvider

from oneplan_kit.dev import readable
from oneplan_kit.logging import JsonFormatter, configure_logging


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


def _access(path: str, status: int = 200) -> logging.LogRecord:
    return logging.makeLogRecord(
        {
            "name": "uvicorn.access",
            "levelname": "INFO",
            "msg": '%s - "%s %s HTTP/%s" %d',
            "args": ("127.0.0.1:5000", "GET", path, "1.1", status),
        }
    )


def test_health_probes_are_left_out_of_the_access_log_and_requests_are_not() -> None:
    configure_logging("kit-test")
    access = logging.getLogger("uvicorn.access")
    assert not access.filter(_access("/readyz", 503))
    assert not access.filter(_access("/healthz"))
    assert not access.filter(_access("/readyz?verbose=1"))
    assert access.filter(_access("/v1/children"))
    assert access.filter(_access("/v1/readyz-report"))


def test_alembic_keeps_its_upgrades_and_drops_its_dialect_notes() -> None:
    configure_logging("kit-test")
    migration = logging.getLogger("alembic.runtime.migration")

    def said(message: str) -> logging.LogRecord:
        return logging.makeLogRecord({"name": migration.name, "msg": message})

    assert not migration.filter(said("Context impl SQLiteImpl."))
    assert not migration.filter(said("Will assume non-transactional DDL."))
    assert migration.filter(said("Running upgrade  -> 0001, first tables"))


def test_configuring_twice_adds_each_filter_once() -> None:
    configure_logging("kit-test")
    configure_logging("kit-test")
    assert len(logging.getLogger("uvicorn.access").filters) == 1


def test_the_dev_runner_shows_a_json_line_as_a_person_reads_it() -> None:
    line = JsonFormatter("children").format(_record("children ready on port 8601"))
    assert readable(line) == "INFO    kit.test: children ready on port 8601"
    failed = json.dumps(
        {"level": "ERROR", "logger": "x", "message": "boom", "exception": "Traceback\n  oops"}
    )
    assert readable(failed) == "ERROR   x: boom\nTraceback\n  oops"
    for other in ("plain text", "{not json", '{"no": "message"}', "[1, 2]"):
        assert readable(other) == other
