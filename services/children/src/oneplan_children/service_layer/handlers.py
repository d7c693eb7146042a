"""Use cases of the children service, each working inside the caller's unit of work.

The kit runs the decider (load the record, check the version, decide, append, evolve, project
into the read models); what is left here is what the decider cannot know: whether another
record already holds an NHS number or UPN (one child, one record), and merges, which touch two
records. Handlers never commit: the entrypoint's command commits once, so a refusal leaves
nothing written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID, uuid4

from sqlalchemy.exc import IntegrityError

from oneplan_children.adapters.repository import (
    CHILDREN,
    IdentifierMatch,
    ReadModels,
    story_as_of,
)
from oneplan_children.adapters.tables import ChildSummary
from oneplan_children.domain.commands import (
    ChangeDetails,
    Command,
    MergeInto,
    NewChild,
    RegisterChild,
)
from oneplan_children.domain.model import Child, RecordNotFound, adopted_identifiers
from oneplan_children.events import StoryRevised
from oneplan_events.decider import Outcome
from oneplan_events.uow import UnitOfWork

__all__ = [
    "DuplicateIdentifier",
    "Registered",
    "change_child",
    "get_child",
    "get_story",
    "merge_records",
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


@dataclass(frozen=True)
class Registered:
    """A new record, with records that may be the same child (same names and date of birth)."""

    child: Child
    possible_matches: list[UUID] = field(default_factory=list)


async def register_child(uow: UnitOfWork, details: NewChild) -> Registered:
    """Create a record; DuplicateIdentifier when its NHS number or UPN is taken."""
    models = ReadModels(uow.session)
    matches = await models.identifier_matches(details.nhs_number, details.upn)
    if matches:
        raise DuplicateIdentifier(matches)
    possible = await models.possible_matches(
        details.given_name, details.family_name, details.date_of_birth
    )
    child_id = uuid4()
    outcome = await _execute(uow, child_id, RegisterChild(child_id, details), None)
    return Registered(_child(outcome, child_id), possible)


async def change_child(
    uow: UnitOfWork, child_id: UUID, command: Command, expected_version: int | None
) -> Child:
    """Carry out `command` on the record if it is still at `expected_version`."""
    if isinstance(command, ChangeDetails):
        changes = command.patch.changes()
        matches = await ReadModels(uow.session).identifier_matches(
            changes.get("nhs_number"), changes.get("upn"), excluding=child_id
        )
        if matches:
            raise DuplicateIdentifier(matches)
    outcome = await _execute(uow, child_id, command, expected_version)
    return _child(outcome, child_id)


async def merge_records(
    uow: UnitOfWork, survivor_id: UUID, duplicate_id: UUID, reason: str
) -> Child:
    """Retire `duplicate_id` in favour of `survivor_id`; returns the surviving record.

    The survivor takes over an NHS number or UPN only the duplicate held (released first, so
    the UNIQUE constraints hold throughout).
    """
    survivor = await get_child(uow, survivor_id)
    if survivor.merged_into is not None:
        raise RecordNotFound(f"{survivor_id} was itself merged into {survivor.merged_into}")
    merged = await _execute(uow, duplicate_id, MergeInto(survivor_id, reason), None)
    adoption = adopted_identifiers(survivor, _child(merged, duplicate_id))
    if adoption is None:
        return survivor
    return _child(await _execute(uow, survivor_id, adoption, None), survivor_id)


async def get_child(uow: UnitOfWork, child_id: UUID) -> Child:
    """The record as it is now; RecordNotFound when there is none."""
    state, _ = await uow.load(CHILDREN, child_id)
    if state is None:
        raise RecordNotFound(f"no child {child_id}")
    return state


async def get_story(
    uow: UnitOfWork, child_id: UUID, as_of: datetime | None = None
) -> tuple[Child, StoryRevised | None]:
    """The record, and its story as last revised at or before `as_of` (default: now)."""
    recorded = await uow.read_stream(CHILDREN.stream_id(child_id))
    state: Child | None = None
    for item in recorded:
        state = CHILDREN.decider.evolve(state, item.event)
    if state is None:
        raise RecordNotFound(f"no child {child_id}")
    return state, story_as_of(recorded, as_of or uow.now)


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


async def _execute(
    uow: UnitOfWork, child_id: UUID, command: Command, expected_version: int | None
) -> Outcome[Child | None]:
    try:
        return await uow.execute(CHILDREN, child_id, command, expected_version=expected_version)
    except IntegrityError:
        # A concurrent command took the identifier between our check and our insert.
        raise DuplicateIdentifier([]) from None


def _child(outcome: Outcome[Child | None], child_id: UUID) -> Child:
    if outcome.state is None:
        raise RecordNotFound(f"no child {child_id}")
    return outcome.state
