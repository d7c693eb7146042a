"""JetStream streams: each service creates and updates its own, idempotently."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, Final

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from oneplan_events.catalogue import CATALOGUE, Event, UnknownEventType, UnsupportedSchemaVersion
from oneplan_events.envelope import Envelope, MalformedEvent

__all__ = [
    "STREAMS",
    "ReplayResult",
    "StreamChange",
    "StreamConfigConflict",
    "StreamSpec",
    "ensure_stream",
    "replay_stream",
    "stream_for",
]

logger = logging.getLogger(__name__)


class StreamConfigConflict(RuntimeError):
    """The existing stream differs in a way JetStream cannot update in place (storage)."""


class StreamChange(StrEnum):
    """What :func:`ensure_stream` did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """The configuration OnePlan owns for one stream; everything else keeps the server default.

    File storage always (the stream can be refilled from the database, but should not need
    to be); 1 replica for development, 3 for a cluster.
    """

    name: str
    subjects: Sequence[str] = field(default_factory=tuple)
    replicas: int = 1
    duplicate_window: timedelta = timedelta(minutes=2)
    storage: StorageType = StorageType.FILE

    def config(self) -> StreamConfig:
        """The JetStream configuration for a new stream."""
        return StreamConfig(
            name=self.name,
            subjects=list(self.subjects),
            storage=self.storage,
            num_replicas=self.replicas,
            duplicate_window=self.duplicate_window.total_seconds(),
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
        return differences


async def ensure_stream(js: JetStreamContext, spec: StreamSpec) -> StreamChange:
    """Create the stream, or update it when its owned settings drifted; safe to call always.

    Raises :class:`StreamConfigConflict` when only a re-creation could fix the drift (storage
    type), because deleting a stream would delete events.
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
    # Keep every setting we do not own (limits set by an operator) and correct ours.
    updated = dataclasses.replace(
        info.config,
        subjects=list(spec.subjects),
        num_replicas=spec.replicas,
        duplicate_window=spec.duplicate_window.total_seconds(),
    )
    await js.update_stream(updated)
    return StreamChange.UPDATED


def _service_stream(service: str) -> StreamSpec:
    return StreamSpec(name=service.upper(), subjects=(f"oneplan.{service}.>",))


STREAMS: Final = (
    _service_stream("children"),
    _service_stream("consent"),
    _service_stream("plans"),
    _service_stream("referrals"),
    _service_stream("socialcare"),
    _service_stream("transport"),
)
"""The OnePlan services' streams at their development settings (1 replica)."""


def stream_for(service: str) -> StreamSpec:
    """The stream of ``service`` (e.g. ``"plans"`` -> PLANS, ``oneplan.plans.>``)."""
    for spec in STREAMS:
        if spec.name == service.upper():
            return spec
    raise KeyError(f"no OnePlan stream for service {service!r}")


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
            if await _replay_one(msg, apply):
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


async def _replay_one(msg: Msg, apply: Apply) -> bool:
    try:
        envelope = Envelope.from_nats(msg.subject, msg.headers, msg.data)
        event = CATALOGUE.decode_envelope(envelope)
    except (MalformedEvent, UnknownEventType, UnsupportedSchemaVersion, ValidationError) as error:
        logger.warning("replay: skipped stream message on %s: %s", msg.subject, error)
        return False
    await apply(event, envelope)
    return True


def _finish(progress: Progress | None, result: ReplayResult, total: int) -> ReplayResult:
    if progress is not None:
        progress(result.applied + result.skipped, total)
    return result
