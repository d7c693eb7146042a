"""The read-model tables of the referrals service (beside the backbone's event store and
outbox), and its one private table of clinical narrative.

The read models are projections of the event streams, written in the same transaction as the
events (`adapters/repository.py`). `clinical_notes` is the only place the clinical free text of
a referral lives (the reason, triage and discharge notes): it is written in the command's
transaction but never published, so it cannot leave the service on NATS.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Date, Index, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from oneplan_kit.tables import HOUSE_TYPES, house_metadata

__all__ = [
    "AdviceTaskRow",
    "Base",
    "ChildStoryRow",
    "ClinicalNoteRow",
    "DirectoryServiceRow",
    "KnownChildRow",
    "ReferralRow",
]


class Base(DeclarativeBase):
    """The referrals service's tables, in the house style (oneplan_kit.tables)."""

    metadata = house_metadata()
    type_annotation_map = {**HOUSE_TYPES, date: Date()}


class KnownChildRow(Base):
    """A child the children service registered: referrals are for known children only."""

    __tablename__ = "known_children"

    child_id: Mapped[UUID] = mapped_column(primary_key=True)
    date_of_birth: Mapped[date]


class ReferralRow(Base):
    """One row per referral: the worklist, the reports and the family view read it.

    `state` is the referral's whole state (appointments included) as JSON. The waiting list
    and the waiting report read only columns: the wait's inputs are kept beside the state
    (`breach_on`, `first_seen_on`, the dates of the appointments still booked), so a page of
    the worklist is built without decoding any state, and the report is counted in SQL."""

    __tablename__ = "referrals"
    __table_args__ = (
        # The waiting list, longest waiting first, paged by (received_on, referral_id); also
        # what the waiting count and the report's bands scan (only the waiting rows).
        Index(
            "ix_referrals_waiting_list",
            "received_on",
            "referral_id",
            postgresql_where=text("waiting"),
            sqlite_where=text("waiting = 1"),
        ),
        Index(
            "ix_referrals_waiting_list_by_service",
            "service_id",
            "received_on",
            "referral_id",
            postgresql_where=text("waiting"),
            sqlite_where=text("waiting = 1"),
        ),
    )

    referral_id: Mapped[UUID] = mapped_column(primary_key=True)
    child_id: Mapped[UUID] = mapped_column(index=True)
    service_id: Mapped[UUID] = mapped_column(index=True)
    referrer_agency: Mapped[str] = mapped_column(String(63))
    urgency: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    open: Mapped[bool]
    waiting: Mapped[bool]
    """Open and not yet seen: on the waiting list."""
    received_on: Mapped[date]
    breach_on: Mapped[date]
    """The received date plus 18 weeks: seen after it is a breach."""
    first_seen_on: Mapped[date | None]
    """The first attended appointment's date (None: not seen)."""
    earliest_booked_on: Mapped[date | None]
    """The earliest appointment still booked (None: none booked)."""
    booked_dates: Mapped[str] = mapped_column(Text)
    """Every appointment still booked, as ISO dates in order separated by spaces (the next
    appointment; plain text, as a page of the worklist decodes 50 of them)."""
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int]


class ClinicalNoteRow(Base):
    """Clinical narrative about a referral (never published)."""

    __tablename__ = "clinical_notes"

    note_id: Mapped[UUID] = mapped_column(primary_key=True)
    referral_id: Mapped[UUID] = mapped_column(index=True)
    child_id: Mapped[UUID]
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    written_by: Mapped[str] = mapped_column(String(255))
    written_at: Mapped[datetime]


class AdviceTaskRow(Base):
    """One row per health advice task: the clinicians' list and the child's advice."""

    __tablename__ = "advice_tasks"

    advice_request_id: Mapped[UUID] = mapped_column(primary_key=True)
    assessment_id: Mapped[UUID]
    child_id: Mapped[UUID] = mapped_column(index=True)
    requested_on: Mapped[date]
    due_on: Mapped[date]
    submitted_on: Mapped[date | None]
    question: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int]


class ChildStoryRow(Base):
    """The child's story as the children service last published it (`story.revised`): kept
    here so a clinician can be shown it, and released only where consent allows."""

    __tablename__ = "child_stories"

    child_id: Mapped[UUID] = mapped_column(primary_key=True)
    revision: Mapped[int]
    story: Mapped[dict[str, Any]] = mapped_column(JSON)


class DirectoryServiceRow(Base):
    """One row per service of the directory: the projection of its `directory/<id>`
    stream (retired services stay, so old referrals keep their service's name)."""

    __tablename__ = "directory_services"

    service_id: Mapped[UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    entry: Mapped[dict[str, Any]] = mapped_column(JSON)
    retired_on: Mapped[date | None]
    version: Mapped[int]
