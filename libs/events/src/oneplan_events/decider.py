"""The decider: a record's whole domain as three pure things, and what runs them.

A :class:`Decider` is ``initial_state()``, ``decide(state, command, now) -> events`` and
``evolve(state, event) -> state`` (Chassaing's functional event-sourcing decider), plus the
prefix of its records' stream ids. It does no I/O and never reads the clock. An
:class:`Aggregate` pairs a decider with the projection that keeps its read models in step,
written in the same transaction as the events. :meth:`oneplan_events.uow.UnitOfWork.execute`
runs one: load the stream, check the expected version, decide, append (with the outbox),
evolve, project.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar
from uuid import UUID

from oneplan_events.catalogue import Event

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from oneplan_events.store import RecordedEvent

__all__ = ["Aggregate", "Decider", "Outcome", "Projector", "fold"]

S = TypeVar("S")
C = TypeVar("C")
C_contra = TypeVar("C_contra", contravariant=True)


class Decider(Protocol[S, C_contra]):
    """One kind of record: its commands decide events, its events evolve its state."""

    @property
    def stream_prefix(self) -> str:
        """Records live in streams ``<stream_prefix>/<record id>`` (e.g. ``child/<uuid>``)."""
        ...

    def initial_state(self) -> S:
        """The state of a record with no events yet."""
        ...

    def decide(self, state: S, command: C_contra, now: datetime) -> Sequence[Event]:
        """The events that carry out ``command`` (none: nothing to do), or a domain error."""
        ...

    def evolve(self, state: S, event: Event) -> S:
        """The state after ``event``."""
        ...


def fold(decider: Decider[S, Any], events: Iterable[Event]) -> S:
    """The state after ``events``, from the decider's initial state."""
    state = decider.initial_state()
    for event in events:
        state = decider.evolve(state, event)
    return state


Projector = Callable[["AsyncSession", S, Sequence["RecordedEvent"]], Awaitable[None]]
"""Brings read models to ``state`` after the new recorded events, in the command's
transaction (``AsyncSession``); must not commit."""


@dataclass(frozen=True)
class Aggregate(Generic[S, C]):
    """A decider and the projection of its records into the service's read models."""

    decider: Decider[S, C]
    project: Projector[S] | None = None

    def stream_id(self, record_id: UUID | str) -> str:
        """The event stream of one record."""
        return f"{self.decider.stream_prefix}/{record_id}"


@dataclass(frozen=True)
class Outcome(Generic[S]):
    """What a command did: the record's state and version after it, and its new events."""

    state: S
    version: int
    recorded: Sequence[RecordedEvent]

    @property
    def events(self) -> list[Event]:
        """The new events, typed."""
        return [item.event for item in self.recorded]
