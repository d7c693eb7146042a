"""Structured JSON logs (with the current trace and span ids) and OpenTelemetry instrumentation.

Every log line on stderr is one JSON object: ``timestamp``, ``level``, ``logger``, ``message``,
``service``, ``trace_id``, ``span_id`` (from the current OpenTelemetry span, when there is one),
``exception`` when one is attached, and any ``extra={...}`` fields given to the call. Health
probes are left out of the access log, and Alembic's per-context dialect notes out of the
migration log.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace import TracerProvider

from oneplan_events.tracing import configure_tracing

__all__ = [
    "JsonFormatter",
    "configure_logging",
    "configure_telemetry",
    "instrument_app",
]

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
# uvicorn's ``color_message`` duplicates ``message`` with terminal escapes: never logged.
_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "color_message",
}
_lock = threading.Lock()


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object, adding the service name and trace context."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single-line JSON document."""
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            entry["trace_id"] = format(context.trace_id, "032x")
            entry["span_id"] = format(context.span_id, "016x")
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        return json.dumps(entry, default=str)


# Health probes hit every instance every few seconds: in the access log they drown the
# requests people make (and a readiness 503 during start is expected, not news).
_PROBE_PATHS: frozenset[str] = frozenset({"/healthz", "/readyz"})
# Alembic says which dialect it runs on every time it opens a migration context.
_ALEMBIC_CHATTER = ("Context impl ", "Will assume ")


class _WithoutProbes(logging.Filter):
    """Drops uvicorn's access lines for health probes (its args: client, method, path...)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        path = args[2] if isinstance(args, tuple) and len(args) >= 3 else None
        return not (isinstance(path, str) and path.split("?", 1)[0] in _PROBE_PATHS)


class _WithoutAlembicChatter(logging.Filter):
    """Keeps Alembic's "Running upgrade" lines, drops its per-context dialect notes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(_ALEMBIC_CHATTER)


_FILTERS: tuple[tuple[str, logging.Filter], ...] = (
    ("uvicorn.access", _WithoutProbes()),
    ("alembic.runtime.migration", _WithoutAlembicChatter()),
)


class _KitHandler(logging.StreamHandler):  # type: ignore[type-arg]  # generic only in stubs
    """Marks the handler we installed, so configuring twice replaces it instead of doubling."""


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every log record (uvicorn's too) to stderr as JSON lines for ``service``."""
    handler = _KitHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    with _lock:
        for existing in [h for h in root.handlers if isinstance(h, _KitHandler)]:
            root.removeHandler(existing)
        root.addHandler(handler)
        root.setLevel(level)
        # Why: uvicorn installs its own plain-text handlers; route its records through ours.
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
            uvicorn_logger = logging.getLogger(name)
            uvicorn_logger.handlers.clear()
            uvicorn_logger.propagate = True
        for name, quiet in _FILTERS:
            if quiet not in logging.getLogger(name).filters:
                logging.getLogger(name).addFilter(quiet)


def configure_telemetry(service: str, otlp_endpoint: str | None) -> None:
    """Install the tracer provider once per process and instrument httpx and SQLAlchemy.

    Spans are always created (so logs carry trace ids and ``traceparent`` crosses NATS);
    they are exported only when ``otlp_endpoint`` is set. SQLAlchemy is instrumented by
    wrapping engine creation, so every engine made afterwards (``oneplan_kit.db``) is traced.
    """
    with _lock:
        if not isinstance(trace.get_tracer_provider(), TracerProvider):
            configure_tracing(service, otlp_endpoint)
        httpx_instrumentor = HTTPXClientInstrumentor()
        if not httpx_instrumentor.is_instrumented_by_opentelemetry:
            httpx_instrumentor.instrument()
        sqlalchemy_instrumentor = SQLAlchemyInstrumentor()
        if not sqlalchemy_instrumentor.is_instrumented_by_opentelemetry:
            # Why skip the check: the instrumentation declares "sqlalchemy < 2.1" but works by
            # engine events that 2.1 keeps (libs/kit/tests/test_tracing.py proves SQL gets spans).
            sqlalchemy_instrumentor.instrument(skip_dep_check=True)


def instrument_app(app: FastAPI) -> None:
    """Trace every request of ``app`` with one server span (health probes excluded).

    Why ``exclude_spans``: by default the ASGI instrumentation also opens an internal span for
    every ``receive`` and ``send`` message (three or more per request), which doubled the
    tracing cost of a small request and says nothing the server span does not.
    """
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="healthz,readyz", exclude_spans=["receive", "send"]
    )
