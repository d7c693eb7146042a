"""Commands: what a caller asks the child's record to do, with their validated input.

The input models refuse unknown fields and validate identifiers here, so a bad request never
reaches the aggregate; rules that need today's date live in `model.decide`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from oneplan_children.domain.identifiers import normalise_nhs_number, normalise_upn
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
    "RegisterChild",
    "RemovalInput",
    "RemoveFamilyMember",
    "ReviseStory",
]

NhsNumberInput = Annotated[str, AfterValidator(normalise_nhs_number)]
UpnInput = Annotated[str, AfterValidator(normalise_upn)]


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
