"""A service of the directory as a decider: listed, changed, retired (streams
`directory/<service id>`).

Pure: whether another service already uses the entry's code is the handler's check (the
decider sees one record).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import assert_never

from oneplan_events.catalogue import Event
from oneplan_referrals.domain.commands import (
    ChangeService,
    DirectoryCommand,
    ListService,
    RetireService,
)
from oneplan_referrals.domain.errors import AlreadyRecorded, InvalidInput, NotFound, WrongState
from oneplan_referrals.events import (
    DirectoryEntry,
    DirectoryServiceChanged,
    DirectoryServiceListed,
    DirectoryServiceRetired,
)

__all__ = ["LISTING", "ListedService", "ListingDecider", "changed_fields", "decide", "evolve"]


@dataclass(frozen=True)
class ListedService:
    """A service of the directory after `version` events."""

    entry: DirectoryEntry
    retired_on: date | None = None
    version: int = 1

    @property
    def retired(self) -> bool:
        """Whether the service has left the directory."""
        return self.retired_on is not None


def changed_fields(before: DirectoryEntry, after: DirectoryEntry) -> tuple[str, ...]:
    """The names of the fields whose values differ, in the entry's order."""
    return tuple(
        name
        for name in DirectoryEntry.model_fields
        if getattr(before, name) != getattr(after, name)
    )


def _current(state: ListedService | None, doing: str) -> ListedService:
    if state is None:
        raise NotFound("the directory has no such service")
    if state.retired:
        raise WrongState(
            f"the service {state.entry.code} was retired on {state.retired_on}: it cannot {doing}"
        )
    return state


def decide(
    state: ListedService | None, command: DirectoryCommand, now: datetime
) -> Sequence[Event]:
    """The events that carry out `command` on `state` (none: nothing changes), or a
    DomainError; never any I/O."""
    match command:
        case ListService(entry=entry, source=source, by=by):
            if state is not None:
                raise AlreadyRecorded(f"the directory lists service {entry.id} already")
            return [DirectoryServiceListed(entry=entry, source=source, recorded_by=by)]
        case ChangeService(entry=entry, source=source, by=by):
            current = _current(state, "change")
            if entry.id != current.entry.id:
                raise InvalidInput("id", "a service keeps its id")
            fields = changed_fields(current.entry, entry)
            if not fields:
                return []
            return [
                DirectoryServiceChanged(
                    entry=entry, changed_fields=fields, source=source, recorded_by=by
                )
            ]
        case RetireService(on=on, by=by, reason=reason):
            current = _current(state, "be retired again")
            return [
                DirectoryServiceRetired(
                    service_id=current.entry.id, retired_on=on, reason=reason, recorded_by=by
                )
            ]
        case _:
            assert_never(command)


def evolve(state: ListedService | None, event: Event) -> ListedService | None:
    """The service after `event`."""
    if isinstance(event, DirectoryServiceListed):
        return ListedService(event.entry)
    if state is None:
        raise ValueError(f"{type(event).__name__} before the service was listed")
    match event:
        case DirectoryServiceChanged():
            changed = dataclasses.replace(state, entry=event.entry)
        case DirectoryServiceRetired():
            changed = dataclasses.replace(state, retired_on=event.retired_on)
        case _:
            raise ValueError(f"{type(event).__name__} is not an event of the directory")
    return dataclasses.replace(changed, version=state.version + 1)


class ListingDecider:
    """A service of the directory for the kit: streams `directory/<service id>`."""

    stream_prefix = "directory"

    def initial_state(self) -> ListedService | None:
        """Not listed yet."""
        return None

    def decide(
        self, state: ListedService | None, command: DirectoryCommand, now: datetime
    ) -> Sequence[Event]:
        """:func:`decide`."""
        return decide(state, command, now)

    def evolve(self, state: ListedService | None, event: Event) -> ListedService | None:
        """:func:`evolve`."""
        return evolve(state, event)


LISTING = ListingDecider()
"""A service of the directory, as the kit runs it."""
