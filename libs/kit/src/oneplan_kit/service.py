"""What a service is: a :class:`ServiceDefinition`, found through a Python entry point.

A service package declares, in its ``pyproject.toml``::

    [project.entry-points."oneplan.services"]
    transport = "oneplan_transport.service:SERVICE"

and everything the platform needs follows from that one object: its stream
(``TRANSPORT``, ``oneplan.transport.>``), its port, its catalogue (for the AsyncAPI document),
the streams it reads (for its NATS permissions), its migrations, its routes, reactions and
workers. No shared file lists the services: ``oneplan dev``, the AsyncAPI document, the NATS
accounts and the compose file are all derived from the installed definitions.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from fastapi import APIRouter
from sqlalchemy import MetaData

from oneplan_events.catalogue import Catalogue
from oneplan_events.reactions import Reactions
from oneplan_events.streams import DEFAULT_PARTITIONS, StreamSpec, service_stream
from oneplan_kit.config import ServiceSettings
from oneplan_kit.errors import ProblemError
from oneplan_kit.rebuild import ReadModel

if TYPE_CHECKING:
    from oneplan_kit.runtime import Runtime
    from oneplan_kit.workers import WorkerContext

__all__ = [
    "ENTRY_POINT_GROUP",
    "EVERY_SERVICE",
    "ProblemFactory",
    "ServiceDefinition",
    "Subscription",
    "Worker",
    "installed_services",
    "load_service",
]

ENTRY_POINT_GROUP: Final = "oneplan.services"
EVERY_SERVICE: Final = "*"
"""``Subscription.reads``: every service's stream that carries the subscription's ``types``."""

_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
_TYPES: Final = re.compile(r"^(\*|[a-z][a-z0-9_]*)\.(\*|[a-z][a-z0-9_]*)$")

ProblemFactory = Callable[[Any], ProblemError]
"""Turns a domain error into the problem document the API answers with."""


@dataclass(frozen=True)
class Subscription:
    """A durable consumer the service runs: which stream it reads, and its reactions.

    ``reads`` is the publishing service (its stream ``<READS>``), or :data:`EVERY_SERVICE`
    with ``types`` (``"disclosure.recorded"``): then the service follows every stream carrying
    those events, including streams created after it started. ``types`` narrows what is
    read; without it every event of the stream is read, in each record's order, and the
    ones the reactions do not handle are passed over. ``parked_loses`` says what an event
    parked after ``max_deliver`` failures leaves missing until an operator replays it
    (``"an audit entry: ..."``): the ERROR logged when one is parked and ``/readyz`` say it.
    """

    name: str
    reads: str
    reactions: Reactions
    types: str | None = None
    batch: int = 100
    max_deliver: int = 5
    backoff: Sequence[float] = (1, 5, 30)
    parked_loses: str = ""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"a subscription name is a lower-case identifier, not {self.name!r}")
        if self.reads == EVERY_SERVICE and not self.types:
            raise ValueError("a subscription to every service names the event types it reads")
        if self.types is not None and not _TYPES.match(self.types):
            # Subjects are oneplan.<service>.<entity>.<verb>.<record>[.<partition>]: the
            # filters are built from exactly two tokens.
            raise ValueError(
                f"types names an entity and a verb (either may be *), e.g. "
                f"'contribution.*', not {self.types!r}"
            )

    def consumer_name(self, service: str, stream: str | None = None) -> str:
        """The durable consumer's name: ``<service>_<name>`` (``_<stream>`` per followed stream)."""
        base = f"{service}_{self.name}"
        return base if stream is None else f"{base}_{stream.lower()}"

    @property
    def stream(self) -> str | None:
        """The stream read (None: every stream carrying ``types``)."""
        return None if self.reads == EVERY_SERVICE else self.reads.upper()


@dataclass(frozen=True)
class Worker:
    """A background job the kit runs, supervises (restarting it with backoff when it fails),
    reports in ``/readyz`` and stops in order; ``run`` returns when ``context.stopping``."""

    name: str
    run: Callable[[WorkerContext], Awaitable[None]]


