"""The child's record as a decider (`CHILD`): given events, when a command, then events.

No I/O: `DeciderSpec` folds the given events with `evolve` and runs `decide` at a fixed
instant (`NOW`, so "today" is `TODAY` in England).
"""

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from oneplan_children.domain.commands import (
    AddFamilyMember,
    ChangeDetails,
    ChangeFamilyMember,
    Command,
    DetailsPatch,
    MemberInput,
    MergeInto,
    NewChild,
    RegisterChild,
    RemovalInput,
    RemoveFamilyMember,
    ReviseStory,
)
from oneplan_children.domain.model import (
    CHILD,
    Child,
    InvalidCommand,
    MemberNotFound,
    RecordAlreadyExists,
    RecordMerged,
    RecordNotFound,
    adopted_identifiers,
    evolve,
    fold,
)
from oneplan_children.events import (
    ChildRegistered,
    DetailsChanged,
    FamilyMemberAdded,
    FamilyMemberRemoved,
    RecordsMerged,
    Story,
    StoryRevised,
)
from oneplan_testkit.deciders import DeciderSpec

TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ADDRESS = {"lines": ["1 Synthetic Street"], "town": "Testbury", "postcode": "zz99 9zz"}
AGE_FACTS = {"date_of_birth": date(2015, 3, 1), "compulsory_school_age_ends_on": date(2031, 6, 27)}

NO_RECORD = DeciderSpec(CHILD)


def new_child(**overrides: object) -> NewChild:
    fields: dict[str, object] = {
        "given_name": "Ada",
        "family_name": "Testchild",
        "date_of_birth": date(2015, 3, 1),
        "nhs_number": "999 000 0018",
    }
    fields.update(overrides)
    return NewChild.model_validate(fields)


def registration(child_id: UUID | None = None, **overrides: object) -> ChildRegistered:
    """The event registering a child (decided by the decider itself)."""
    child_id = child_id or uuid4()
    [event] = NO_RECORD.when(RegisterChild(child_id, new_child(**overrides)), NOW).events
    assert isinstance(event, ChildRegistered)
    return event


def registered(**overrides: object) -> DeciderSpec[Child | None, Command]:
    """A spec given one registered child."""
    return NO_RECORD.given(registration(**overrides))


def child_id_of(spec: DeciderSpec[Child | None, Command]) -> UUID:
    state = spec.state()
    assert state is not None
    return state.child_id


def parent() -> MemberInput:
    return MemberInput(
        given_name="Pat",
        family_name="Testchild",
        relationship="mother",
        parental_responsibility=True,
        contact={"phone": "01632 960001"},
        preferred_contact_method="phone",
    )


def test_register_records_identity_and_age_facts() -> None:
    child_id = uuid4()
    decision = NO_RECORD.when(RegisterChild(child_id, new_child()), NOW)
    decision.then(
        ChildRegistered(
            child_id=child_id,
            **AGE_FACTS,
            given_name="Ada",
            family_name="Testchild",
            nhs_number="9990000018",
        )
    )
    state = decision.then_state()
    assert state is not None
    assert state.version == 1
    assert state.details.given_name == "Ada"
    assert state.details.compulsory_school_age_ends_on == date(2031, 6, 27)


def test_register_twice_is_refused() -> None:
    spec = registered()
    spec.when(RegisterChild(child_id_of(spec), new_child()), NOW).then_raises(RecordAlreadyExists)


def test_future_birth_is_refused() -> None:
    command = RegisterChild(uuid4(), new_child(date_of_birth=date(2026, 11, 25)))
    refused = NO_RECORD.when(command, NOW).then_raises(InvalidCommand)
    assert isinstance(refused, InvalidCommand)
    assert refused.field == "date_of_birth"


def test_new_record_for_someone_over_25_is_refused_but_25_is_accepted() -> None:
    too_old = RegisterChild(uuid4(), new_child(date_of_birth=date(2000, 11, 24)))
    NO_RECORD.when(too_old, NOW).then_raises(InvalidCommand, match="25")
    twenty_five = RegisterChild(uuid4(), new_child(date_of_birth=date(2000, 11, 25)))
    assert NO_RECORD.when(twenty_five, NOW).events


