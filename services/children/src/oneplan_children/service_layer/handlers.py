"""Use cases of the children service, each working inside the caller's unit of work.

A handler loads the record from its event stream, lets the pure domain decide, appends the
events with the expected version and projects them into the read models, in the unit of work's
transaction. Handlers never commit: the entrypoint commits once (after recording an idempotent
response, when there is one), so a refusal leaves nothing written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

from sqlalchemy.exc import IntegrityError

from oneplan_children.adapters.repository import (
    IdentifierMatch,
    ReadModels,
    load_child,
    story_as_of,
    stream_id_for,
)
from oneplan_children.adapters.tables import ChildSummary
from oneplan_children.domain.commands import (
    ChangeDetails,
    Command,
    MergeInto,
    NewChild,
    RegisterChild,
)
from oneplan_children.domain.model import (
    Child,
    RecordNotFound,
    adopted_identifiers,
    decide,
    evolve,
)
from oneplan_events.catalogue import DataClass, Event
from oneplan_events.catalogue.children import ChildrenDisclosureRecorded, StoryRevised
from oneplan_kit.uow import UnitOfWork

__all__ = [
    "Disclosure",
    "DuplicateIdentifier",
    "Registered",
    "StaleVersion",
    "change_child",
    "get_child",
    "get_story",
    "merge_records",
    "record_disclosure",
    "register_child",
    "search_children",
]


class DuplicateIdentifier(Exception):
    """Another live record already holds the NHS number or UPN (one child, one record).

    `matches` is empty when a concurrent registration won the race at the UNIQUE constraint.
    """

    def __init__(self, matches: Sequence[IdentifierMatch]) -> None:
        fields = ", ".join(match.field for match in matches) or "NHS number or UPN"
        super().__init__(f"another record already holds this {fields}")
        self.matches = list(matches)


class StaleVersion(Exception):
    """The caller's expected version (If-Match) is not the record's current version."""

    def __init__(self, current_version: int) -> None:
        super().__init__(f"the record is at version {current_version}")
        self.current_version = current_version


@dataclass(frozen=True)
class Registered:
    """A new record, with records that may be the same child (same names and date of birth)."""

    child: Child
    possible_matches: list[UUID] = field(default_factory=list)


@dataclass(frozen=True)
class Disclosure:
    """What was shown to whom, and on what basis, for the disclosure log."""

    child_id: UUID
    recipient_agency: str
    recipient: str
    data_classes: tuple[DataClass, ...]
    purpose: str
    basis: str
    reference_id: UUID | None


async def register_child(
    uow: UnitOfWork, details: NewChild, today: date, *, correlation_id: str | None = None
) -> Registered:
    """Create a record; DuplicateIdentifier when its NHS number or UPN is taken."""
    models = ReadModels(uow.session)
    matches = await models.identifier_matches(details.nhs_number, details.upn)
    if matches:
        raise DuplicateIdentifier(matches)
    possible = await models.possible_matches(
        details.given_name, details.family_name, details.date_of_birth
    )
    child_id = uuid4()
    events = decide(None, RegisterChild(child_id, details), today)
    state = await _append(uow, None, child_id, events, correlation_id)
    return Registered(state, possible)


async def change_child(
    uow: UnitOfWork,
    child_id: UUID,
    command: Command,
    expected_version: int,
    today: date,
    *,
    correlation_id: str | None = None,
) -> Child:
    """Carry out `command` on the record if it is still at `expected_version`."""
    state = await get_child(uow, child_id)
    if state.version != expected_version:
        raise StaleVersion(state.version)
    if isinstance(command, ChangeDetails):
        changes = command.patch.changes()
        matches = await ReadModels(uow.session).identifier_matches(
            changes.get("nhs_number"), changes.get("upn"), excluding=child_id
        )
        if matches:
            raise DuplicateIdentifier(matches)
    events = decide(state, command, today)
    return await _append(uow, state, child_id, events, correlation_id)


async def merge_records(
    uow: UnitOfWork, survivor_id: UUID, duplicate_id: UUID, reason: str, today: date
) -> Child:
    """Retire `duplicate_id` in favour of `survivor_id`; returns the surviving record.

    The survivor takes over an NHS number or UPN only the duplicate held (released first, so
    the UNIQUE constraints hold throughout).
    """
    survivor = await get_child(uow, survivor_id)
    if survivor.merged_into is not None:
        raise RecordNotFound(f"{survivor_id} was itself merged into {survivor.merged_into}")
    duplicate = await get_child(uow, duplicate_id)
    events = decide(duplicate, MergeInto(survivor_id, reason), today)
    await _append(uow, duplicate, duplicate_id, events, None)
    adoption = adopted_identifiers(survivor, duplicate)
    if adoption is None:
        return survivor
    return await _append(uow, survivor, survivor_id, decide(survivor, adoption, today), None)


async def get_child(uow: UnitOfWork, child_id: UUID) -> Child:
    """The record as it is now; RecordNotFound when there is none."""
    state, _ = await load_child(uow, child_id)
    if state is None:
        raise RecordNotFound(f"no child {child_id}")
    return state


async def get_story(
    uow: UnitOfWork, child_id: UUID, as_of: datetime | None = None
) -> tuple[Child, StoryRevised | None]:
    """The record, and its story as last revised at or before `as_of` (default: now)."""
    state, recorded = await load_child(uow, child_id)
    if state is None:
        raise RecordNotFound(f"no child {child_id}")
    return state, story_as_of(recorded, as_of or datetime.now(UTC))


async def search_children(
    uow: UnitOfWork,
    *,
    nhs_number: str | None = None,
    upn: str | None = None,
    family_name: str | None = None,
    date_of_birth: date | None = None,
) -> Sequence[ChildSummary]:
    """Live records matching every criterion given."""
    return await ReadModels(uow.session).search(
        nhs_number=nhs_number, upn=upn, family_name=family_name, date_of_birth=date_of_birth
    )


async def record_disclosure(uow: UnitOfWork, disclosure: Disclosure) -> UUID:
    """Append `oneplan.children.disclosure.recorded` (store and outbox) to the unit of work."""
    disclosure_id = uuid4()
    event = ChildrenDisclosureRecorded.model_validate(
        {
            "disclosure_id": disclosure_id,
            "child_id": disclosure.child_id,
            "owner_agency": "send",
            "recipient_agency": disclosure.recipient_agency,
            "recipient": disclosure.recipient,
            "data_classes": disclosure.data_classes,
            "purpose": disclosure.purpose,
            "basis": disclosure.basis,
            "reference_id": disclosure.reference_id,
            "disclosed_at": datetime.now(UTC),
        }
    )
    # One stream per disclosure: concurrent reads of a child never contend for a version.
    await uow.append(f"disclosure/{disclosure_id}", 0, [event])
    return disclosure_id


async def _append(
    uow: UnitOfWork,
    state: Child | None,
    child_id: UUID,
    events: Sequence[Event],
    correlation_id: str | None,
) -> Child:
    new_state = state
    for event in events:
        new_state = evolve(new_state, event)
    if new_state is None:
        raise RecordNotFound(f"no child {child_id}")
    if not events:
        return new_state
    expected = 0 if state is None else state.version
    await uow.append(stream_id_for(child_id), expected, events, correlation_id=correlation_id)
    try:
        await ReadModels(uow.session).project(new_state, events)
    except IntegrityError:
        # A concurrent command took the identifier between our check and our insert.
        raise DuplicateIdentifier([]) from None
    return new_state
