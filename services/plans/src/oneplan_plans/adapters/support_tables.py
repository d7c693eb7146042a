"""The graduated response's read-model tables (on the plans service's `Base`): SEN support
plans, their provision gaps (the worklist, kept by the projection so the read never decodes a
stream), the published matrix versions, and which plan each tracked outcome belongs to."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from oneplan_plans.adapters.tables import Base

__all__ = ["MatrixVersionRow", "ProvisionGapRow", "SupportPlanRow", "TrackedOutcomeRow"]


class SupportPlanRow(Base):
    """One row per SEN support plan (a child's plans, a setting's)."""

    __tablename__ = "support_plans"

    plan_id: Mapped[UUID] = mapped_column(primary_key=True)
    child_id: Mapped[UUID] = mapped_column(index=True)
    plan_type: Mapped[str] = mapped_column(String(40))
    setting_urn: Mapped[str] = mapped_column(String(6), index=True)
    setting_name: Mapped[str] = mapped_column(String(200))
    opened_on: Mapped[date]
    is_open: Mapped[bool]
    closed_on: Mapped[date | None]
    cycles: Mapped[int]
    current_cycle_starts_on: Mapped[date | None]
    ehc_assessment_id: Mapped[UUID | None]
    version: Mapped[int]


class ProvisionGapRow(Base):
    """An open plan whose latest cycle has gaps, as the provision checks found them when the
    plan last changed (judged by the matrix version in force on the cycle's date), with the
    plan's item of the worklist already written as JSON: the read only joins them."""

    __tablename__ = "provision_gaps"
    # The worklist reads one setting's plans, child by child.
    __table_args__ = (Index("ix_provision_gaps_setting", "setting_urn", "child_id", "plan_id"),)

    plan_id: Mapped[UUID] = mapped_column(primary_key=True)
    setting_urn: Mapped[str] = mapped_column(String(6))
    child_id: Mapped[UUID]
    cycle: Mapped[int]
    gaps: Mapped[int]
    kinds: Mapped[str] = mapped_column(String(200))
    document: Mapped[str] = mapped_column(Text)


class MatrixVersionRow(Base):
    """One published version of the SEND Provision Matrix."""

    __tablename__ = "provision_matrix_versions"

    matrix_version: Mapped[int] = mapped_column(primary_key=True)
    effective_from: Mapped[date] = mapped_column(index=True)
    published_on: Mapped[date]
    title: Mapped[str] = mapped_column(String(200))
    entries: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class TrackedOutcomeRow(Base):
    """Which plan an outcome belongs to (SEN support or section E of an EHC plan)."""

    __tablename__ = "tracked_outcomes"

    outcome_id: Mapped[UUID] = mapped_column(primary_key=True)
    plan_id: Mapped[UUID] = mapped_column(index=True)
    plan_type: Mapped[str] = mapped_column(String(40))
    child_id: Mapped[UUID]
