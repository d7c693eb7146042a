"""What a running service runs with (:class:`Runtime`), and the dependencies that hand it out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from oneplan_events.clock import Clock
from oneplan_events.consumer import DurableConsumer
from oneplan_events.discovery import StreamFollower
from oneplan_events.envelope import Envelope
from oneplan_events.relay import OutboxRelay
from oneplan_events.store import EventStore
from oneplan_events.uow import StateCache, UnitOfWork
from oneplan_kit.config import ServiceSettings
from oneplan_kit.service import ServiceDefinition
from oneplan_kit.workers import Supervisor
from oneplan_sharing import ConsentReplica

__all__ = ["Runtime", "RuntimeDep", "get_runtime"]


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
    clock: Clock
    supervisor: Supervisor
    relay: OutboxRelay | None = None
    replica: ConsentReplica | None = None
    consumers: list[DurableConsumer] = field(default_factory=list)
    followers: list[StreamFollower] = field(default_factory=list)
    stream_ready: bool = False
    migration_heads: frozenset[str] = frozenset()
    # The records' states after this instance's last commands: a command on a record it wrote
    # last need not read the record's stream again (the store still checks its version).
    states: StateCache = field(default_factory=StateCache)

    def unit_of_work(
        self,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        now: datetime | None = None,
    ) -> UnitOfWork:
        """A new unit of work; use it as ``async with runtime.unit_of_work() as uow``.

        ``now`` fixes its instant (a request's, read once for validation and decision);
        otherwise it reads the service's clock at first use.
        """
        return UnitOfWork(
            self.sessionmaker,
            self.store,
            source=self.definition.source,
            clock=self.clock,
            now=now,
            after_commit=self.relay.wake if self.relay is not None else lambda: None,
            correlation_id=correlation_id,
            causation_id=causation_id,
            states=self.states,
        )

    def reaction_work(self, session: AsyncSession, envelope: Envelope) -> UnitOfWork:
        """The unit of work a reaction runs in: the consumer's transaction; the events it
        appends name the handled event as their cause and carry its correlation id."""
        return UnitOfWork.bound_to(
            session,
            self.store,
            source=self.definition.source,
            clock=self.clock,
            correlation_id=envelope.correlationid or envelope.id,
            causation_id=envelope.id,
        )


def get_runtime(request: Request) -> Runtime:
    """The running service's :class:`Runtime` (a FastAPI dependency)."""
    runtime = getattr(request.app.state, "runtime", None)
    if not isinstance(runtime, Runtime):
        raise RuntimeError("the service is not running: create_app's lifespan has not started")
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
"""The running service's :class:`Runtime`."""
