"""The child's record as a decider: `decide` (state + command -> events) and `evolve`
(state + event -> state), run by the kit (`CHILD`).

Both are pure: the date is an argument, and nothing here touches a database or the network.
A record's state is the fold of its events with `evolve`, starting from `None` (no record).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, assert_never
from uuid import UUID

from oneplan_children.domain.calendar import age_on, compulsory_school_age_ends_on
from oneplan_children.domain.commands import (
    AddFamilyMember,
    ChangeDetails,
    ChangeFamilyMember,
    Command,
    DetailsPatch,
    MemberInput,
    MergeInto,
    RegisterChild,
    RemoveFamilyMember,
    ReviseStory,
)
from oneplan_children.events import (
    Address,
    ChildRegistered,
    DetailsChanged,
    FamilyMemberAdded,
    FamilyMemberChanged,
    FamilyMemberRemoved,
    RecordsMerged,
    Setting,
    Sex,
    Story,
    StoryRevised,
)
from oneplan_events.catalogue import Event
from oneplan_events.clock import local_date

__all__ = [
    "CHILD",
    "DETAIL_FIELDS",
    "MAX_AGE_AT_REGISTRATION",
    "Child",
    "ChildDecider",
    "ChildDetails",
    "DomainError",
    "FamilyMember",
    "InvalidCommand",
    "MemberNotFound",
    "RecordAlreadyExists",
    "RecordMerged",
    "RecordNotFound",
    "adopted_identifiers",
    "decide",
    "evolve",
    "fold",
]

MAX_AGE_AT_REGISTRATION = 25
"""The SEND system covers 0-25: a new record for someone older is refused."""

DETAIL_FIELDS = (
    "given_name",
    "family_name",
    "preferred_name",
    "date_of_birth",
    "sex",
    "gender",
    "nhs_number",
    "upn",
    "address",
    "setting",
    "languages",
    "communication_needs",
)


class DomainError(Exception):
    """A command the record's rules refuse; nothing is recorded."""


class InvalidCommand(DomainError):
    """A value breaks a rule; `field` names it (dotted path) for the caller."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class RecordNotFound(DomainError):
    """No record with that id."""


class RecordAlreadyExists(DomainError):
    """The stream already holds a record."""


class RecordMerged(DomainError):
    """The record was merged into another and takes no more changes."""

    def __init__(self, survivor_id: UUID) -> None:
        super().__init__(f"this record was merged into {survivor_id}")
        self.survivor_id = survivor_id


class MemberNotFound(DomainError):
    """No current member with that id in the child's network."""


@dataclass(frozen=True)
class ChildDetails:
    """Identity and circumstances of a child, as last recorded."""

    given_name: str
    family_name: str
    date_of_birth: date
    preferred_name: str | None = None
    sex: Sex | None = None
    gender: str | None = None
    nhs_number: str | None = None
    upn: str | None = None
    address: Address | None = None
    setting: Setting | None = None
    languages: tuple[str, ...] = ()
    communication_needs: str | None = None

    @property
    def compulsory_school_age_ends_on(self) -> date:
        """The last Friday in June of the school year the child turns 16."""
        return compulsory_school_age_ends_on(self.date_of_birth)


@dataclass(frozen=True)
class FamilyMember:
    """A current member of the child's network."""

    member_id: UUID
    details: MemberInput


@dataclass(frozen=True)
class Child:
    """The state of one child's record after `version` events."""

    child_id: UUID
    version: int
    details: ChildDetails
    family: Mapping[UUID, FamilyMember] = field(default_factory=lambda: MappingProxyType({}))
    story: Story | None = None
    story_revision: int = 0
    merged_into: UUID | None = None


def decide(state: Child | None, command: Command, today: date) -> list[Event]:
    """The events that carry out `command` on `state`, or a DomainError; never any I/O."""
    match command:
        case RegisterChild():
            return _register(state, command, today)
        case ChangeDetails():
            return _change_details(_live(state), command, today)
        case AddFamilyMember() | ChangeFamilyMember():
            return _record_member(_live(state), command)
        case RemoveFamilyMember():
            return _remove_member(_live(state), command, today)
        case ReviseStory():
            return _revise_story(_live(state), command, today)
        case MergeInto():
            return _merge(_live(state), command)
        case _:
            assert_never(command)


