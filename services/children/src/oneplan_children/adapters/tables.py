"""The children service's read-model tables (beside the backbone's event store and outbox).

They are projections of the event streams, written in the same transaction as the events, so a
reader never sees a record the store does not hold. `child_identifiers` enforces one record per
NHS number and per UPN with UNIQUE constraints: the database, not a race-prone check, has the
last word on duplicates.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from oneplan_events.schema import UtcDateTime

__all__ = ["Base", "ChildIdentifiers", "ChildSummary"]


class Base(DeclarativeBase):
    """Declarative base of the service's own tables, with a constraint naming convention."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_name)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class ChildSummary(Base):
    """One row per record: what search and duplicate warnings need."""

    __tablename__ = "child_summary"

    child_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int]
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    # Case-folded family name: search and possible-match checks ignore case.
    family_name_key: Mapped[str] = mapped_column(String(100), index=True)
    given_name_key: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date] = mapped_column(Date, index=True)
    nhs_number: Mapped[str | None] = mapped_column(String(10))
    upn: Mapped[str | None] = mapped_column(String(13))
    merged_into: Mapped[str | None] = mapped_column(String(36))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ChildIdentifiers(Base):
    """The national identifiers of live records; a merged record's are released."""

    __tablename__ = "child_identifiers"

    child_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    nhs_number: Mapped[str | None] = mapped_column(String(10), unique=True)
    upn: Mapped[str | None] = mapped_column(String(13), unique=True)
