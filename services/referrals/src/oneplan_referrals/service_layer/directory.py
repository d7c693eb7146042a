"""Use cases of the directory: listing, changing and retiring its services (from the API or
the CSV loaded at start), each inside the caller's unit of work; nothing here commits."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Final
from uuid import UUID

from oneplan_events.uow import UnitOfWork
from oneplan_referrals.adapters import repository
from oneplan_referrals.domain.commands import (
    ChangeService,
    DirectoryCommand,
    ListService,
    RetireService,
)
from oneplan_referrals.domain.directory import Directory
from oneplan_referrals.domain.errors import InvalidInput, NotFound
from oneplan_referrals.domain.listing import ListedService
from oneplan_referrals.events import DirectoryEntry

__all__ = ["CSV_RECORDER", "Synced", "change_service", "list_service", "retire_service", "sync"]

CSV_RECORDER: Final = "directory-csv"
"""Who the directory's events name when the CSV loaded at start made them."""

_log = logging.getLogger(__name__)

Outcome = tuple[ListedService, int]


async def _run(
    uow: UnitOfWork,
    service_id: UUID,
    command: DirectoryCommand,
    expected_version: int | None = None,
) -> Outcome:
    if isinstance(command, ListService | ChangeService) and await repository.code_in_use(
        uow.session, command.entry.code, service_id
    ):
        code = command.entry.code
        raise InvalidInput("code", f"another service of the directory has code {code}")
    outcome = await uow.execute(
        repository.DIRECTORY, service_id, command, expected_version=expected_version
    )
    if outcome.state is None:
        raise NotFound(f"the directory has no service {service_id}")
    return outcome.state, outcome.version


async def list_service(uow: UnitOfWork, by: str, entry: DirectoryEntry) -> Outcome:
    """Add ``entry`` to the directory (its code unused by any other service)."""
    return await _run(uow, entry.id, ListService(entry, "api", by))


async def change_service(
    uow: UnitOfWork, by: str, entry: DirectoryEntry, expected_version: int
) -> Outcome:
    """Replace what the directory says about the service ``entry.id``."""
    return await _run(uow, entry.id, ChangeService(entry, "api", by), expected_version)


async def retire_service(
    uow: UnitOfWork,
    by: str,
    service_id: UUID,
    *,
    on: date,
    reason: str | None,
    expected_version: int,
) -> Outcome:
    """Take the service out of the directory: no new referrals go to it."""
    return await _run(uow, service_id, RetireService(on, by, reason), expected_version)


@dataclass(frozen=True)
class Synced:
    """What loading a CSV directory did: the services listed, changed, and the retired
    ones the file still names (left retired)."""

    listed: tuple[UUID, ...] = ()
    changed: tuple[UUID, ...] = ()
    left_retired: tuple[UUID, ...] = ()


async def sync(uow: UnitOfWork, loaded: Directory) -> Synced:
    """Bring the directory to the CSV ``loaded``: a service it does not list yet is listed,
    one it lists with other details is changed, one unchanged is left alone (so a restart
    records nothing). Services only the event log knows (added through the API) are kept;
    a retired service stays retired even if the file still names it (a retirement is a
    decision, not a file's omission)."""
    listed, changed, left_retired = [], [], []
    for entry in loaded.entries.values():
        current, _ = await uow.load(repository.DIRECTORY, entry.id)
        if current is None:
            await _run(uow, entry.id, ListService(entry, "csv", CSV_RECORDER))
            listed.append(entry.id)
        elif current.retired:
            left_retired.append(entry.id)
        elif current.entry != entry:
            await _run(uow, entry.id, ChangeService(entry, "csv", CSV_RECORDER))
            changed.append(entry.id)
    if left_retired:
        _log.warning(
            "the directory file names retired services; they stay retired",
            extra={"services": [str(service_id) for service_id in left_retired]},
        )
    return Synced(tuple(listed), tuple(changed), tuple(left_retired))