def _live(state: Child | None) -> Child:
    if state is None:
        raise RecordNotFound("no such child")
    if state.merged_into is not None:
        raise RecordMerged(state.merged_into)
    return state


def _age_facts(child_id: UUID, date_of_birth: date) -> dict[str, Any]:
    return {
        "child_id": child_id,
        "date_of_birth": date_of_birth,
        "compulsory_school_age_ends_on": compulsory_school_age_ends_on(date_of_birth),
    }


def _check_birth_date(date_of_birth: date, today: date, *, new_record: bool) -> None:
    if date_of_birth > today:
        raise InvalidCommand("date_of_birth", "is in the future")
    if new_record and age_on(date_of_birth, today) > MAX_AGE_AT_REGISTRATION:
        raise InvalidCommand(
            "date_of_birth", f"a new record is for someone aged {MAX_AGE_AT_REGISTRATION} or under"
        )


def _register(state: Child | None, command: RegisterChild, today: date) -> list[Event]:
    if state is not None:
        raise RecordAlreadyExists(f"child {command.child_id} is already registered")
    details = command.details
    _check_birth_date(details.date_of_birth, today, new_record=True)
    fields = details.model_dump(exclude={"date_of_birth"})
    return [ChildRegistered(**_age_facts(command.child_id, details.date_of_birth), **fields)]


def _change_details(child: Child, command: ChangeDetails, today: date) -> list[Event]:
    changes = {
        name: value
        for name, value in command.patch.changes().items()
        if _comparable(value) != _comparable(getattr(child.details, name))
    }
    if not changes:
        return []
    new_birth_date = changes.get("date_of_birth", child.details.date_of_birth)
    if "date_of_birth" in changes:
        _check_birth_date(new_birth_date, today, new_record=False)
    payload = {name: value for name, value in changes.items() if name != "date_of_birth"}
    return [
        DetailsChanged(
            **_age_facts(child.child_id, new_birth_date),
            changed_fields=sorted(changes),
            address_changed="address" in changes,
            **payload,
        )
    ]


def _comparable(value: Any) -> Any:
    # Lists in patches and tuples in state hold the same languages.
    return tuple(value) if isinstance(value, list | tuple) else value


def _record_member(child: Child, command: AddFamilyMember | ChangeFamilyMember) -> list[Event]:
    known = command.member_id in child.family
    if isinstance(command, ChangeFamilyMember) and not known:
        raise MemberNotFound(f"no current family member {command.member_id}")
    if isinstance(command, AddFamilyMember) and known:
        raise InvalidCommand("member_id", "is already in the child's network")
    event_type = FamilyMemberAdded if isinstance(command, AddFamilyMember) else FamilyMemberChanged
    return [
        event_type(
            **_age_facts(child.child_id, child.details.date_of_birth),
            member_id=command.member_id,
            **command.member.model_dump(),
        )
    ]


def _remove_member(child: Child, command: RemoveFamilyMember, today: date) -> list[Event]:
    member = child.family.get(command.member_id)
    if member is None:
        raise MemberNotFound(f"no current family member {command.member_id}")
    if command.removal.ended_on > today:
        raise InvalidCommand("ended_on", "is in the future")
    return [
        FamilyMemberRemoved(
            **_age_facts(child.child_id, child.details.date_of_birth),
            member_id=command.member_id,
            relationship=member.details.relationship,
            parental_responsibility=member.details.parental_responsibility,
            ended_on=command.removal.ended_on,
            reason=command.removal.reason,
        )
    ]


def _revise_story(child: Child, command: ReviseStory, today: date) -> list[Event]:
    _check_story_dates(command.story, today)
    return [
        StoryRevised(
            **_age_facts(child.child_id, child.details.date_of_birth),
            revision=child.story_revision + 1,
            story=command.story,
        )
    ]


