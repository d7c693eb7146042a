"""What a service is (:class:`ServiceDefinition`) and what it runs with (:class:`Runtime`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from oneplan_events.catalogue import CATALOGUE, Catalogue
from oneplan_events.consumer import DurableConsumer
from oneplan_events.relay import OutboxRelay
from oneplan_events.store import EventStore
from oneplan_events.streams import StreamSpec
from oneplan_kit.clock import Clock, system_clock
from oneplan_kit.config import ServiceSettings
from oneplan_kit.uow import UnitOfWork
from oneplan_sharing import ConsentReplica

__all__ = ["Runtime", "RuntimeDep", "ServiceDefinition", "UnitOfWorkDep", "get_runtime"]


@dataclass(frozen=True)
class ServiceDefinition:
    """Everything the kit needs to build and run one service.

    ``migrations`` is ``"<package>:<folder>"`` (e.g. ``"oneplan_children:migrations"``) or a path.
    ``consumers`` builds the service's durable consumers once the runtime exists.
    ``on_startup`` hooks run after everything else has started (e.g. warm a cache).
    ``catalogue`` is the shared ``CATALOGUE`` for every real service.
    ``clock`` is read once per request: input is validated at that instant (see
    :mod:`oneplan_kit.clock`); tests inject a fixed one.
    """

    name: str
    title: str
    port: int
    stream: StreamSpec
    migrations: str | Path
    settings_cls: type[ServiceSettings] = ServiceSettings
    version: str = "0.1.0"
    description: str = ""
    routers: Sequence[APIRouter] = ()
    consumers: Callable[[Runtime], Sequence[DurableConsumer]] = lambda _runtime: ()
    uses_consent_replica: bool = False
    on_startup: Sequence[Callable[[Runtime], Awaitable[None]]] = ()
    catalogue: Catalogue = CATALOGUE
    clock: Clock = system_clock

    @property
    def source(self) -> str:
        """The CloudEvents ``source`` of this service's events."""
        return f"/oneplan/{self.name}"


@dataclass
class Runtime:
    """The live parts of a running service, in ``app.state.runtime``."""

    definition: ServiceDefinition
    settings: ServiceSettings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    nc: NATS
    js: JetStreamContext
    store: EventStore
    relay: OutboxRelay
    replica: ConsentReplica | None = None
    consumers: list[DurableConsumer] = field(default_factory=list)
    stream_ready: bool = False
    migration_heads: frozenset[str] = frozenset()
    tasks: dict[str, asyncio.Task[Any]] = field(default_factory=dict)

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work; use it as ``async with runtime.unit_of_work() as uow``."""
        return UnitOfWork(
            self.sessionmaker,
            self.store,
            source=self.definition.source,
            after_commit=self.relay.wake,
        )

    def task_running(self, name: str) -> bool:
        """True when the background task ``name`` exists and has not finished."""
        task = self.tasks.get(name)
        return task is not None and not task.done()


def get_runtime(request: Request) -> Runtime:
    """The running service's :class:`Runtime` (a FastAPI dependency)."""
    runtime = getattr(request.app.state, "runtime", None)
    if not isinstance(runtime, Runtime):
        raise RuntimeError("the service is not running: create_app's lifespan has not started")
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
"""The running service's :class:`Runtime`."""


async def _unit_of_work(runtime: RuntimeDep) -> AsyncIterator[UnitOfWork]:
    async with runtime.unit_of_work() as uow:
        yield uow


UnitOfWorkDep = Annotated[UnitOfWork, Depends(_unit_of_work)]
"""A unit of work for this request (one per request; rolled back unless committed)."""
