"""Commands: what a caller asks the child's record to do, with their validated input.

The input models refuse unknown fields and validate identifiers here, so a bad request never
reaches the aggregate; rules that need today's date live in `model.decide`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from oneplan_children.domain.identifiers import (
    NHS_NUMBER_INPUT_PATTERN,
    UPN_INPUT_PATTERN,
    normalise_nhs_number,
    normalise_upn,
)
from oneplan_children.events import (
    Address,
    ContactDetails,
    ContactMethod,
    LongText,
    MemberRole,
    Name,
    Relationship,
    Setting,
    Sex,
    ShortText,
    Story,
)
from oneplan_events.types import BoundedDate, NotFutureDate

__all__ = [
    "AddFamilyMember",
    "ChangeDetails",
    "ChangeFamilyMember",
    "Command",
    "DetailsPatch",
    "MemberInput",
    "MergeInput",
    "MergeInto",
    "NewChild",
    "NhsNumberInput",
    "RegisterChild",
    "RemovalInput",
    "RemoveFamilyMember",
    "ReviseStory",
    "UpnInput",
]

# The validator checks the shape the schema documents (the same pattern) and then the check
# character, each refusal with its own message; the schema cannot say the check.
NhsNumberInput = Annotated[
    str,
    AfterValidator(normalise_nhs_number),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": NHS_NUMBER_INPUT_PATTERN,
            "description": "Ten digits (spaces or hyphens between the groups of 3, 3 and 4 "
            "allowed) whose last is the modulus-11 check digit; recorded as ten digits.",
            "examples": ["943 476 5919"],
        }
    ),
]
"""An NHS number as typed; the ten digits once validated."""
UpnInput = Annotated[
    str,
    AfterValidator(normalise_upn),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": UPN_INPUT_PATTERN,
            "description": "A Unique Pupil Number: check letter, LA number (3 digits), "
            "establishment (4), year of allocation (2), serial (2 digits and a digit, or a "
            "letter for a temporary UPN); the DfE check letter must be right. Recorded in "
            "upper case.",
            "examples": ["B801200005001"],
        }
    ),
]
"""A UPN as typed; upper case once validated."""


class _Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NewChild(_Input):
    """What registering a child takes; NHS number and UPN are optional and check-validated."""

    given_name: Name
    family_name: Name
    preferred_name: Name | None = None
    date_of_birth: NotFutureDate
    sex: Sex | None = None
    gender: Name | None = None
    nhs_number: NhsNumberInput | None = None
    upn: UpnInput | None = None
    address: Address | None = None
    setting: Setting | None = None
    languages: list[Name] = Field(default_factory=list, max_length=10)
    communication_needs: LongText | None = None


_REQUIRED_DETAILS = ("given_name", "family_name", "date_of_birth")


class DetailsPatch(_Input):
    """A JSON merge patch of a child's details: fields sent are set, `null` clears."""

    given_name: Name | None = None
    family_name: Name | None = None
    preferred_name: Name | None = None
    date_of_birth: NotFutureDate | None = None
    sex: Sex | None = None
    gender: Name | None = None
    nhs_number: NhsNumberInput | None = None
    upn: UpnInput | None = None
    address: Address | None = None
    setting: Setting | None = None
    languages: list[Name] | None = Field(default=None, max_length=10)
    communication_needs: LongText | None = None

    @model_validator(mode="after")
    def _required_fields_cannot_be_cleared(self) -> DetailsPatch:
        for name in _REQUIRED_DETAILS:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be cleared")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent, with their new values."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class MemberInput(_Input):
    """A person in the child's family and network."""

    given_name: Name
    family_name: Name
    relationship: Relationship
    parental_responsibility: bool
    roles: list[MemberRole] = Field(default_factory=list, max_length=4)
    contact: ContactDetails = Field(default_factory=ContactDetails)
    preferred_contact_method: ContactMethod | None = None


class RemovalInput(_Input):
    """Ending a relationship: when, and optionally why."""

    ended_on: BoundedDate
    reason: ShortText | None = None


class MergeInput(_Input):
    """Merging a duplicate record into the record addressed (the survivor)."""

    duplicate_id: UUID
    reason: ShortText


@dataclass(frozen=True)
class RegisterChild:
    """Create the record `child_id`."""

    child_id: UUID
    details: NewChild


@dataclass(frozen=True)
class ChangeDetails:
    """Change some details of the record."""

    patch: DetailsPatch


@dataclass(frozen=True)
class AddFamilyMember:
    """Add a person to the child's network."""

    member_id: UUID
    member: MemberInput


@dataclass(frozen=True)
class ChangeFamilyMember:
    """Replace what is recorded about a person in the network."""

    member_id: UUID
    member: MemberInput


@dataclass(frozen=True)
class RemoveFamilyMember:
    """End a person's relationship with the child."""

    member_id: UUID
    removal: RemovalInput


@dataclass(frozen=True)
class ReviseStory:
    """Replace the child's story with a new revision."""

    story: Story


@dataclass(frozen=True)
class MergeInto:
    """Retire this record as a duplicate of `survivor_id`."""

    survivor_id: UUID
    reason: str


Command = (
    RegisterChild
    | ChangeDetails
    | AddFamilyMember
    | ChangeFamilyMember
    | RemoveFamilyMember
    | ReviseStory
    | MergeInto
)
