"""The children service's event catalogue: what it publishes, the contract others read.

Every `oneplan.children.*` event and the value types they carry. Their text obeys the one
free-text rule of `oneplan_events.types` (re-exported here as `Name`, `ShortText`, `LongText`
and `refuse_markup`): plain prose without control characters or markup, refused at the edge, so
a consumer can show these strings without sanitising them. Field names listed under "Facts
that cross services" in docs/architecture.md are fixed.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from oneplan_children.domain.identifiers import NHS_NUMBER_PATTERN, UPN_PATTERN
from oneplan_events.catalogue import (
    Catalogue,
    DataClass,
    Event,
    register_disclosure_event,
)
from oneplan_events.types import BoundedDate, LongText, Name, PlainText, ShortText, refuse_markup

__all__ = [
    "CATALOGUE",
    "Address",
    "Author",
    "AuthorRole",
    "ChildRegistered",
    "ChildrenDisclosureRecorded",
    "ContactDetails",
    "ContactMethod",
    "DetailsChanged",
    "FamilyMemberAdded",
    "FamilyMemberChanged",
    "FamilyMemberRemoved",
    "LongText",
    "MemberRole",
    "Name",
    "NhsNumber",
    "RecordsMerged",
    "Relationship",
    "Setting",
    "SettingType",
    "Sex",
    "ShortText",
    "Story",
    "StoryPart",
    "StoryRevised",
    "Timeline",
    "TimelineEntry",
    "Upn",
    "refuse_markup",
]

CATALOGUE = Catalogue("children")
"""Every event the children service publishes."""

Postcode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_upper=True,
        pattern=r"^[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}$",
    ),
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ()-]{7,20}$")]
# The text rule first (no control characters; a recorded event reads them as U+FFFD), then
# the shape of an address.
Email = Annotated[str, PlainText(max_length=254, pattern=r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")]
NhsNumber = Annotated[str, StringConstraints(pattern=NHS_NUMBER_PATTERN)]
"""Ten digits, the last the modulus-11 check digit."""
Upn = Annotated[str, StringConstraints(pattern=UPN_PATTERN)]
"""A Unique Pupil Number in upper case, its check letter first."""
Urn = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _AgeFacts(Event):
    """Every children event carries the age facts other services decide on."""

    child_id: UUID
    date_of_birth: date
    compulsory_school_age_ends_on: date


class Sex(StrEnum):
    """Sex as recorded (NHS Data Dictionary person stated sex codes)."""

    FEMALE = "female"
    MALE = "male"
    INDETERMINATE = "indeterminate"
    NOT_KNOWN = "not_known"


class SettingType(StrEnum):
    """The kind of education setting (the insights service counts placements by it)."""

    EARLY_YEARS = "early_years"
    MAINSTREAM = "mainstream"
    RESOURCED_PROVISION = "resourced_provision"
    STATE_SPECIAL = "state_special"
    INDEPENDENT_SPECIAL = "independent_special"
    ALTERNATIVE_PROVISION = "alternative_provision"
    POST16_COLLEGE = "post16_college"
    ELECTIVE_HOME_EDUCATION = "elective_home_education"
    NONE = "none"


class Address(_Value):
    """A postal address; `postcode` is upper-cased."""

    lines: list[ShortText] = Field(min_length=1, max_length=4)
    town: ShortText | None = None
    postcode: Postcode


class Setting(_Value):
    """The child's current education setting (URN: the DfE unique reference number)."""

    name: ShortText
    urn: Urn | None = None
    type: SettingType


class Relationship(StrEnum):
    """How a person in the child's network relates to the child."""

    MOTHER = "mother"
    FATHER = "father"
    PARENT = "parent"
    STEP_PARENT = "step_parent"
    GRANDPARENT = "grandparent"
    SIBLING = "sibling"
    OTHER_RELATIVE = "other_relative"
    FOSTER_CARER = "foster_carer"
    SPECIAL_GUARDIAN = "special_guardian"
    GUARDIAN = "guardian"
    FRIEND = "friend"
    PROFESSIONAL = "professional"
    OTHER = "other"


class MemberRole(StrEnum):
    """Roles a person plays in the child's network, besides their relationship."""

    CARER = "carer"
    ADVOCATE = "advocate"
    LEAD_PROFESSIONAL = "lead_professional"
    EMERGENCY_CONTACT = "emergency_contact"


class ContactMethod(StrEnum):
    """How a person prefers to be contacted."""

    PHONE = "phone"
    TEXT = "text"
    EMAIL = "email"
    POST = "post"
    IN_PERSON = "in_person"


class ContactDetails(_Value):
    """How to reach a person; every part optional."""

    phone: Phone | None = None
    email: Email | None = None
    address: Address | None = None


class AuthorRole(StrEnum):
    """Who told a part of the story."""

    CHILD = "child"
    FAMILY = "family"
    PROFESSIONAL = "professional"


