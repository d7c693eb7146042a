"""Reactions: what a service does when another service's event (or its own) arrives.

::

    reactions = Reactions()

    @reactions.handles(PlanIssued)
    async def when_plan_issued_open_transport_case(event: PlanIssued, delivery: Delivery) -> None:
        await delivery.uow.execute(CASES, case_id_for(event), OpenCase.from_plan(event))

A handler gets the typed, upcast event and a :class:`Delivery`: the consumer's transaction
(``session``) and a unit of work bound to it (``uow``), so the events it appends commit
atomically with the consumer's bookkeeping, and carry the handled event's id as their
``causationid`` and its ``correlationid``. Handlers never commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from oneplan_events.catalogue import Catalogue, Event
from oneplan_events.envelope import Envelope
from oneplan_events.uow import UnitOfWork

__all__ = ["Delivery", "Handler", "Reactions", "Unapplicable", "matches"]

E = TypeVar("E", bound=Event)


class Unapplicable(Exception):
    """Raised by a handler for an event that breaks the contract it is read under (a
    revision of a withdrawn contribution, say): retrying cannot help, so the consumer parks
    it at once with this reason, after rolling back whatever the handler wrote."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event being applied: its envelope, the consumer's transaction, a unit of work,
    and where it was read (the JetStream stream and its sequence there, when known)."""

    envelope: Envelope
    uow: UnitOfWork
    stream: str | None = None
    sequence: int | None = None

    @property
    def session(self) -> AsyncSession:
        """The consumer's transaction (for the service's own tables); never commit it."""
        return self.uow.session

    @property
    def now(self) -> datetime:
        """When the event is being applied (the service's clock, read once)."""
        return self.uow.now


Handler = Callable[[Any, Delivery], Awaitable[None]]
"""Applies one event inside the consumer's transaction; must not commit."""


class Reactions:
    """The handlers of one subscription, registered per event class; explicit and greppable.

    A class with a ``type`` handles that one type; a generic family's base class
    (``ContributionSubmitted``, ``DisclosureRecorded``: they declare a ``type_pattern``)
    handles that type from every service.
    """

    def __init__(self) -> None:
        self._exact: dict[str, tuple[type[Event], Handler]] = {}
        self._patterns: list[tuple[str, type[Event], Handler]] = []
        self._resolved: dict[str, Handler | None] = {}

    def handles(
        self, *event_classes: type[E]
    ) -> Callable[
        [Callable[[E, Delivery], Awaitable[None]]], Callable[[E, Delivery], Awaitable[None]]
    ]:
        """Decorator registering the handler of ``event_classes``."""
        if not event_classes:
            raise ValueError("handles() needs at least one event class")

        def register(
            handler: Callable[[E, Delivery], Awaitable[None]],
        ) -> Callable[[E, Delivery], Awaitable[None]]:
            for event_class in event_classes:
                self._add(event_class, handler)
            return handler

        return register

    def _add(self, event_class: type[Event], handler: Handler) -> None:
        pattern = event_class.__dict__.get("type_pattern")
        if pattern is not None:
            self._patterns.append((pattern, event_class, handler))
            self._resolved.clear()
            return
        event_type = getattr(event_class, "type", None)
        if event_type is None:
            raise ValueError(f"{event_class.__name__} is not a registered event model")
        if event_type in self._exact:
            raise ValueError(f"{event_type} has a handler already")
        self._exact[event_type] = (event_class, handler)
        self._resolved.clear()

    def handler_for(self, event_type: str) -> Handler | None:
        """The handler of ``event_type`` (None: this subscription ignores it)."""
        if event_type not in self._resolved:
            found = self._exact.get(event_type)
            handler = found[1] if found is not None else None
            if handler is None:
                handler = next(
                    (h for pattern, _, h in self._patterns if matches(pattern, event_type)), None
                )
            self._resolved[event_type] = handler
        return self._resolved[event_type]

    @property
    def handled(self) -> Mapping[str, type[Event]]:
        """The exact event types handled, with the model each handler expects."""
        return {event_type: model for event_type, (model, _) in self._exact.items()}

    @property
    def patterns(self) -> list[str]:
        """The generic type patterns handled (``oneplan.*.contribution.submitted``)."""
        return [pattern for pattern, _, _ in self._patterns]

    def check(self, catalogue: Catalogue) -> None:
        """Refuse a handler whose event class is not how ``catalogue`` decodes its type (a
        wiring mistake that would otherwise surface as parked events)."""
        for event_type, model in self.handled.items():
            decoded = catalogue.model(event_type)
            if not issubclass(decoded, model):
                raise TypeError(
                    f"{event_type} decodes as {decoded.__name__}, but its handler expects "
                    f"{model.__name__}: register the reader in the service's catalogue"
                )


def matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, a final ``>`` one or more."""
    wanted, parts = pattern.split("."), subject.split(".")
    for index, part in enumerate(wanted):
        if part == ">":
            return len(parts) > index
        if index >= len(parts) or part not in ("*", parts[index]):
            return False
    return len(parts) == len(wanted)
