"""The shared plan's read model: filled only from events (every agency's contributions, the
journey steps of the plans, referrals and transport streams, the lead professional), so it
can be emptied and rebuilt from the streams (`oneplan rebuild plans shared_plan`).

Every row remembers the stream and stream sequence it was last written from: a handler
ignores an older one, so the live consumers and a rebuild converge on the same rows.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import JSON, BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from oneplan_plans.adapters.tables import Base

__all__ = [
    "LeadProfessionalRow",
    "PlanItemRow",
    "PlanItemVersionRow",
    "PlanSourceRow",
    "TimelineStepRow",
]


class PlanItemRow(Base):
    """One contribution as it stands now (withdrawn ones stay, marked, for `as_of`)."""

    __tablename__ = "plan_items"
    __table_args__ = (Index("ix_plan_items_child_section", "child_id", "section"),)

    item_id: Mapped[UUID] = mapped_column(primary_key=True)
    child_id: Mapped[UUID]
    service: Mapped[str] = mapped_column(String(63))
    agency: Mapped[str] = mapped_column(String(63))
    section: Mapped[str] = mapped_column(String(2))
    data_class: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    outcomes: Mapped[list[str]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(255))
    author_role: Mapped[str | None] = mapped_column(String(120))
    author_contact: Mapped[str | None] = mapped_column(String(255))
    effective_on: Mapped[date | None]
    submitted_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    revision: Mapped[int]
    withdrawn: Mapped[bool]
    source_event: Mapped[str] = mapped_column(String(255))
    source_stream: Mapped[str] = mapped_column(String(64))
    source_sequence: Mapped[int] = mapped_column(BigInteger)


class PlanItemVersionRow(Base):
    """Every version of every contribution, from the event that made it: the plan on a date."""

    __tablename__ = "plan_item_versions"
    __table_args__ = (Index("ix_plan_item_versions_child", "child_id", "valid_from"),)

    item_id: Mapped[UUID] = mapped_column(primary_key=True)
    source_event: Mapped[str] = mapped_column(String(255), primary_key=True)
    child_id: Mapped[UUID]
    valid_from: Mapped[datetime]
    source_sequence: Mapped[int] = mapped_column(BigInteger)
    withdrawn: Mapped[bool]
    section: Mapped[str] = mapped_column(String(2))
    data_class: Mapped[str] = mapped_column(String(40))
    service: Mapped[str] = mapped_column(String(63))
    agency: Mapped[str] = mapped_column(String(63))
    title: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    outcomes: Mapped[list[str]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(255))
    author_role: Mapped[str | None] = mapped_column(String(120))
    author_contact: Mapped[str | None] = mapped_column(String(255))
    effective_on: Mapped[date | None]


class TimelineStepRow(Base):
    """One step of the child's journey across the agencies (an event, never its content)."""

    __tablename__ = "plan_timeline"
    __table_args__ = (Index("ix_plan_timeline_child", "child_id", "occurred_at"),)

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    child_id: Mapped[UUID]
    occurred_at: Mapped[datetime]
    occurred_on: Mapped[date]
    service: Mapped[str] = mapped_column(String(63))
    agency: Mapped[str] = mapped_column(String(63))
    data_class: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(255))
    label: Mapped[str] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(255))


class PlanSourceRow(Base):
    """How current a child's plan is: the last sequence applied from each stream."""

    __tablename__ = "plan_sources"

    child_id: Mapped[UUID] = mapped_column(primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_sequence: Mapped[int] = mapped_column(BigInteger)
    last_event_at: Mapped[datetime]


class LeadProfessionalRow(Base):
    """Who coordinates the team around the child (named by the SEND team or early help)."""

    __tablename__ = "lead_professionals"

    child_id: Mapped[UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(120))
    agency: Mapped[str] = mapped_column(String(63))
    contact: Mapped[str] = mapped_column(String(255))
    named_on: Mapped[date]
    named_by: Mapped[str] = mapped_column(String(255))
    source_sequence: Mapped[int] = mapped_column(BigInteger)
