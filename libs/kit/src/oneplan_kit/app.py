"""``create_app()``: every OnePlan service is built and run the same way.

The lifespan, in order: JSON logging and tracing; the database created if missing and migrated
to head; the engine; NATS (reconnecting forever) and JetStream; the service's stream; then the
outbox relay, the consumers, (when used) the consent replica and the idempotency-key retention
as background tasks, and the service's ``on_startup`` hooks. Shutdown runs in reverse: the
retention task is cancelled, consumers and replica stop (finishing the message in hand), the relay
stops (finishing its batch), NATS drains, the engine is disposed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import inspect
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import nats
from fastapi import FastAPI
from nats.aio.client import Client as NATS

from oneplan_events.relay import OutboxRelay
from oneplan_events.store import EventStore
from oneplan_events.streams import StreamSpec, ensure_stream
from oneplan_kit.auth import TokenVerifier
from oneplan_kit.clock import ValidationClock
from oneplan_kit.config import ServiceSettings
from oneplan_kit.db import create_engine, create_sessionmaker
from oneplan_kit.errors import install_problem_handlers
from oneplan_kit.health import health_router
from oneplan_kit.idempotency import install_idempotency_handlers, keep_keys_within
from oneplan_kit.logging import configure_logging, configure_telemetry, instrument_app
from oneplan_kit.migrations import ensure_database, head_revisions, upgrade
from oneplan_kit.runtime import Runtime, ServiceDefinition
from oneplan_sharing.replica import ConsentReplica

__all__ = ["connect_nats", "create_app", "inbox_prefix_for"]

_log = logging.getLogger("oneplan_kit.app")
_SUBJECT_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


def create_app(definition: ServiceDefinition, settings: ServiceSettings | None = None) -> FastAPI:
    """The service's FastAPI app; everything it needs starts in its lifespan."""
    settings = settings if settings is not None else definition.settings_cls()
    app = FastAPI(
        title=definition.title,
        version=definition.version,
        description=definition.description,
        lifespan=_lifespan_for(definition, settings),
    )
    app.state.settings = settings
    app.state.definition = definition
    app.state.token_verifier = TokenVerifier(settings)
    install_problem_handlers(app)
    install_idempotency_handlers(app)
    # Added after the problem handlers' middleware, so it is outside it: whatever answers a
    # request, its validation ran on this clock reading.
    app.add_middleware(ValidationClock, clock=definition.clock)
    app.include_router(health_router)
    for router in definition.routers:
        app.include_router(router)
    instrument_app(app)
    return app