@dataclass(frozen=True)
class ServiceDefinition:
    """Everything the kit needs to build, run, deploy and document one service.

    ``owner_agency`` is the agency whose data the service's records are (other agencies read
    them only with a permit). ``errors`` maps the service's domain errors to problem
    documents, in one place. ``tables`` is the metadata of the service's own tables (for
    migrations and the schema check). ``migrations`` defaults to
    ``oneplan_<name>:migrations`` (a folder holding ``versions/``; the kit supplies the
    Alembic environment). ``publishes=False`` for a service that only consumes.
    ``journey_step`` orders services as a child's journey crosses them (children 10, consent
    20, plans 30...; the demo loads data in that order, and ``oneplan dev`` starts them so).
    ``consistency_tokens=True``: every write answers with a ``Consistency-Token`` once its
    events are published (see :mod:`oneplan_kit.consistency`; the consent service's writes).
    """

    name: str
    title: str
    port: int
    catalogue: Catalogue
    owner_agency: str | None = None
    description: str = ""
    version: str = "0.1.0"
    routers: Sequence[APIRouter] = ()
    errors: Mapping[type[Exception], ProblemFactory] = field(default_factory=dict)
    subscriptions: Sequence[Subscription] = ()
    workers: Sequence[Worker] = ()
    settings_cls: type[ServiceSettings] = ServiceSettings
    tables: MetaData | None = None
    uses_consent_replica: bool = False
    consistency_tokens: bool = False
    publishes: bool = True
    partitions: int = DEFAULT_PARTITIONS
    migrations: str | Path | None = None
    journey_step: int = 100
    on_startup: Sequence[Callable[[Runtime], Awaitable[None]]] = ()
    # Read models filled only from consumed events: `oneplan rebuild SERVICE` refills them.
    read_models: Sequence[ReadModel] = ()

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"a service name is a lower-case identifier, not {self.name!r}")
        if self.catalogue.service not in (None, self.name):
            raise ValueError(f"{self.name}'s catalogue is {self.catalogue.service}'s")
        names = [subscription.name for subscription in self.subscriptions]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: subscription names must be unique, got {names}")

    @property
    def source(self) -> str:
        """The CloudEvents ``source`` of this service's events."""
        return f"/oneplan/{self.name}"

    @property
    def package(self) -> str:
        """The import name: ``oneplan_<name>``."""
        return f"oneplan_{self.name}"

    @property
    def stream(self) -> StreamSpec:
        """The stream it publishes to: ``<NAME>``, ``oneplan.<name>.>``, partitioned."""
        return service_stream(self.name, self.partitions)

    @property
    def migrations_location(self) -> str | Path:
        """Where its migration versions live."""
        return self.migrations or f"{self.package}:migrations"

    @property
    def reads(self) -> list[str]:
        """The services whose streams it reads (:data:`EVERY_SERVICE` for a follower)."""
        return sorted({subscription.reads for subscription in self.subscriptions})


def installed_services() -> dict[str, ServiceDefinition]:
    """Every installed service, by name (entry-point group ``oneplan.services``)."""
    services: dict[str, ServiceDefinition] = {}
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        definition = entry.load()
        if not isinstance(definition, ServiceDefinition):
            raise TypeError(f"entry point {entry.name} ({entry.value}) is not a ServiceDefinition")
        if definition.name != entry.name:
            raise ValueError(f"entry point {entry.name} names service {definition.name}")
        services[definition.name] = definition
    return dict(sorted(services.items()))


def load_service(name: str) -> ServiceDefinition:
    """One installed service's definition; LookupError naming the installed ones."""
    services = installed_services()
    if name not in services:
        known = ", ".join(services) or "none"
        raise LookupError(
            f"no service {name!r} is installed (installed: {known}); a service is a package "
            f"under services/ with an `{ENTRY_POINT_GROUP}` entry point (run `uv sync` after "
            "adding one)"
        )
    return services[name]
