"""The read-model tables of the plans service (beside the backbone's event store and outbox).

`assessments`, `clocks` and `plans` are projections of the service's own streams, written in
the same transaction as the events (`adapters/repository.py`); `child_facts` is what the
children service's events said about each child (a reaction, never its database).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Date, Index, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from oneplan_kit.tables import HOUSE_TYPES, house_metadata

__all__ = ["AssessmentRow", "Base", "ChildFactsRow", "ClockRow", "PlanRow"]


class Base(DeclarativeBase):
    """The plans service's tables, in the house style (oneplan_kit.tables)."""

    metadata = house_metadata()
    type_annotation_map = {**HOUSE_TYPES, date: Date()}


class AssessmentRow(Base):
    """One row per assessment: the worklist's and the child's list of assessments."""

    __tablename__ = "assessments"

    assessment_id: Mapped[UUID] = mapped_column(primary_key=True)
    child_id: Mapped[UUID] = mapped_column(index=True)
    received_on: Mapped[date]
    requested_by: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str] = mapped_column(String(20))
    plan_id: Mapped[UUID | None]
    version: Mapped[int]


class ClockRow(Base):
    """One row per statutory clock of an assessment, as of its last event: the dates and how
    they were computed. The status is computed at read time from "today"."""

    __tablename__ = "clocks"
    # The worklist reads open clocks soonest due first: a partial index in that order.
    __table_args__ = (
        Index(
            "ix_clocks_open_due_on",
            "due_on",
            "assessment_id",
            "position",
            postgresql_where=text("met_on IS NULL"),
            sqlite_where=text("met_on IS NULL"),
        ),
    )

    assessment_id: Mapped[UUID] = mapped_column(primary_key=True)
    clock_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    child_id: Mapped[UUID] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    label: Mapped[str] = mapped_column(String(200))
    regulation: Mapped[str] = mapped_column(String(200))
    agency: Mapped[str | None] = mapped_column(String(63))
    advice_request_id: Mapped[UUID | None] = mapped_column(index=True)
    starts_on: Mapped[date]
    statutory_due_on: Mapped[date]
    due_on: Mapped[date]
    met_on: Mapped[date | None]
    how: Mapped[str] = mapped_column(Text)
    position: Mapped[int]


class PlanRow(Base):
    """One row per final EHC plan."""

    __tablename__ = "plans"

    plan_id: Mapped[UUID] = mapped_column(primary_key=True)
    child_id: Mapped[UUID] = mapped_column(index=True)
    assessment_id: Mapped[UUID | None]
    issued_on: Mapped[date]
    setting_name: Mapped[str | None] = mapped_column(String(200))
    setting_urn: Mapped[str | None] = mapped_column(String(6))
    setting_type: Mapped[str | None] = mapped_column(String(40))
    start_date: Mapped[date | None]
    next_review_due_on: Mapped[date]
    amended_on: Mapped[date | None]
    amendments: Mapped[int]
    last_reviewed_on: Mapped[date | None]
    reviews: Mapped[int]
    ceasing: Mapped[bool]
    appeal_by: Mapped[date | None]
    version: Mapped[int]


class ChildFactsRow(Base):
    """What the children service's events said about a child: age facts and the story."""

    __tablename__ = "child_facts"

    child_id: Mapped[UUID] = mapped_column(primary_key=True)
    date_of_birth: Mapped[date]
    compulsory_school_age_ends_on: Mapped[date]
    story_revision: Mapped[int | None]
    story: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # When the children service registered the child: a plan `as_of` before it is refused.
    registered_at: Mapped[datetime | None]
