"""The read-model tables of the transport service (beside the backbone's event store and
outbox).

`cases` is the worklist's projection of every case, written in the same transaction as the
case's events (`adapters/repository.py`); `decisions` one row per
eligibility decision (the timeliness report); `child_facts` holds what the children service's
events say of a child's age, written in the consumer's transaction. A case itself is read
from its event stream.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import Boolean, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from oneplan_kit.tables import HOUSE_TYPES, house_metadata

__all__ = ["Base", "CaseRow", "ChildFactsRow", "DecisionRow"]


class Base(DeclarativeBase):
    """The transport service's tables, in the house style (oneplan_kit.tables)."""

    metadata = house_metadata()
    type_annotation_map = HOUSE_TYPES


class CaseRow(Base):
    """One row per case: what the worklist lists and orders."""

    __tablename__ = "cases"

    case_id: Mapped[UUID] = mapped_column(primary_key=True)
    child_id: Mapped[UUID] = mapped_column(unique=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    setting_name: Mapped[str] = mapped_column(String(200))
    setting_urn: Mapped[str | None] = mapped_column(String(6))
    start_date: Mapped[date | None]
    plan_issued_on: Mapped[date]
    has_arrangement: Mapped[bool] = mapped_column(Boolean)
    decided_on: Mapped[date | None]
    opened_at: Mapped[datetime]
    version: Mapped[int]


class ChildFactsRow(Base):
    """A child's age facts, as the children service's latest event told them."""

    __tablename__ = "child_facts"

    child_id: Mapped[UUID] = mapped_column(primary_key=True)
    date_of_birth: Mapped[date]
    compulsory_school_age_ends_on: Mapped[date]


class DecisionRow(Base):
    """One row per eligibility decision: what the timeliness report counts."""

    __tablename__ = "decisions"

    decision_id: Mapped[UUID] = mapped_column(primary_key=True)
    case_id: Mapped[UUID] = mapped_column(index=True)
    decided_on: Mapped[date] = mapped_column(index=True)
    plan_issued_on: Mapped[date]
    outcome: Mapped[str] = mapped_column(String(32))
    working_days_from_issue: Mapped[int | None]
    target_working_days: Mapped[int]
    within_target: Mapped[bool | None] = mapped_column(Boolean)
    first_decision: Mapped[bool] = mapped_column(Boolean)
    on_review: Mapped[bool] = mapped_column(Boolean)
