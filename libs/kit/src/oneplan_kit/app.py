"""``create_app()``: every OnePlan service is built and run the same way.

The lifespan, in order: JSON logging and tracing; the database created if missing and migrated
to head (the service's migrations and the kit's backbone branch); NATS (reconnecting forever,
2.11 or newer) and JetStream; the service's own stream; then, under one supervisor, the outbox
relay, each subscription's consumer (or stream follower), the consent replica, the
idempotency-key retention and the service's workers, and its ``on_startup`` hooks. Shutdown
stops the supervised jobs in the reverse order (workers first, the relay last, so it publishes
whatever the last commands committed), drains NATS and disposes of the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request

from oneplan_events.clock import Clock, SystemClock
from oneplan_events.consumer import DurableConsumer
from oneplan_events.discovery import StreamFollower
from oneplan_events.relay import OutboxRelay
from oneplan_events.store import EventStore
from oneplan_events.streams import ensure_stream, require_server
from oneplan_kit.access import undeclared_routes
from oneplan_kit.auth import TokenVerifier
from oneplan_kit.clock import ValidationClock
from oneplan_kit.config import ServiceSettings
from oneplan_kit.db import create_engine, create_sessionmaker
from oneplan_kit.docs import install_docs
from oneplan_kit.errors import ProblemError, install_problem_handlers
from oneplan_kit.health import health_router
from oneplan_kit.idempotency import install_idempotency_handlers, keep_keys_within
from oneplan_kit.logging import configure_logging, configure_telemetry, instrument_app
from oneplan_kit.migrations import ensure_database, head_revisions, upgrade
from oneplan_kit.nats import connect_nats
from oneplan_kit.openapi import document_problems
from oneplan_kit.runtime import Runtime
from oneplan_kit.service import ProblemFactory, ServiceDefinition, Subscription
from oneplan_kit.workers import Job, Supervisor, WorkerContext
from oneplan_sharing.replica import ConsentReplica

__all__ = ["create_app", "tool_runtime"]

_log = logging.getLogger("oneplan_kit.app")


def create_app(
    definition: ServiceDefinition,
    settings: ServiceSettings | None = None,
    *,
    clock: Clock | None = None,
) -> FastAPI:
    """The service's FastAPI app; everything it needs starts in its lifespan.

    ``clock`` (default: the system clock) is the one every command, read and worker uses.
    """
    settings = settings if settings is not None else definition.settings_cls()
    app = FastAPI(
        title=definition.title,
        version=definition.version,
        description=definition.description,
        lifespan=_lifespan_for(definition, settings),
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.definition = definition
    app.state.clock = clock or SystemClock()
    app.state.token_verifier = TokenVerifier(settings)
    install_problem_handlers(app)
    _install_domain_errors(app, definition.errors)
    install_idempotency_handlers(app)
    # Added after the problem handlers' middleware, so it is outside it: whatever answers a
    # request, its validation ran on this clock reading.
    app.add_middleware(ValidationClock)
    app.include_router(health_router)
    for router in definition.routers:
        app.include_router(router)
    missing = undeclared_routes(app.routes)
    if missing:
        raise ValueError(
            f"{definition.name}: every route declares its caller (oneplan_kit.access: Allow, "
            f"Public, or an alias such as SendStaff); {'; '.join(missing)} declares no caller"
        )
    install_docs(app)
    document_problems(app, consistency_tokens=definition.consistency_tokens)
    instrument_app(app)
    return app


def _install_domain_errors(
    app: FastAPI, errors: dict[type[Exception], ProblemFactory] | Any
) -> None:
    for error_type, factory in errors.items():
        app.add_exception_handler(error_type, _problem_handler(factory))


def _problem_handler(factory: ProblemFactory) -> Callable[[Request, Exception], Awaitable[Any]]:
    async def handle(request: Request, error: Exception) -> Any:
        problem: ProblemError = factory(error)
        return problem.to_response(request.url.path)

    return handle


def _lifespan_for(
    definition: ServiceDefinition, settings: ServiceSettings
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(definition.name, settings.log_level)
        configure_telemetry(definition.name, settings.otlp_endpoint)
        async with contextlib.AsyncExitStack() as stack:
            runtime = await _start(definition, settings, app.state.clock, stack)
            app.state.runtime = runtime
            _log.info("%s ready on port %s", definition.name, settings.port or definition.port)
            try:
                yield
            finally:
                app.state.runtime = None
        _log.info("%s stopped", definition.name)

    return lifespan


async def _start(
    definition: ServiceDefinition,
    settings: ServiceSettings,
    clock: Clock,
    stack: contextlib.AsyncExitStack,
) -> Runtime:
    url = settings.resolved_database_url
    await ensure_database(url)
    engine = create_engine(url)
    stack.push_async_callback(engine.dispose)
    await upgrade(definition.migrations_location, engine)
    holder: dict[str, Runtime] = {}
    nc = await connect_nats(settings, definition.name, on_reconnect=lambda: _reensure(holder))
    stack.push_async_callback(_drain, nc, settings.shutdown_timeout)
    version = nc.connected_server_version
    require_server((version.major, version.minor, version.patch))
    js = nc.jetstream()
    supervisor = Supervisor(grace=settings.shutdown_timeout)
    runtime = Runtime(
        definition=definition,
        settings=settings,
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        nc=nc,
        js=js,
        store=EventStore.for_dialect(engine.dialect.name, definition.catalogue),
        clock=clock,
        supervisor=supervisor,
        migration_heads=frozenset(head_revisions(definition.migrations_location)),
    )
    holder["runtime"] = runtime
    if definition.publishes:
        await _ensure_stream(runtime)
        runtime.relay = OutboxRelay(
            engine, js, name=definition.name, lease_ttl=settings.relay_lease_ttl
        )
    stack.push_async_callback(supervisor.stop)
    _start_jobs(runtime)
    for hook in definition.on_startup:
        await hook(runtime)
    return runtime


@contextlib.asynccontextmanager
async def tool_runtime(
    definition: ServiceDefinition, settings: ServiceSettings
) -> AsyncIterator[Runtime]:
    """The service's database (migrated) and NATS for an operator's command (``oneplan
    rebuild``), without its HTTP edge, relay, consumers or workers."""
    async with contextlib.AsyncExitStack() as stack:
        url = settings.resolved_database_url
        await ensure_database(url)
        engine = create_engine(url)
        stack.push_async_callback(engine.dispose)
        await upgrade(definition.migrations_location, engine)
        nc = await connect_nats(settings, definition.name)
        stack.push_async_callback(_drain, nc, settings.shutdown_timeout)
        yield Runtime(
            definition=definition,
            settings=settings,
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            nc=nc,
            js=nc.jetstream(),
            store=EventStore.for_dialect(engine.dialect.name, definition.catalogue),
            clock=SystemClock(),
            supervisor=Supervisor(grace=settings.shutdown_timeout),
            migration_heads=frozenset(head_revisions(definition.migrations_location)),
        )


async def _ensure_stream(runtime: Runtime) -> None:
    spec = dataclasses.replace(
        runtime.definition.stream,
        replicas=runtime.settings.stream_replicas,
        duplicate_window=runtime.settings.duplicate_window,
    )
    await ensure_stream(runtime.js, spec)
    runtime.stream_ready = True


def _reensure(holder: dict[str, Runtime]) -> Awaitable[None] | None:
    # Why: a NATS server that came back without its store (a fresh container) has lost the
    # stream; recreating it on reconnect lets the relay publish again.
    runtime = holder.get("runtime")
    if runtime is None or not runtime.definition.publishes:
        return None
    return _ensure_stream(runtime)


def _start_jobs(runtime: Runtime) -> None:
    """Start order = stop order reversed: the relay first (it stops last)."""
    supervisor = runtime.supervisor
    if runtime.relay is not None:
        relay = runtime.relay
        supervisor.start(Job("relay", relay.run, relay.stop))
    retention = runtime.settings.idempotency_retention
    supervisor.start(
        Job(
            "idempotency_retention",
            lambda: keep_keys_within(runtime.sessionmaker, retention, supervisor.stopping),
            required=False,
        )
    )
    if runtime.definition.uses_consent_replica:
        replica = ConsentReplica(runtime.js)
        runtime.replica = replica
        supervisor.start(Job("consent_replica", replica.run, replica.stop))
    for subscription in runtime.definition.subscriptions:
        _start_subscription(runtime, subscription)
    context = WorkerContext(runtime, supervisor.stopping)
    for worker in runtime.definition.workers:
        supervisor.start(Job(f"worker:{worker.name}", _bind(worker.run, context)))


def _bind(
    run: Callable[[WorkerContext], Awaitable[None]], context: WorkerContext
) -> Callable[[], Awaitable[None]]:
    return lambda: run(context)


def _start_subscription(runtime: Runtime, subscription: Subscription) -> None:
    service = runtime.definition.name
    if subscription.stream is not None:
        consumer = _consumer(
            runtime, subscription, subscription.stream, subscription.consumer_name(service)
        )
        runtime.consumers.append(consumer)
        runtime.supervisor.start(Job(f"consumer:{consumer.name}", consumer.run, consumer.stop))
        return
    assert subscription.types is not None
    follower = StreamFollower(
        runtime.nc,
        name=subscription.consumer_name(service),
        types=subscription.types,
        build=lambda stream: _consumer(
            runtime, subscription, stream, subscription.consumer_name(service, stream)
        ),
        interval=runtime.settings.discovery_interval,
        expected=_known_streams(runtime.definition),
    )
    runtime.followers.append(follower)
    runtime.supervisor.start(Job(f"follower:{follower.name}", follower.run, follower.stop))


def _known_streams(definition: ServiceDefinition) -> set[str]:
    """The streams a service knows its deployment has: its own, and each one it reads by
    name. A follower of every stream expects to follow at least these (``/readyz`` says
    which it has not found yet)."""
    known = {s.stream for s in definition.subscriptions if s.stream is not None}
    if definition.publishes:
        known.add(definition.stream.name)
    return known


def _consumer(
    runtime: Runtime, subscription: Subscription, stream: str, name: str
) -> DurableConsumer:
    return DurableConsumer(
        runtime.nc,
        runtime.sessionmaker,
        name=name,
        stream=stream,
        reactions=subscription.reactions,
        catalogue=runtime.definition.catalogue,
        work_factory=runtime.reaction_work,
        types=subscription.types,
        batch=subscription.batch,
        max_deliver=subscription.max_deliver,
        backoff=subscription.backoff,
        timing=runtime.settings.consumer_timing(),
        parked_loses=subscription.parked_loses,
    )


async def _drain(nc: Any, seconds: float) -> None:
    if nc.is_closed:
        return
    try:
        await asyncio.wait_for(nc.drain(), seconds)
    except Exception:
        _log.warning("NATS did not drain cleanly; closing", exc_info=True)
        await nc.close()