def _lifespan_for(
    definition: ServiceDefinition, settings: ServiceSettings
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(definition.name, settings.log_level)
        configure_telemetry(definition.name, settings.otlp_endpoint)
        async with contextlib.AsyncExitStack() as stack:
            runtime = await _start(definition, settings, stack)
            app.state.runtime = runtime
            _log.info("%s ready on port %s", definition.name, definition.port)
            try:
                yield
            finally:
                app.state.runtime = None
        _log.info("%s stopped", definition.name)

    return lifespan


async def _start(
    definition: ServiceDefinition, settings: ServiceSettings, stack: contextlib.AsyncExitStack
) -> Runtime:
    url = settings.resolved_database_url
    await ensure_database(url)
    engine = create_engine(url)
    stack.push_async_callback(engine.dispose)
    await upgrade(definition.migrations, engine)
    holder: dict[str, Runtime] = {}
    nc = await connect_nats(settings, definition.name, on_reconnect=lambda: _reensure(holder))
    stack.push_async_callback(_drain, nc, settings.shutdown_timeout)
    js = nc.jetstream()
    runtime = Runtime(
        definition=definition,
        settings=settings,
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        nc=nc,
        js=js,
        store=EventStore.for_dialect(engine.dialect.name, definition.catalogue),
        relay=OutboxRelay(engine, js, name=definition.name),
        migration_heads=frozenset(head_revisions(definition.migrations)),
    )
    holder["runtime"] = runtime
    await _ensure_stream(runtime)
    stack.push_async_callback(_stop_background, runtime)
    _start_background(runtime)
    for hook in definition.on_startup:
        await hook(runtime)
    return runtime


def _stream_spec(runtime: Runtime) -> StreamSpec:
    return dataclasses.replace(
        runtime.definition.stream,
        replicas=runtime.settings.stream_replicas,
        duplicate_window=runtime.settings.duplicate_window,
    )


async def _ensure_stream(runtime: Runtime) -> None:
    await ensure_stream(runtime.js, _stream_spec(runtime))
    runtime.stream_ready = True


def _reensure(holder: dict[str, Runtime]) -> Awaitable[None] | None:
    # Why: a NATS server that came back without its store (a fresh container) has lost the
    # stream; recreating it on reconnect lets the relay publish again.
    runtime = holder.get("runtime")
    return _ensure_stream(runtime) if runtime is not None else None


def _start_background(runtime: Runtime) -> None:
    _spawn(runtime, "relay", runtime.relay.run())
    retention = keep_keys_within(runtime.sessionmaker, runtime.settings.idempotency_retention)
    _spawn(runtime, "idempotency_retention", retention)
    runtime.consumers = list(runtime.definition.consumers(runtime))
    for consumer in runtime.consumers:
        _spawn(runtime, f"consumer:{consumer.name}", consumer.run())
    if runtime.definition.uses_consent_replica:
        runtime.replica = ConsentReplica(runtime.js)
        _spawn(runtime, "consent_replica", runtime.replica.run())


def _spawn(runtime: Runtime, name: str, work: Coroutine[Any, Any, None]) -> None:
    task = asyncio.create_task(work, name=f"{runtime.definition.name}:{name}")
    task.add_done_callback(_report_exit)
    runtime.tasks[name] = task


def _report_exit(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.error("background task %s failed", task.get_name(), exc_info=task.exception())


async def _stop_background(runtime: Runtime) -> None:
    # Consumers first (they may still write and ack), then the replica, then the relay, so the
    # relay publishes whatever the last commands committed.
    await _cancel(runtime, "idempotency_retention")
    grace = runtime.settings.shutdown_timeout
    stoppers: list[tuple[str, Callable[[], Any]]] = [
        (f"consumer:{c.name}", functools.partial(c.stop, grace)) for c in runtime.consumers
    ]
    if runtime.replica is not None:
        stoppers.append(("consent_replica", runtime.replica.stop))
    stoppers.append(("relay", runtime.relay.stop))
    for name, stop in stoppers:
        await _stop_one(runtime, name, stop)


async def _cancel(runtime: Runtime, name: str) -> None:
    # For a task with no in-flight work worth finishing: an interrupted delete rolls back.
    task = runtime.tasks.get(name)
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _stop_one(runtime: Runtime, name: str, stop: Callable[[], Any]) -> None:
    try:
        result = stop()
        if inspect.isawaitable(result):
            await result
    except Exception:
        _log.warning("stopping %s failed", name, exc_info=True)
    task = runtime.tasks.get(name)
    if task is None:
        return
    try:
        await asyncio.wait_for(asyncio.shield(task), runtime.settings.shutdown_timeout)
    except TimeoutError:
        _log.warning("%s did not stop in %ss; cancelling", name, runtime.settings.shutdown_timeout)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    except Exception:
        _log.debug("%s ended with an error (already reported)", name)


async def _drain(nc: NATS, seconds: float) -> None:
    if nc.is_closed:
        return
    try:
        await asyncio.wait_for(nc.drain(), seconds)
    except Exception:
        _log.warning("NATS did not drain cleanly; closing", exc_info=True)
        await nc.close()


def inbox_prefix_for(service: str) -> str:
    """The reply-inbox prefix of ``service``'s NATS connections: ``_INBOX_<service>``.

    Why not the shared ``_INBOX``: JetStream delivers pulled messages and API replies to the
    client's inboxes, and ``deploy/nats/accounts.conf`` lets each service user subscribe only to
    its own ``_INBOX_<service>.>``, so no service can read another's deliveries.
    """
    if not _SUBJECT_TOKEN.match(service):
        raise ValueError(f"a service name must be a plain subject token, not {service!r}")
    return f"_INBOX_{service}"


async def connect_nats(
    settings: ServiceSettings,
    service: str,
    *,
    on_reconnect: Callable[[], Awaitable[None] | None] = lambda: None,
) -> NATS:
    """Connect to ``settings.nats_url``, trying for ``nats_connect_timeout`` seconds.

    Once connected the client reconnects forever; disconnections and reconnections are logged.
    Replies and JetStream deliveries arrive under :func:`inbox_prefix_for` ``(service)``.
    """

    client = NATS()
    hooks: set[asyncio.Task[None]] = set()

    async def error_cb(exc: Exception) -> None:
        _log.warning("NATS error: %s", exc)

    async def disconnected_cb() -> None:
        if client.is_draining or client.is_closed:
            _log.info("NATS disconnected (shutting down)")
        else:
            _log.warning("NATS disconnected; reconnecting")

    async def after_reconnect(pending: Awaitable[None]) -> None:
        try:
            await pending
        except Exception:
            _log.warning("the reconnect hook failed", exc_info=True)

    async def reconnected_cb() -> None:
        _log.info("NATS reconnected")
        pending = on_reconnect()
        if pending is not None:
            # Run beside the client's reconnect loop, never inside it: the hook makes requests
            # that need that loop to have finished.
            task = asyncio.create_task(after_reconnect(pending))
            hooks.add(task)
            task.add_done_callback(hooks.discard)

    async def closed_cb() -> None:
        _log.info("NATS connection closed")

    try:
        # Why wait_for: with max_reconnect_attempts=-1 the first connect also retries forever.
        await asyncio.wait_for(
            client.connect(
                servers=[settings.nats_url],
                name=f"oneplan-{service}",
                inbox_prefix=inbox_prefix_for(service),
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                # nats-py annotates int but sleeps on the value; sub-second waits work.
                reconnect_time_wait=settings.nats_reconnect_wait,  # type: ignore[arg-type]
                connect_timeout=2,
                error_cb=error_cb,
                disconnected_cb=disconnected_cb,
                reconnected_cb=reconnected_cb,
                closed_cb=closed_cb,
            ),
            settings.nats_connect_timeout,
        )
    except (TimeoutError, OSError, nats.errors.Error) as exc:
        with contextlib.suppress(Exception):
            await client.close()
        raise RuntimeError(
            f"cannot connect to NATS at {settings.nats_url} "
            f"(tried for {settings.nats_connect_timeout}s): {exc!r}"
        ) from exc
    return client