class Author(_Value):
    """Who told a part of the story: the child or young person, family, or a named professional."""

    name: Name
    role: AuthorRole


class StoryPart(_Value):
    """One part of the story in the teller's words, with who told it and when."""

    text: LongText
    author: Author
    told_on: BoundedDate


class TimelineEntry(_Value):
    """One key event in the child's history."""

    occurred_on: BoundedDate
    what: ShortText


class Timeline(_Value):
    """My history: a timeline of key events, with who told it and when."""

    entries: list[TimelineEntry] = Field(min_length=1, max_length=100)
    author: Author
    told_on: BoundedDate


class Story(_Value):
    """ "All about me", the source of EHC plan section A; every part optional."""

    like_and_admire: StoryPart | None = None
    important_now: StoryPart | None = None
    important_future: StoryPart | None = None
    communication: StoryPart | None = None
    what_helps: StoryPart | None = None
    what_does_not_help: StoryPart | None = None
    history: Timeline | None = None
    aspirations: StoryPart | None = None


@CATALOGUE.register(
    "oneplan.children.child.registered",
    DataClass.IDENTITY,
    version=1,
    summary="A child's record was created: identity, age facts, address, setting.",
)
class ChildRegistered(_AgeFacts):
    """A child's record was created."""

    given_name: Name
    family_name: Name
    preferred_name: Name | None = None
    sex: Sex | None = None
    gender: Name | None = None
    nhs_number: NhsNumber | None = None
    upn: Upn | None = None
    address: Address | None = None
    setting: Setting | None = None
    languages: list[Name] = Field(default_factory=list, max_length=10)
    communication_needs: LongText | None = None


@CATALOGUE.register(
    "oneplan.children.details.changed",
    DataClass.IDENTITY,
    version=1,
    summary=(
        "Some of a child's details changed. `changed_fields` names them; each named field holds"
        " its new value (null: cleared). `address_changed` calls out a move (transport uses it);"
        " `date_of_birth` and `compulsory_school_age_ends_on` are always the current ones."
    ),
)
class DetailsChanged(_AgeFacts):
    """Some of a child's details changed."""

    changed_fields: list[str] = Field(min_length=1)
    address_changed: bool
    given_name: Name | None = None
    family_name: Name | None = None
    preferred_name: Name | None = None
    sex: Sex | None = None
    gender: Name | None = None
    nhs_number: NhsNumber | None = None
    upn: Upn | None = None
    address: Address | None = None
    setting: Setting | None = None
    languages: list[Name] | None = None
    communication_needs: LongText | None = None


class _Member(_AgeFacts):
    member_id: UUID
    given_name: Name
    family_name: Name
    relationship: Relationship
    parental_responsibility: bool
    roles: list[MemberRole] = Field(default_factory=list, max_length=4)
    contact: ContactDetails = Field(default_factory=ContactDetails)
    preferred_contact_method: ContactMethod | None = None


@CATALOGUE.register(
    "oneplan.children.family_member.added",
    DataClass.IDENTITY,
    version=1,
    summary="A person joined the child's family and network (with parental responsibility or not).",
)
class FamilyMemberAdded(_Member):
    """A person joined the child's network."""


@CATALOGUE.register(
    "oneplan.children.family_member.changed",
    DataClass.IDENTITY,
    version=1,
    summary="A person's details or relationship changed; the event holds the whole new state.",
)
class FamilyMemberChanged(_Member):
    """A person's details or relationship changed (the event holds the whole new state)."""


@CATALOGUE.register(
    "oneplan.children.family_member.removed",
    DataClass.IDENTITY,
    version=1,
    summary="A relationship ended; carries what the person held until then.",
)
class FamilyMemberRemoved(_AgeFacts):
    """A relationship ended; `parental_responsibility` is what the person held until then."""

    member_id: UUID
    relationship: Relationship
    parental_responsibility: bool
    ended_on: date
    reason: ShortText | None = None


@CATALOGUE.register(
    "oneplan.children.story.revised",
    DataClass.STORY,
    version=1,
    summary="The child's story ('all about me') was told or revised; holds the whole new story.",
)
class StoryRevised(_AgeFacts):
    """The child's story was revised; `revision` counts from 1."""

    revision: int = Field(ge=1)
    story: Story


@CATALOGUE.register(
    "oneplan.children.records.merged",
    DataClass.IDENTITY,
    version=1,
    summary="Two records proved to be one child; `child_id` is retired in favour of `survivor_id`.",
)
class RecordsMerged(_AgeFacts):
    """The record `child_id` is the same child as `survivor_id` and is retired."""

    survivor_id: UUID
    reason: ShortText


ChildrenDisclosureRecorded = register_disclosure_event("children", CATALOGUE)
"""`oneplan.children.disclosure.recorded`: published when another agency is shown a record."""
