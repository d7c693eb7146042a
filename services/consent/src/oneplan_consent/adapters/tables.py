"""The consent service's own tables: read models and the child facts learned from events.

They are written in the same transaction as the events they come from (commands) or as the
consumer's inbox row (child facts, disclosures), so they never disagree with the store.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Boolean, Date, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from oneplan_kit.tables import HOUSE_TYPES, house_metadata

__all__ = [
    "Base",
    "ChildFactsRow",
    "ConsentRow",
    "DisclosureRow",
    "DutyRow",
    "FamilyMemberRow",
    "OverrideRow",
    "RefusalRow",
]


class Base(DeclarativeBase):
    """The consent service's tables, in the house style (oneplan_kit.tables)."""

    metadata = house_metadata()
    type_annotation_map = HOUSE_TYPES


class ChildFactsRow(Base):
    """Age facts of a child, from the children service's events."""

    __tablename__ = "child_facts"

    child_id: Mapped[UUID] = mapped_column(primary_key=True)
    date_of_birth: Mapped[date] = mapped_column(Date)
    compulsory_school_age_ends_on: Mapped[date] = mapped_column(Date)


class FamilyMemberRow(Base):
    """A person in a child's network and whether they hold parental responsibility."""

    __tablename__ = "family_members"

    child_id: Mapped[UUID] = mapped_column(primary_key=True)
    member_id: Mapped[UUID] = mapped_column(primary_key=True)
    relationship: Mapped[str] = mapped_column(String(50))
    parental_responsibility: Mapped[bool] = mapped_column(Boolean)


class ConsentRow(Base):
    """A consent as the API lists it."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_status_valid_until", "status", "valid_until"),)

    consent_id: Mapped[UUID] = mapped_column(primary_key=True)
    child_id: Mapped[UUID] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20))
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    version: Mapped[int]
    record: Mapped[dict[str, Any]] = mapped_column(JSON)


class OverrideRow(Base):
    """A safeguarding override as the API lists it."""

    __tablename__ = "overrides"

    override_id: Mapped[UUID] = mapped_column(primary_key=True)
    child_id: Mapped[UUID] = mapped_column(index=True)
    needs_review: Mapped[bool] = mapped_column(Boolean, index=True)
    hide_from_family: Mapped[bool] = mapped_column(Boolean)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    version: Mapped[int]
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    reviews: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class RefusalRow(Base):
    """A recorded decision not to share."""

    __tablename__ = "refusals"

    refusal_id: Mapped[UUID] = mapped_column(primary_key=True)
    child_id: Mapped[UUID] = mapped_column(index=True)
    recorded_at: Mapped[datetime]
    record: Mapped[dict[str, Any]] = mapped_column(JSON)


class DutyRow(Base):
    """A recorded statutory duty to share."""

    __tablename__ = "duties"

    duty_id: Mapped[UUID] = mapped_column(primary_key=True)
    child_id: Mapped[UUID] = mapped_column(index=True)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    version: Mapped[int]
    record: Mapped[dict[str, Any]] = mapped_column(JSON)


class DisclosureRow(Base):
    """One disclosure of a child's data, as any service reported it."""

    __tablename__ = "disclosures"

    disclosure_id: Mapped[UUID] = mapped_column(primary_key=True)
    child_id: Mapped[UUID] = mapped_column(index=True)
    service: Mapped[str] = mapped_column(String(63))
    owner_agency: Mapped[str] = mapped_column(String(63))
    recipient_agency: Mapped[str] = mapped_column(String(63))
    recipient: Mapped[str] = mapped_column(String(300))
    data_classes: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(63))
    basis: Mapped[str] = mapped_column(String(20))
    reference_id: Mapped[UUID | None] = mapped_column(default=None)
    disclosed_at: Mapped[datetime] = mapped_column(index=True)
