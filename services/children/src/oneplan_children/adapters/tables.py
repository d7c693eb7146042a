"""The children service's read-model tables (beside the backbone's event store and outbox).

They are projections of the event streams, written in the same transaction as the events, so a
reader never sees a record the store does not hold. `child_identifiers` enforces one record per
NHS number and per UPN with UNIQUE constraints: the database, not a race-prone check, has the
last word on duplicates.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import Date, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from oneplan_kit.tables import HOUSE_TYPES, house_metadata

__all__ = ["Base", "ChildIdentifiers", "ChildSummary"]


class Base(DeclarativeBase):
    """The children service's tables, in the house style (oneplan_kit.tables)."""

    metadata = house_metadata()
    type_annotation_map = HOUSE_TYPES


class ChildSummary(Base):
    """One row per record: what search and duplicate warnings need."""

    __tablename__ = "child_summary"

    child_id: Mapped[UUID] = mapped_column(primary_key=True)
    version: Mapped[int]
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    # Case-folded family name: search and possible-match checks ignore case.
    family_name_key: Mapped[str] = mapped_column(String(100), index=True)
    given_name_key: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date] = mapped_column(Date, index=True)
    nhs_number: Mapped[str | None] = mapped_column(String(10))
    upn: Mapped[str | None] = mapped_column(String(13))
    merged_into: Mapped[UUID | None]
    updated_at: Mapped[datetime]


class ChildIdentifiers(Base):
    """The national identifiers of live records; a merged record's are released."""

    __tablename__ = "child_identifiers"

    child_id: Mapped[UUID] = mapped_column(primary_key=True)
    nhs_number: Mapped[str | None] = mapped_column(String(10), unique=True)
    upn: Mapped[str | None] = mapped_column(String(13), unique=True)