def _check_story_dates(story: Story, today: date) -> None:
    for name in Story.model_fields:
        part = getattr(story, name)
        if part is not None and part.told_on > today:
            raise InvalidCommand(f"{name}.told_on", "is in the future")
    if story.history is not None:
        for index, entry in enumerate(story.history.entries):
            if entry.occurred_on > today:
                raise InvalidCommand(f"history.entries.{index}.occurred_on", "is in the future")


def _merge(child: Child, command: MergeInto) -> list[Event]:
    if command.survivor_id == child.child_id:
        raise InvalidCommand("duplicate_id", "a record cannot be merged into itself")
    return [
        RecordsMerged(
            **_age_facts(child.child_id, child.details.date_of_birth),
            survivor_id=command.survivor_id,
            reason=command.reason,
        )
    ]


def adopted_identifiers(survivor: Child, duplicate: Child) -> ChangeDetails | None:
    """The identifiers a merge moves to the survivor: those only the duplicate holds."""
    adopted = {
        name: getattr(duplicate.details, name)
        for name in ("nhs_number", "upn")
        if getattr(survivor.details, name) is None and getattr(duplicate.details, name)
    }
    return ChangeDetails(DetailsPatch(**adopted)) if adopted else None


def evolve(state: Child | None, event: Event) -> Child:
    """The record after `event`; the first event must be ChildRegistered."""
    if isinstance(event, ChildRegistered):
        return Child(child_id=event.child_id, version=1, details=_details_from(event))
    if state is None:
        raise ValueError(f"{type(event).__name__} before the child was registered")
    state = replace(state, version=state.version + 1)
    match event:
        case DetailsChanged():
            return replace(state, details=_apply_details(state.details, event))
        case FamilyMemberAdded() | FamilyMemberChanged():
            member = FamilyMember(event.member_id, _member_from(event))
            family = MappingProxyType({**state.family, event.member_id: member})
            return replace(state, family=family)
        case FamilyMemberRemoved():
            kept = {key: value for key, value in state.family.items() if key != event.member_id}
            return replace(state, family=MappingProxyType(kept))
        case StoryRevised():
            return replace(state, story=event.story, story_revision=event.revision)
        case RecordsMerged():
            return replace(state, merged_into=event.survivor_id)
    raise ValueError(f"{type(event).__name__} is not an event of a child's record")


class ChildDecider:
    """The child's record for the kit: streams `child/<child id>`."""

    stream_prefix = "child"

    def initial_state(self) -> Child | None:
        """No record yet."""
        return None

    def decide(self, state: Child | None, command: Command, now: datetime) -> list[Event]:
        """:func:`decide` on the date in England at `now`."""
        return decide(state, command, local_date(now))

    def evolve(self, state: Child | None, event: Event) -> Child | None:
        """:func:`evolve`."""
        return evolve(state, event)


CHILD = ChildDecider()
"""The child's record, as the kit runs it."""


def fold(events: Iterable[Event]) -> Child | None:
    """The record after all `events` (None when there are none)."""
    state: Child | None = None
    for event in events:
        state = evolve(state, event)
    return state


def _details_from(event: ChildRegistered) -> ChildDetails:
    values = {name: getattr(event, name) for name in DETAIL_FIELDS}
    values["languages"] = tuple(values["languages"])
    return ChildDetails(**values)


def _apply_details(details: ChildDetails, event: DetailsChanged) -> ChildDetails:
    values: dict[str, Any] = {name: getattr(event, name) for name in event.changed_fields}
    values["date_of_birth"] = event.date_of_birth
    if "languages" in values:
        values["languages"] = tuple(values["languages"] or ())
    return replace(details, **values)


def _member_from(event: FamilyMemberAdded | FamilyMemberChanged) -> MemberInput:
    return MemberInput.model_validate(event.model_dump(include=set(MemberInput.model_fields)))
