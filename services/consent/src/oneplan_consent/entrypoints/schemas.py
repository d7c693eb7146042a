"""Request and response bodies of the consent API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from oneplan_consent.adapters.tables import (
    ConsentRow,
    DisclosureRow,
    DutyRow,
    OverrideRow,
    RefusalRow,
)
from oneplan_consent.domain.aggregates import ConsentStatus
from oneplan_consent.events import CaptureMethod, ConsentGiver, LawfulBasis
from oneplan_events.catalogue import DisclosureBasis
from oneplan_events.types import AgencyName, BoundedDateTime, PlainText, ShortText
from oneplan_events.vocabulary import DataClass, Purpose

__all__ = [
    "ConsentIn",
    "ConsentOut",
    "DecisionIn",
    "DecisionOut",
    "DisclosureOut",
    "DutyIn",
    "DutyOut",
    "OverrideEndIn",
    "OverrideIn",
    "OverrideOut",
    "OverrideReviewIn",
    "RefusalIn",
    "RefusalOut",
    "WithdrawalIn",
]

Agency = AgencyName
_Agencies = Field(min_length=1, max_length=20)
Text = Annotated[str, PlainText(max_length=2000)]
"""A reason, outcome or description: one paragraph or several, plain text."""


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConsentIn(_In):
    """A consent to record for the child."""

    given_by: ConsentGiver
    owner_agencies: list[Agency] = _Agencies
    recipient_agencies: list[Agency] = _Agencies
    data_classes: list[DataClass] = Field(min_length=1, max_length=6)
    purposes: list[Purpose] = Field(min_length=1, max_length=6)
    valid_from: BoundedDateTime | None = Field(default=None, description="Default: now.")
    valid_until: BoundedDateTime
    capture_method: CaptureMethod
    witness_name: ShortText | None = None


class ConsentOut(BaseModel):
    """A consent and where it stands."""

    consent_id: UUID
    child_id: UUID
    status: ConsentStatus
    version: int
    ended_at: datetime | None
    record: dict[str, Any]

    @classmethod
    def of(cls, row: ConsentRow) -> ConsentOut:
        return cls(
            consent_id=row.consent_id,
            child_id=row.child_id,
            status=ConsentStatus(row.status),
            version=row.version,
            ended_at=row.ended_at,
            record=row.record,
        )


class WithdrawalIn(_In):
    """Why the consent is withdrawn (optional)."""

    reason: Text | None = None


class OverrideIn(_In):
    """Sharing without consent, recorded by a safeguarding lead."""

    reason: Text
    lawful_basis: LawfulBasis
    recipient_agencies: list[Agency] = _Agencies
    data_classes: list[DataClass] = Field(min_length=1, max_length=6)
    ends_at: BoundedDateTime | None = Field(default=None, description="Default: 30 days from now.")
    hide_from_family: bool = Field(
        default=False,
        description="Hide the disclosures made under this override from the family while "
        "it is active (a safeguarding enquiry is running).",
    )


class OverrideOut(BaseModel):
    """A safeguarding override and its review state."""

    override_id: UUID
    child_id: UUID
    needs_review: bool
    active: bool
    ended_at: datetime | None
    version: int
    record: dict[str, Any]
    reviews: list[dict[str, Any]]

    @classmethod
    def of(cls, row: OverrideRow, now: datetime) -> OverrideOut:
        return cls(
            override_id=row.override_id,
            child_id=row.child_id,
            needs_review=row.needs_review,
            active=row.ended_at is None and row.starts_at <= now < row.ends_at,
            ended_at=row.ended_at,
            version=row.version,
            record=row.record,
            reviews=row.reviews,
        )


class OverrideReviewIn(_In):
    """The outcome of a review (e.g. "enquiry continues; sharing still necessary")."""

    outcome: Text


class OverrideEndIn(_In):
    """Why the override ends now."""

    reason: Text


class RefusalIn(_In):
    """A decision not to share, with its reason."""

    owner_agency: Agency
    recipient_agency: Agency
    data_classes: list[DataClass] = Field(min_length=1, max_length=6)
    purpose: Purpose
    reason: Text


class DutyIn(_In):
    """A statutory duty to share that needs no consent."""

    lawful_basis: LawfulBasis
    description: Text
    owner_agencies: list[Agency] = _Agencies
    recipient_agencies: list[Agency] = _Agencies
    data_classes: list[DataClass] = Field(min_length=1, max_length=6)
    purposes: list[Purpose] = Field(min_length=1, max_length=6)
    valid_from: BoundedDateTime | None = None
    valid_until: BoundedDateTime | None = None


class DutyOut(BaseModel):
    """A statutory duty to share and whether it permits now."""

    duty_id: UUID
    child_id: UUID
    active: bool
    ended_at: datetime | None
    version: int
    record: dict[str, Any]

    @classmethod
    def of(cls, row: DutyRow, now: datetime) -> DutyOut:
        starts = datetime.fromisoformat(row.record["valid_from"])
        until = row.record.get("valid_until")
        in_period = starts <= now and (until is None or now < datetime.fromisoformat(until))
        return cls(
            duty_id=row.duty_id,
            child_id=row.child_id,
            active=row.ended_at is None and in_period,
            ended_at=row.ended_at,
            version=row.version,
            record=row.record,
        )


class RefusalOut(BaseModel):
    """A recorded decision not to share, with its reason (in `record`)."""

    refusal_id: UUID
    child_id: UUID
    recorded_at: datetime
    record: dict[str, Any]

    @classmethod
    def of(cls, row: RefusalRow) -> RefusalOut:
        return cls(
            refusal_id=row.refusal_id,
            child_id=row.child_id,
            recorded_at=row.recorded_at,
            record=row.record,
        )


class DecisionIn(_In):
    """May the recipient agency see the owner's data class about the child for the purpose?"""

    child_id: UUID
    owner_agency: Agency
    recipient_agency: Agency
    data_class: DataClass
    purpose: Purpose
    at: BoundedDateTime | None = Field(default=None, description="Default: now.")


class DecisionOut(BaseModel):
    """Permit with its basis (and the consent, override or duty id), or deny with the reason."""

    permit: bool
    basis: Literal["own_data", "consent", "override", "statutory_duty"] | None
    reference: UUID | None
    reason: str | None


class DisclosureOut(BaseModel):
    """Who saw what about the child, when, and on what basis."""

    disclosure_id: UUID
    service: str
    owner_agency: str
    recipient_agency: str
    recipient: str
    data_classes: list[DataClass]
    purpose: str
    basis: DisclosureBasis
    reference_id: UUID | None
    disclosed_at: datetime

    @classmethod
    def of(cls, row: DisclosureRow) -> DisclosureOut:
        return cls(
            disclosure_id=row.disclosure_id,
            service=row.service,
            owner_agency=row.owner_agency,
            recipient_agency=row.recipient_agency,
            recipient=row.recipient,
            data_classes=[DataClass(value) for value in row.data_classes],
            purpose=row.purpose,
            basis=row.basis,  # type: ignore[arg-type]  # a DisclosureBasis as recorded
            reference_id=row.reference_id,
            disclosed_at=row.disclosed_at,
        )
