"""Response shapes for the OpenAPI document (views build the bodies; tests check they agree)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from oneplan_children.domain.calendar import KeyStage
from oneplan_children.domain.commands import MemberInput
from oneplan_children.events import Address, NhsNumber, Setting, Sex, Story, Upn
from oneplan_events.vocabulary import DataClass

__all__ = ["ChildOut", "MemberOut", "SearchOut", "StoryOut"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemberOut(MemberInput):
    """A person in the child's network."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    member_id: UUID
    href: str | None = None


class Withheld(_Out):
    """A data class not released to the reader, and why."""

    data_class: DataClass
    reason: str | None


class PossibleDuplicate(_Out):
    """Something the caller should look at; nothing was done about it."""

    type: str
    child_id: UUID
    href: str
    detail: str


class ChildOut(_Out):
    """A child's record; fields beyond minimal identity appear only when the reader may see them."""

    child_id: UUID
    version: int
    given_name: str
    family_name: str
    preferred_name: str | None
    date_of_birth: date
    compulsory_school_age_ends_on: date
    age: int
    school_year: int | None
    school_year_label: str | None
    key_stage: KeyStage | None
    over_compulsory_school_age: bool
    merged_into: UUID | None
    links: dict[str, str]
    sex: Sex | None = None
    gender: str | None = None
    nhs_number: NhsNumber | None = None
    upn: Upn | None = None
    address: Address | None = None
    setting: Setting | None = None
    languages: list[str] | None = None
    communication_needs: str | None = None
    family: list[MemberOut] | None = None
    withheld: list[Withheld] | None = None
    warnings: list[PossibleDuplicate] | None = None
    merged: UUID | None = None


class StoryOut(_Out):
    """The story at one revision."""

    child_id: UUID
    revision: int
    story: Story | None
    links: dict[str, str]


class SearchHit(_Out):
    """A live record matching a search."""

    child_id: UUID
    given_name: str
    family_name: str
    date_of_birth: date
    nhs_number: NhsNumber | None
    upn: Upn | None
    age: int
    school_year: int | None
    school_year_label: str | None
    key_stage: KeyStage | None
    over_compulsory_school_age: bool
    links: dict[str, str]


class SearchOut(_Out):
    """Search results."""

    items: list[SearchHit]
