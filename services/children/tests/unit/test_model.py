"""The child aggregate: decide and evolve, with no I/O."""

from datetime import date
from uuid import uuid4

import pytest
from pydantic import ValidationError

from oneplan_children.domain.commands import (
    AddFamilyMember,
    ChangeDetails,
    ChangeFamilyMember,
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
    Child,
    InvalidCommand,
    MemberNotFound,
    RecordAlreadyExists,
    RecordMerged,
    RecordNotFound,
    adopted_identifiers,
    decide,
    evolve,
    fold,
)
from oneplan_events.catalogue.children import (
    ChildRegistered,
    DetailsChanged,
    FamilyMemberRemoved,
    Story,
    StoryRevised,
)

TODAY = date(2026, 11, 24)
ADDRESS = {"lines": ["1 Synthetic Street"], "town": "Testbury", "postcode": "zz99 9zz"}


def new_child(**overrides: object) -> NewChild:
    fields: dict[str, object] = {
        "given_name": "Ada",
        "family_name": "Testchild",
        "date_of_birth": date(2015, 3, 1),
        "nhs_number": "999 000 0018",
    }
    fields.update(overrides)
    return NewChild.model_validate(fields)


def registered(**overrides: object) -> Child:
    child_id = uuid4()
    events = decide(None, RegisterChild(child_id, new_child(**overrides)), TODAY)
    state = fold(events)
    assert state is not None
    return state


def parent() -> MemberInput:
    return MemberInput(
        given_name="Pat",
        family_name="Testchild",
        relationship="mother",
        parental_responsibility=True,
        contact={"phone": "01632 960001"},
        preferred_contact_method="phone",
    )


def apply(state: Child, command: object) -> Child:
    for event in decide(state, command, TODAY):  # type: ignore[arg-type]
        state = evolve(state, event)
    return state


def test_register_records_identity_and_age_facts() -> None:
    child_id = uuid4()
    [event] = decide(None, RegisterChild(child_id, new_child()), TODAY)
    assert isinstance(event, ChildRegistered)
    assert event.child_id == child_id
    assert event.nhs_number == "9990000018"
    assert event.compulsory_school_age_ends_on == date(2031, 6, 27)
    state = evolve(None, event)
    assert state.version == 1
    assert state.details.given_name == "Ada"


def test_register_twice_is_refused() -> None:
    state = registered()
    with pytest.raises(RecordAlreadyExists):
        decide(state, RegisterChild(state.child_id, new_child()), TODAY)


def test_future_birth_is_refused() -> None:
    with pytest.raises(InvalidCommand) as refused:
        decide(None, RegisterChild(uuid4(), new_child(date_of_birth=date(2026, 11, 25))), TODAY)
    assert refused.value.field == "date_of_birth"


def test_new_record_for_someone_over_25_is_refused_but_25_is_accepted() -> None:
    with pytest.raises(InvalidCommand, match="25"):
        decide(None, RegisterChild(uuid4(), new_child(date_of_birth=date(2000, 11, 24))), TODAY)
    assert decide(None, RegisterChild(uuid4(), new_child(date_of_birth=date(2000, 11, 25))), TODAY)


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
    state = registered()
    patch = DetailsPatch.model_validate({"address": ADDRESS, "given_name": "Ada"})
    [event] = decide(state, ChangeDetails(patch), TODAY)
    assert isinstance(event, DetailsChanged)
    assert event.address_changed
    assert event.changed_fields == ["address"]
    assert event.address is not None
    assert event.address.postcode == "ZZ99 9ZZ"
    assert decide(state, ChangeDetails(DetailsPatch(given_name="Ada")), TODAY) == []


def test_corrected_birth_date_carries_new_compulsory_school_age() -> None:
    state = registered()
    [event] = decide(state, ChangeDetails(DetailsPatch(date_of_birth=date(2015, 9, 1))), TODAY)
    assert isinstance(event, DetailsChanged)
    assert not event.address_changed
    assert event.compulsory_school_age_ends_on == date(2032, 6, 25)
    assert evolve(state, event).details.date_of_birth == date(2015, 9, 1)


def test_clearing_an_identifier_and_refusing_to_clear_a_name() -> None:
    state = registered()
    state = apply(state, ChangeDetails(DetailsPatch.model_validate({"nhs_number": None})))
    assert state.details.nhs_number is None
    with pytest.raises(ValidationError, match="cannot be cleared"):
        DetailsPatch.model_validate({"family_name": None})


def test_family_members_are_added_changed_and_removed() -> None:
    state = registered()
    member_id = uuid4()
    state = apply(state, AddFamilyMember(member_id, parent()))
    assert state.family[member_id].details.parental_responsibility
    changed = MemberInput.model_validate({**parent().model_dump(), "roles": ["advocate"]})
    state = apply(state, ChangeFamilyMember(member_id, changed))
    assert list(state.family[member_id].details.roles) == ["advocate"]
    [removed] = decide(state, RemoveFamilyMember(member_id, RemovalInput(ended_on=TODAY)), TODAY)
    assert isinstance(removed, FamilyMemberRemoved)
    assert removed.parental_responsibility
    assert member_id not in evolve(state, removed).family


def test_unknown_family_member_cannot_be_changed_or_removed() -> None:
    state = registered()
    with pytest.raises(MemberNotFound):
        decide(state, ChangeFamilyMember(uuid4(), parent()), TODAY)
    with pytest.raises(MemberNotFound):
        decide(state, RemoveFamilyMember(uuid4(), RemovalInput(ended_on=TODAY)), TODAY)


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
    state = registered()
    state = apply(state, ReviseStory(story("I am kind")))
    [event] = decide(state, ReviseStory(story("I am kind and funny")), TODAY)
    assert isinstance(event, StoryRevised)
    assert event.revision == 2
    assert evolve(state, event).story == story("I am kind and funny")


def test_story_told_in_the_future_is_refused() -> None:
    with pytest.raises(InvalidCommand) as refused:
        decide(registered(), ReviseStory(story("x", told_on=date(2027, 1, 1))), TODAY)
    assert refused.value.field == "like_and_admire.told_on"


def test_merged_record_takes_no_more_changes() -> None:
    state = registered()
    survivor = uuid4()
    with pytest.raises(InvalidCommand):
        decide(state, MergeInto(state.child_id, "same child"), TODAY)
    state = apply(state, MergeInto(survivor, "same child, registered twice"))
    assert state.merged_into == survivor
    with pytest.raises(RecordMerged):
        decide(state, ReviseStory(story("x")), TODAY)


def test_commands_on_a_missing_record_are_refused() -> None:
    with pytest.raises(RecordNotFound):
        decide(None, ReviseStory(story("x")), TODAY)


def test_merge_moves_only_identifiers_the_survivor_lacks() -> None:
    survivor = registered(nhs_number=None, upn="B801200005001")
    duplicate = registered()
    adoption = adopted_identifiers(survivor, duplicate)
    assert adoption is not None
    assert adoption.patch.changes() == {"nhs_number": "9990000018"}
    assert adopted_identifiers(duplicate, survivor) is not None
    assert adopted_identifiers(survivor, survivor) is None
