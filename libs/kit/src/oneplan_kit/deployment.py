"""The deployment files, derived from the installed services: nothing lists the services by hand.

Every file here is a pure function of a list of :class:`ServiceDefinition`:

- ``deploy/nats/accounts.conf``: one NATS user per service with the least privilege its
  definition implies (its own subjects when it publishes, its own stream, and on each stream
  it reads only its own durables, with their filters);
- ``docker-compose.yml``: the infrastructure and one block per service, each wired the same way;
- ``deploy/env.example``: every secret the compose file reads;
- ``docs/asyncapi.yaml``: the event contract, from the services' catalogues.

``oneplan generate`` writes them from the installed services; ``oneplan check-generated``
(run by ``scripts/test``) names every file that differs. A new service therefore edits none
of them by hand.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from oneplan_events.asyncapi import ServiceContract, render
from oneplan_events.discovery import STREAM_CREATED_ADVISORY
from oneplan_events.streams import DEFAULT_PARTITIONS
from oneplan_kit._compose import docker_compose, env_example
from oneplan_kit.nats import inbox_prefix_for
from oneplan_kit.rebuild import rebuild_consumer, rebuild_filter
from oneplan_kit.service import ServiceDefinition, Subscription

__all__ = [
    "ACCOUNTS_PATH",
    "ASYNCAPI_PATH",
    "COMPOSE_PATH",
    "CONSENT_STREAM",
    "ENV_EXAMPLE_PATH",
    "GeneratedFile",
    "Permissions",
    "StreamRead",
    "asyncapi_yaml",
    "deployment_order",
    "generated_files",
    "nats_accounts",
    "permissions_of",
    "stale_files",
    "stream_reads",
    "write_files",
]

ACCOUNTS_PATH: Final = "deploy/nats/accounts.conf"
COMPOSE_PATH: Final = "docker-compose.yml"
ENV_EXAMPLE_PATH: Final = "deploy/env.example"
ASYNCAPI_PATH: Final = "docs/asyncapi.yaml"

CONSENT_STREAM: Final = "CONSENT"
"""The stream the consent replica reads (``oneplan_sharing.ConsentReplica``'s default)."""

_JS_API: Final = "$JS.API"


@dataclass(frozen=True, slots=True)
class GeneratedFile:
    """One generated file: where it goes (relative to the checkout) and what it holds."""

    path: str
    text: str


@dataclass(frozen=True, slots=True)
class StreamRead:
    """One stream a subscription reads: the JetStream durables the kit creates on it, each
    with its filter subject (``oneplan_events.consumer.DurableConsumer._plan`` names them)."""

    service: str
    stream: str
    consumers: tuple[tuple[str, str], ...]

    @property
    def durables(self) -> list[str]:
        """The durables' names."""
        return [durable for durable, _ in self.consumers]


@dataclass(frozen=True, slots=True)
class Permissions:
    """What one service's NATS user may publish and subscribe to."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]


def deployment_order(services: Iterable[ServiceDefinition]) -> list[ServiceDefinition]:
    """The services in the order of a child's journey (``journey_step``, then name), the
    order ``oneplan dev`` starts them in."""
    return sorted(services, key=lambda d: (d.journey_step, d.name))


def stream_reads(
    definition: ServiceDefinition,
    subscription: Subscription,
    services: Sequence[ServiceDefinition],
) -> list[StreamRead]:
    """The streams ``subscription`` of ``definition`` reads and the durables on each.

    A stream of a service that is not among ``services`` is taken to have the default
    partitions. A follower of every service (``EVERY_SERVICE``) reads each publishing
    service's stream, its own included: its durables are named per stream
    (``<service>_<subscription>_<stream>_p<n>``).
    """
    by_name = {service.name: service for service in services}
    own = subscription.consumer_name(definition.name)
    if subscription.stream is not None:
        publisher = by_name.get(subscription.reads)
        partitions = publisher.partitions if publisher is not None else DEFAULT_PARTITIONS
        return [_read(subscription.reads, subscription.stream, own, partitions, subscription.types)]
    return [
        _read(
            publisher.name,
            publisher.stream.name,
            subscription.consumer_name(definition.name, publisher.stream.name),
            publisher.partitions,
            subscription.types,
        )
        for publisher in deployment_order(services)
        if publisher.publishes
    ]


def _read(service: str, stream: str, base: str, partitions: int, types: str | None) -> StreamRead:
    if partitions == 0:
        # A stream not partitioned by record: one durable on the stream's (or the types') subjects.
        subject = f"oneplan.{service}.>" if types is None else f"oneplan.*.{types}.>"
        return StreamRead(service, stream, ((base, subject),))
    kinds = types or "*.*"
    return StreamRead(
        service,
        stream,
        tuple((f"{base}_p{n}", f"oneplan.{service}.{kinds}.*.{n}") for n in range(partitions)),
    )


def permissions_of(
    definition: ServiceDefinition, services: Sequence[ServiceDefinition]
) -> Permissions:
    """The least privilege ``definition`` needs, given every service of the deployment."""
    publish: dict[str, None] = {}  # an ordered set: the file reads in a stable order

    def allow(*subjects: str) -> None:
        publish.update(dict.fromkeys(subjects))

    own = definition.stream.name
    if definition.publishes:
        allow(f"oneplan.{definition.name}.>")
    allow(f"{_JS_API}.INFO", f"{_JS_API}.STREAM.NAMES")
    if definition.publishes:
        allow(*(f"{_JS_API}.STREAM.{verb}.{own}" for verb in ("CREATE", "UPDATE", "INFO")))
    follows = False
    for subscription in definition.subscriptions:
        follows = follows or subscription.stream is None
        for read in stream_reads(definition, subscription, services):
            allow(f"{_JS_API}.STREAM.INFO.{read.stream}")
            stream = read.stream
            allow(*(f"{_JS_API}.CONSUMER.CREATE.{stream}.{d}.{f}" for d, f in read.consumers))
            allow(*(f"{_JS_API}.CONSUMER.MSG.NEXT.{stream}.{d}" for d in read.durables))
            allow(*(f"{_JS_API}.CONSUMER.UNPIN.{stream}.{d}" for d in read.durables))
            allow(*(f"$JS.ACK.{stream}.{d}.>" for d in read.durables))
    for model in definition.read_models:
        # `oneplan rebuild`: one named consumer per stream read, without acks, deleted after.
        for subscription in model.subscriptions:
            for read in stream_reads(definition, subscription, services):
                name = rebuild_consumer(definition.name, model, read.stream)
                stream = read.stream
                allow(
                    f"{_JS_API}.STREAM.INFO.{stream}",
                    f"{_JS_API}.CONSUMER.CREATE.{stream}.{name}.{rebuild_filter(subscription)}",
                    f"{_JS_API}.CONSUMER.INFO.{stream}.{name}",
                    f"{_JS_API}.CONSUMER.MSG.NEXT.{stream}.{name}",
                    f"{_JS_API}.CONSUMER.DELETE.{stream}.{name}",
                )
    if definition.uses_consent_replica:
        # An ordered consumer: nats-py creates it without a name (CONSUMER.CREATE.<stream>),
        # and answers the server's flow-control requests on $JS.FC.<stream>.>.
        allow(
            f"{_JS_API}.STREAM.INFO.{CONSENT_STREAM}",
            f"{_JS_API}.CONSUMER.CREATE.{CONSENT_STREAM}",
            f"$JS.FC.{CONSENT_STREAM}.>",
        )
    subscribe = [f"{inbox_prefix_for(definition.name)}.>"]
    if follows:
        subscribe.append(STREAM_CREATED_ADVISORY)
    return Permissions(tuple(publish), tuple(subscribe))


_ACCOUNTS_HEADER: Final = """\
# GENERATED by `./oneplan generate` from the installed services' definitions
# (oneplan_kit.deployment): do not edit by hand. `./oneplan check-generated` (run by
# scripts/test) fails when this file is out of date.
#
# Users and subject permissions, one NATS user per OnePlan service (least privilege). Included by
# nats-server.conf (single node) and cluster/nats-*.conf; needs nats-server 2.11 or newer.
#
# Every service is a user of the one ONEPLAN account (the streams are shared through it). A user
# may publish its own events, oneplan.<self>.>, only when it publishes, and call the JetStream
# API for its own stream (create, update, info). On each stream it reads it may create only its
# own durables with their own filters (a create request's subject names both:
# $JS.API.CONSUMER.CREATE.<STREAM>.<durable>.<filter>), and pull from, unpin and acknowledge only
# those. A follower of every stream (a Subscription reading EVERY_SERVICE) gets this on each
# installed service's stream, because its durables are named per stream, and may subscribe to
# JetStream's stream-created advisory. A service with the consent replica reads CONSENT through
# an ordered (ephemeral push) consumer. A user may subscribe only to its own reply inboxes,
# _INBOX_<service>.> (the kit's connect_nats sets that inbox prefix), so no user can read
# another's JetStream deliveries or replies. Passwords come from the environment
# (NATS_<SERVICE>_PASSWORD); nats-server refuses to start when one is missing.
"""


def _describe(definition: ServiceDefinition, services: Sequence[ServiceDefinition]) -> str:
    parts = [f"publishes {definition.stream.name}"] if definition.publishes else ["consumer only"]
    reads = []
    for subscription in definition.subscriptions:
        streams = ", ".join(r.stream for r in stream_reads(definition, subscription, services))
        what = f"{subscription.types} on {streams}" if subscription.types else streams
        reads.append(f"{what} ({subscription.name})")
    if definition.uses_consent_replica:
        reads.append(f"{CONSENT_STREAM} (the consent replica)")
    if reads:
        parts.append("reads " + "; ".join(reads))
    return f"# {definition.name}: " + "; ".join(parts)


def _allow(kind: str, subjects: Sequence[str]) -> list[str]:
    listed = [f'              "{subject}"' for subject in subjects]
    return [
        f"          {kind} {{",
        "            allow: [",
        ",\n".join(listed),
        "            ]",
        "          }",
    ]


def _user(definition: ServiceDefinition, services: Sequence[ServiceDefinition]) -> list[str]:
    permissions = permissions_of(definition, services)
    return [
        "      " + _describe(definition, services),
        "      {",
        f"        user: {definition.name}",
        f"        password: $NATS_{definition.name.upper()}_PASSWORD",
        "        permissions {",
        *_allow("publish", permissions.publish),
        *_allow("subscribe", permissions.subscribe),
        "        }",
        "      }",
    ]


def nats_accounts(services: Sequence[ServiceDefinition]) -> str:
    """``deploy/nats/accounts.conf``: a user per service, the SYS account for operators."""
    ordered = deployment_order(services)
    users = [line for definition in ordered for line in _user(definition, ordered)]
    body = [
        "accounts {",
        "  ONEPLAN {",
        "    jetstream: enabled",
        "    users: [",
        *users,
        "    ]",
        "  }",
        "  SYS {",
        "    users: [{ user: admin, password: $NATS_ADMIN_PASSWORD }]",
        "  }",
        "}",
        "system_account: SYS",
    ]
    return _ACCOUNTS_HEADER + "\n" + "\n".join(body) + "\n"


def asyncapi_yaml(services: Sequence[ServiceDefinition]) -> str:
    """``docs/asyncapi.yaml``: what every service publishes and reads."""
    return render([ServiceContract(d.name, d.catalogue) for d in services])


def generated_files(services: Sequence[ServiceDefinition]) -> list[GeneratedFile]:
    """Every generated file for a deployment of ``services``."""
    ordered = deployment_order(services)
    return [
        GeneratedFile(ACCOUNTS_PATH, nats_accounts(ordered)),
        GeneratedFile(COMPOSE_PATH, docker_compose(ordered)),
        GeneratedFile(ENV_EXAMPLE_PATH, env_example(ordered)),
        GeneratedFile(ASYNCAPI_PATH, asyncapi_yaml(ordered)),
    ]


def write_files(root: Path, services: Sequence[ServiceDefinition]) -> list[str]:
    """Write every generated file under ``root``; the paths whose content changed."""
    changed = []
    for generated in generated_files(services):
        target = root / generated.path
        if _current(target) != generated.text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(generated.text, encoding="utf-8")
            changed.append(generated.path)
    return changed


def stale_files(root: Path, services: Sequence[ServiceDefinition]) -> dict[str, list[str]]:
    """Each generated file under ``root`` that differs from what ``services`` generate, with
    the first lines of a unified diff (committed -> generated)."""
    stale = {}
    for generated in generated_files(services):
        current = _current(root / generated.path)
        if current != generated.text:
            diff = difflib.unified_diff(
                (current or "").splitlines(),
                generated.text.splitlines(),
                f"{generated.path} (committed)",
                f"{generated.path} (generated)",
                lineterm="",
                n=1,
            )
            stale[generated.path] = list(diff)
    return stale


def _current(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
