"""Consistency tokens: a write says which stream position makes it visible; a read waits for it.

A service declared with ``consistency_tokens=True`` (the consent service) answers every
write that appended events with a ``Consistency-Token`` header: the JetStream sequence of
the write's last event in the service's stream, read from the outbox once the relay has
published it (which it does within milliseconds of the commit; the wait is bounded by
:data:`CONSISTENCY_WAIT`). When the service's own consent replica reads that stream, the
write also waits until the replica has applied the sequence, so the service's own decisions
reflect its own commits the moment the write answers.

Any service's read that carries the token (:data:`ReplicaDep`, :data:`~oneplan_kit.sharing.
SharingDep`) is answered only once its replica has applied that sequence, or 503 after
:data:`CONSISTENCY_WAIT`: whoever withdraws a consent and then reads anywhere sees the
withdrawal (Zanzibar's "zookie").

A write whose events are not published in time (NATS unreachable, a long backlog) still
answers with its committed result, without the header, and logs a warning: the replicas
then deny by their own staleness rule (fail closed) once they cannot prove themselves fresh.
An idempotent replay returns the first response as it was recorded, before the commit, so
without the header.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Annotated, Final

from fastapi import Depends, Header
from sqlalchemy import select

from oneplan_events.schema import outbox
from oneplan_events.store import RecordedEvent
from oneplan_events.streams import service_stream
from oneplan_kit.errors import ServiceUnavailable
from oneplan_kit.runtime import Runtime, RuntimeDep
from oneplan_sharing import ConsentReplica

__all__ = [
    "CONSISTENCY_HEADER",
    "CONSISTENCY_WAIT",
    "ReplicaDep",
    "consistency_token",
    "published_sequence",
    "wait_for_token",
]

CONSISTENCY_HEADER: Final = "Consistency-Token"
CONSISTENCY_WAIT: Final = 2.0
"""Seconds a write waits for its token, and a read for its replica to reach a token."""

# How often a write looks for its sequence when the relay publishing it runs elsewhere
# (another instance holds the relay lease); the local relay wakes it at once.
_POLL: Final = 0.02
_SEQUENCE_PATTERN: Final = r"^[0-9]{1,18}$"
_log = logging.getLogger("oneplan_kit.consistency")


async def published_sequence(
    runtime: Runtime, events: Sequence[RecordedEvent], within: float = CONSISTENCY_WAIT
) -> int | None:
    """The stream sequence of the last of ``events`` once all are published; None after
    ``within`` seconds (they stay committed and the relay publishes them later)."""
    ids = [event.envelope.id for event in events]
    query = select(outbox.c.stream_sequence).where(outbox.c.event_id.in_(ids))
    deadline = time.monotonic() + within
    while True:
        async with runtime.engine.connect() as conn:
            sequences: list[int | None] = list((await conn.execute(query)).scalars())
        published = [seq for seq in sequences if seq is not None]
        if len(published) == len(ids):
            return max(published)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        if runtime.relay is not None:
            await runtime.relay.wait_for_marks(min(remaining, _POLL))
        else:
            await asyncio.sleep(min(remaining, _POLL))


async def consistency_token(runtime: Runtime, events: Sequence[RecordedEvent]) -> str | None:
    """The token a committed write answers with (see the module docstring), or None."""
    if not events or not runtime.definition.consistency_tokens:
        return None
    started = time.monotonic()
    try:
        sequence = await published_sequence(runtime, events)
    except Exception:  # the write is committed: it answers as committed, without a token
        _log.warning("consistency token of %s not found", events[-1].stream_id, exc_info=True)
        return None
    if sequence is None:
        _log.warning(
            "write of %s not yet published after %.1f s; answered without a consistency token",
            events[-1].stream_id,
            CONSISTENCY_WAIT,
        )
        return None
    replica = runtime.replica
    own_stream = service_stream(runtime.definition.name).name
    if replica is not None and replica.stream == own_stream:
        left = max(CONSISTENCY_WAIT - (time.monotonic() - started), 0.0)
        if not await replica.wait_until_applied(sequence, left):
            _log.warning(
                "own consent replica has not applied sequence %d after %.1f s",
                sequence,
                CONSISTENCY_WAIT,
            )
    return str(sequence)


async def wait_for_token(replica: ConsentReplica, token: str) -> None:
    """Return once ``replica`` has applied the token's sequence; 503 after the bound."""
    if not await replica.wait_until_applied(int(token), CONSISTENCY_WAIT):
        raise ServiceUnavailable(
            f"The consent decision point has not yet applied change {token}; retry shortly."
        )


async def _consistent_replica(
    runtime: RuntimeDep,
    consistency_token: Annotated[
        str | None,
        Header(
            alias=CONSISTENCY_HEADER,
            description="The token a consent write returned: answer only once this "
            "service's consent replica has applied that change (503 if it cannot within "
            f"{CONSISTENCY_WAIT:.0f} s).",
            pattern=_SEQUENCE_PATTERN,
        ),
    ] = None,
) -> ConsentReplica:
    replica = runtime.replica
    if replica is None:
        raise ServiceUnavailable("The consent decision point is not running; nothing is shared.")
    if consistency_token is not None:
        await wait_for_token(replica, consistency_token)
    return replica


ReplicaDep = Annotated[ConsentReplica, Depends(_consistent_replica)]
"""This service's consent replica, once it has applied the request's ``Consistency-Token``."""
