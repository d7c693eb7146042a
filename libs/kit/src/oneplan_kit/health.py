"""Liveness (``/healthz``) and readiness (``/readyz``) endpoints every service has.

``/readyz`` answers 200 ``ready`` when every required check passes, 200 ``degraded`` when only
advisory ones fail (a message parked in ``dead_letters``: an audit or projection gap an operator
must look at, but no reason to take the instance out of service), and 503 ``not_ready``
otherwise. Checks: database, migrations, NATS, the service's stream, every supervised job
(relay, consumers, stream followers, consent replica, workers), whether each consumer found
its stream, and parked messages.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import func, select, text

from oneplan_events.consumer import DurableConsumer
from oneplan_events.discovery import StreamFollower
from oneplan_events.schema import dead_letters
from oneplan_kit.access import Public
from oneplan_kit.migrations import current_is_head
from oneplan_kit.runtime import Runtime

__all__ = ["Readiness", "health_router", "readiness"]

_DB_TIMEOUT = 2.0

health_router = APIRouter(tags=["health"])


class Check(BaseModel):
    """One readiness check."""

    ok: bool
    detail: str
    required: bool = True


class Readiness(BaseModel):
    """What ``/readyz`` answers, ready or not."""

    status: Literal["ready", "degraded", "not_ready"]
    checks: dict[str, Check]


@health_router.get("/healthz", summary="Liveness: 200 while the process runs")
async def healthz(_: Public) -> dict[str, str]:
    """Always 200 while the process is running."""
    return {"status": "alive"}


@health_router.get(
    "/readyz",
    summary="Readiness: 200 when every required dependency is up",
    response_model=Readiness,
    responses={503: {"description": "Not ready; the body lists each check", "model": Readiness}},
)
async def readyz(request: Request, _: Public) -> JSONResponse:
    """200 (``ready`` or ``degraded``) when the service can take traffic, else 503."""
    runtime = getattr(request.app.state, "runtime", None)
    if not isinstance(runtime, Runtime):
        checks = {"startup": _check(False, "", "the service is still starting")}
    else:
        checks = await readiness(runtime)
    required = all(check["ok"] for check in checks.values() if check.get("required", True))
    advisory = all(check["ok"] for check in checks.values())
    status = "ready" if advisory else "degraded" if required else "not_ready"
    return JSONResponse({"status": status, "checks": checks}, status_code=200 if required else 503)


async def readiness(runtime: Runtime) -> dict[str, dict[str, Any]]:
    """Each readiness check by name: ``{"ok": bool, "detail": str, "required": bool}``."""
    checks: dict[str, dict[str, Any]] = {}
    checks["database"], checks["migrations"] = await _database_checks(runtime)
    checks["nats"] = _check(runtime.nc.is_connected, "connected", "not connected")
    if runtime.definition.publishes:
        checks["stream"] = _check(
            runtime.stream_ready, runtime.definition.stream.name, "stream not ensured"
        )
    for name, state in runtime.supervisor.report().items():
        detail = "running" if state["running"] else f"restarting: {state['last_error']}"
        checks[name] = _check(state["running"], detail, detail, required=state["required"])
    for consumer in runtime.consumers:
        checks[f"consumer:{consumer.name}"] = _consumer_check(consumer)
    for follower in runtime.followers:
        checks[f"follower:{follower.name}"] = _follower_check(follower)
    if runtime.replica is not None:
        checks["consent_replica"] = _check(runtime.replica.ready, "fresh", "not ready or stale")
    checks["dead_letters"] = await _dead_letters(runtime)
    return checks


def _consumer_check(consumer: Any) -> dict[str, Any]:
    """``partitions``: the ones this instance applies now, so that an operator (or a test)
    sees from each instance's readiness which partitions it holds and when they moved."""
    if consumer.waiting_for_stream:
        # Advisory: a service may start before its neighbour, and must not be held out of
        # service for it; but it applies none of that stream's events yet, and says so.
        check = _check(
            False,
            "",
            f"waiting for stream {consumer.stream} to be created (its service has not "
            "started yet): none of its events are applied",
            required=False,
        )
        return {**check, "partitions": []}
    pinned = consumer.pinned_partitions
    detail = f"applying partitions {pinned}" if pinned else "standby (another instance applies)"
    return {**_check(consumer.running, detail, "stopped"), "partitions": pinned}


def _follower_check(follower: StreamFollower) -> dict[str, Any]:
    """Which streams a follower follows, and how it finds new ones; degraded while a stream
    its service knows of is not followed yet, not ready while discovery fails."""
    if not follower.discovered:
        reason = follower.last_error or "not run yet"
        return _check(False, "", f"stream discovery has not succeeded yet: {reason}")
    stopped = sorted(s for s, c in follower.consumers.items() if not c.running)
    if stopped:
        return _check(False, "", f"consumers stopped on {', '.join(stopped)}")
    following = f"following {', '.join(follower.streams) or 'no stream yet'}"
    finding = (
        "new streams at once (stream-created advisory) and "
        if follower.watching_advisories
        else "no stream-created advisories: new streams "
    ) + f"every {follower.interval:g}s"
    if follower.missing:
        waiting = ", ".join(follower.missing)
        return _check(
            False,
            "",
            f"{following}; waiting for {waiting} (not created yet); {finding}",
            required=False,
        )
    return _check(True, f"{following}; {finding}", "")


async def _dead_letters(runtime: Runtime) -> dict[str, Any]:
    """Unreplayed dead letters by consumer, each with what it leaves missing."""
    try:
        async with asyncio.timeout(_DB_TIMEOUT), runtime.sessionmaker() as session:
            rows = await session.execute(
                select(dead_letters.c.consumer, func.count())
                .where(dead_letters.c.replayed_at.is_(None))
                .group_by(dead_letters.c.consumer)
                .order_by(dead_letters.c.consumer)
            )
            parked: dict[str, int] = {consumer: count for consumer, count in rows}
    except Exception as error:
        return _check(False, "", f"unknown: {type(error).__name__}", required=False)
    loses = {c.name: c.parked_loses for c in _every_consumer(runtime)}
    listed = "; ".join(
        f"{consumer}: {count}" + (f" ({loses[consumer]})" if loses.get(consumer) else "")
        for consumer, count in parked.items()
    )
    return _check(
        not parked,
        "none parked",
        f"{sum(parked.values())} message(s) parked, {listed}: "
        f"`oneplan deadletters list {runtime.definition.name}`",
        required=False,
    )


def _every_consumer(runtime: Runtime) -> list[DurableConsumer]:
    followed = [c for follower in runtime.followers for c in follower.consumers.values()]
    return [*runtime.consumers, *followed]


async def _database_checks(runtime: Runtime) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        async with asyncio.timeout(_DB_TIMEOUT):
            async with runtime.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            at_head = await current_is_head(runtime.definition.migrations_location, runtime.engine)
    except Exception as error:
        reason = f"unreachable: {type(error).__name__}"
        return _check(False, "", reason), _check(False, "", "unknown (database unreachable)")
    return _check(True, "reachable", ""), _check(at_head, "at head", "not at head")


def _check(ok: bool, good: str, bad: str, *, required: bool = True) -> dict[str, Any]:
    return {"ok": ok, "detail": good if ok else bad, "required": required}