def test_today_is_the_date_in_england() -> None:
    # 23:30 UTC on 30 June is already 1 July in England (BST): a birth on 1 July is not future.
    late = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    command = RegisterChild(uuid4(), new_child(date_of_birth=date(2026, 7, 1)))
    assert NO_RECORD.when(command, late).events


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("nhs_number", "9990000019"),
        ("upn", "A801200005001"),
        ("given_name", "<script>alert(1)</script>"),
        ("communication_needs", "<img src=x onerror=alert(1)>"),
        ("communication_needs", "x" * 4001),
        ("family_name", ""),
        ("shoe_size", "4"),
    ],
)
def test_bad_input_is_refused_naming_the_field(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        new_child(**{field: value})
    assert refused.value.errors()[0]["loc"][0] == field


def test_plain_text_with_angle_brackets_is_accepted() -> None:
    child = new_child(communication_needs="Uses Makaton; noise score < 5, I <3 trains")
    assert child.communication_needs is not None


def test_address_change_is_flagged_and_unchanged_values_are_not_events() -> None:
    spec = registered()
    patch = DetailsPatch.model_validate({"address": ADDRESS, "given_name": "Ada"})
    [event] = spec.when(ChangeDetails(patch), NOW).events
    assert isinstance(event, DetailsChanged)
    assert event.address_changed
    assert event.changed_fields == ["address"]
    assert event.address is not None
    assert event.address.postcode == "ZZ99 9ZZ"
    spec.when(ChangeDetails(DetailsPatch(given_name="Ada")), NOW).then_nothing()


def test_corrected_birth_date_carries_new_compulsory_school_age() -> None:
    spec = registered()
    decision = spec.when(ChangeDetails(DetailsPatch(date_of_birth=date(2015, 9, 1))), NOW)
    decision.then(
        DetailsChanged(
            child_id=child_id_of(spec),
            date_of_birth=date(2015, 9, 1),
            compulsory_school_age_ends_on=date(2032, 6, 25),
            changed_fields=["date_of_birth"],
            address_changed=False,
        )
    )
    state = decision.then_state()
    assert state is not None
    assert state.details.date_of_birth == date(2015, 9, 1)


def test_clearing_an_identifier_and_refusing_to_clear_a_name() -> None:
    spec = registered()
    cleared = spec.when(ChangeDetails(DetailsPatch.model_validate({"nhs_number": None})), NOW)
    state = cleared.then_state()
    assert state is not None
    assert state.details.nhs_number is None
    with pytest.raises(ValidationError, match="cannot be cleared"):
        DetailsPatch.model_validate({"family_name": None})


def test_family_members_are_added_changed_and_removed() -> None:
    spec = registered()
    child_id = child_id_of(spec)
    member_id = uuid4()
    added = spec.when(AddFamilyMember(member_id, parent()), NOW)
    [event] = added.events
    assert isinstance(event, FamilyMemberAdded)
    assert (event.child_id, event.member_id) == (child_id, member_id)
    state = added.then_state()
    assert state is not None
    assert state.family[member_id].details.parental_responsibility

    spec = spec.given(*added.events)
    changed_input = MemberInput.model_validate({**parent().model_dump(), "roles": ["advocate"]})
    changed = spec.when(ChangeFamilyMember(member_id, changed_input), NOW)
    state = changed.then_state()
    assert state is not None
    assert list(state.family[member_id].details.roles) == ["advocate"]

    spec = spec.given(*changed.events)
    removed = spec.when(RemoveFamilyMember(member_id, RemovalInput(ended_on=TODAY)), NOW)
    removed.then(
        FamilyMemberRemoved(
            child_id=child_id,
            **AGE_FACTS,
            member_id=member_id,
            relationship="mother",
            parental_responsibility=True,
            ended_on=TODAY,
        )
    )
    state = removed.then_state()
    assert state is not None
    assert member_id not in state.family


def test_a_member_is_added_once_and_not_removed_in_the_future() -> None:
    spec = registered()
    member_id = uuid4()
    spec = spec.given(*spec.when(AddFamilyMember(member_id, parent()), NOW).events)
    spec.when(AddFamilyMember(member_id, parent()), NOW).then_raises(InvalidCommand)
    future = RemovalInput(ended_on=date(2026, 11, 25))
    spec.when(RemoveFamilyMember(member_id, future), NOW).then_raises(InvalidCommand, "future")


def test_unknown_family_member_cannot_be_changed_or_removed() -> None:
    spec = registered()
    spec.when(ChangeFamilyMember(uuid4(), parent()), NOW).then_raises(MemberNotFound)
    removal = RemovalInput(ended_on=TODAY)
    spec.when(RemoveFamilyMember(uuid4(), removal), NOW).then_raises(MemberNotFound)


def story(text: str, told_on: date = TODAY) -> Story:
    return Story.model_validate(
        {
            "like_and_admire": {
                "text": text,
                "author": {"name": "Ada", "role": "child"},
                "told_on": told_on,
            },
            "history": {
                "entries": [{"occurred_on": date(2019, 5, 1), "what": "Diagnosed with autism"}],
                "author": {"name": "Pat Testchild", "role": "family"},
                "told_on": told_on,
            },
        }
    )


def test_each_story_revision_is_numbered() -> None:
    spec = registered()
    spec = spec.given(*spec.when(ReviseStory(story("I am kind")), NOW).events)
    decision = spec.when(ReviseStory(story("I am kind and funny")), NOW)
    decision.then(
        StoryRevised(
            child_id=child_id_of(spec), **AGE_FACTS, revision=2, story=story("I am kind and funny")
        )
    )
    state = decision.then_state()
    assert state is not None
    assert state.story == story("I am kind and funny")
    assert state.story_revision == 2


def test_story_told_in_the_future_is_refused() -> None:
    told_later = ReviseStory(story("x", told_on=date(2027, 1, 1)))
    refused = registered().when(told_later, NOW).then_raises(InvalidCommand)
    assert isinstance(refused, InvalidCommand)
    assert refused.field == "like_and_admire.told_on"


def test_merged_record_takes_no_more_changes() -> None:
    spec = registered()
    child_id = child_id_of(spec)
    survivor = uuid4()
    spec.when(MergeInto(child_id, "same child"), NOW).then_raises(InvalidCommand)
    merged = spec.when(MergeInto(survivor, "same child, registered twice"), NOW)
    merged.then(
        RecordsMerged(
            child_id=child_id,
            **AGE_FACTS,
            survivor_id=survivor,
            reason="same child, registered twice",
        )
    )
    spec = spec.given(*merged.events)
    state = spec.state()
    assert state is not None
    assert state.merged_into == survivor
    spec.when(ReviseStory(story("x")), NOW).then_raises(RecordMerged)


def test_commands_on_a_missing_record_are_refused() -> None:
    NO_RECORD.when(ReviseStory(story("x")), NOW).then_raises(RecordNotFound)


def test_evolve_needs_the_registration_first() -> None:
    event = registration()
    revised = StoryRevised(
        child_id=event.child_id, **AGE_FACTS, revision=1, story=story("I am kind")
    )
    with pytest.raises(ValueError, match="before the child was registered"):
        evolve(None, revised)
    state = fold([event, revised])
    assert state is not None
    assert (state.version, state.story_revision) == (2, 1)


def test_merge_moves_only_identifiers_the_survivor_lacks() -> None:
    survivor = registered(nhs_number=None, upn="B801200005001").state()
    duplicate = registered().state()
    assert survivor is not None
    assert duplicate is not None
    adoption = adopted_identifiers(survivor, duplicate)
    assert adoption is not None
    assert adoption.patch.changes() == {"nhs_number": "9990000018"}
    assert adopted_identifiers(duplicate, survivor) is not None
    assert adopted_identifiers(survivor, survivor) is None
