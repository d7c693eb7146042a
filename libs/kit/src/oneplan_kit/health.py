"""Liveness (``/healthz``) and readiness (``/readyz``) endpoints every service has."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from oneplan_kit.runtime import Runtime

__all__ = ["health_router", "readiness"]

_DB_TIMEOUT = 2.0

health_router = APIRouter(tags=["health"])


@health_router.get("/healthz", summary="Liveness: 200 while the process runs")
async def healthz() -> dict[str, str]:
    """Always 200 while the process is running."""
    return {"status": "alive"}


@health_router.get(
    "/readyz",
    summary="Readiness: 200 only when every dependency is up",
    responses={503: {"description": "Not ready; the body lists each check"}},
)
async def readyz(request: Request) -> JSONResponse:
    """200 when the service can take traffic, else 503; the body lists every check."""
    runtime = getattr(request.app.state, "runtime", None)
    if not isinstance(runtime, Runtime):
        checks = {"startup": {"ok": False, "detail": "the service is still starting"}}
    else:
        checks = await readiness(runtime)
    ready = all(check["ok"] for check in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )


async def readiness(runtime: Runtime) -> dict[str, dict[str, Any]]:
    """Each readiness check by name: ``{"ok": bool, "detail": str}``."""
    checks: dict[str, dict[str, Any]] = {}
    checks["database"], checks["migrations"] = await _database_checks(runtime)
    checks["nats"] = _check(runtime.nc.is_connected, "connected", "not connected")
    checks["stream"] = _check(
        runtime.stream_ready, runtime.definition.stream.name, "stream not ensured"
    )
    checks["relay"] = _check(runtime.task_running("relay"), "running", "stopped")
    stopped = [c.name for c in runtime.consumers if not runtime.task_running(f"consumer:{c.name}")]
    checks["consumers"] = _check(
        not stopped, f"{len(runtime.consumers)} running", f"stopped: {', '.join(stopped)}"
    )
    if runtime.replica is not None:
        checks["consent_replica"] = _check(runtime.replica.ready, "fresh", "not ready or stale")
    return checks


def _check(ok: bool, good: str, bad: str) -> dict[str, Any]:
    return {"ok": ok, "detail": good if ok else bad}


async def _database_checks(runtime: Runtime) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        async with asyncio.timeout(_DB_TIMEOUT):
            current = await _current_revisions(runtime)
    except Exception as exc:  # any failure to read means "not reachable"
        failed = _check(False, "", f"unreachable: {exc.__class__.__name__}")
        return failed, _check(False, "", "unknown (database unreachable)")
    at_head = current == runtime.migration_heads
    return _check(True, "reachable", ""), _check(
        at_head, "at head", f"at {sorted(current)}, head is {sorted(runtime.migration_heads)}"
    )


async def _current_revisions(runtime: Runtime) -> frozenset[str]:
    # A deferred (read) transaction: readiness probes must never queue behind SQLite writers.
    async with runtime.engine.connect() as conn:
        conn = await conn.execution_options(sqlite_begin="DEFERRED")
        rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
        return frozenset(str(row[0]) for row in rows)
