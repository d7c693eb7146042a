"""The shared plan's read model: writes from the consumers (order-safe and idempotent, so a
rebuild beside the live consumers converges) and the queries the plan's reads need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from oneplan_events.catalogue import (
    ContributionRevised,
    ContributionSubmitted,
    ContributionWithdrawn,
    Event,
)
from oneplan_events.reactions import Unapplicable
from oneplan_events.vocabulary import PlanSection
from oneplan_plans.adapters.shared_plan_tables import (
    LeadProfessionalRow,
    PlanItemRow,
    PlanItemVersionRow,
    PlanSourceRow,
    TimelineStepRow,
)
from oneplan_plans.adapters.tables import ChildFactsRow
from oneplan_plans.domain.shared_plan import JourneyStep, LeadProfessional, PlanLine

__all__ = [
    "LineWrite",
    "Provenance",
    "child_known",
    "current_lines",
    "lead_professional",
    "line_known",
    "lines_as_of",
    "prefetch_page",
    "put_lead_professional",
    "put_line",
    "put_step",
    "sources_of",
    "steps_of",
]


@dataclass
class _Page:
    """The rows a page of events writes, loaded before it is applied (and those it adds):
    the writes below look here first, so a page costs no round trip an event."""

    items: dict[UUID, PlanItemRow | None] = field(default_factory=dict)
    version_items: set[UUID] = field(default_factory=set)  # every version of these is known
    versions: set[tuple[UUID, str]] = field(default_factory=set)
    source_children: set[UUID] = field(default_factory=set)  # every source of these is known
    sources: dict[tuple[UUID, str], PlanSourceRow] = field(default_factory=dict)


_PAGE: Final = "oneplan_plans.shared_plan.page"
_CONTRIBUTIONS: Final = (ContributionSubmitted, ContributionRevised, ContributionWithdrawn)


def _page(session: AsyncSession) -> _Page | None:
    page = session.info.get(_PAGE)
    return page if isinstance(page, _Page) else None


async def prefetch_page(session: AsyncSession, events: Sequence[Event]) -> None:
    """Load, in one query a table, the rows a page of events will write (each contribution's
    line and versions, each child's sources), so applying the page costs no round trip an
    event and its inserts go in the page's one flush. The rebuild calls it before each page
    (``ReadModel.prefetch``); keys it did not load fall back to ``session.get``."""
    page = session.info.setdefault(_PAGE, _Page())
    assert isinstance(page, _Page)
    items = {e.contribution_id for e in events if isinstance(e, _CONTRIBUTIONS)}
    children = {c for e in events if isinstance(c := getattr(e, "child_id", None), UUID)}
    items -= page.version_items
    children -= page.source_children
    if items:
        for item in items:
            page.items.setdefault(item, None)
        for row in await session.scalars(select(PlanItemRow).where(PlanItemRow.item_id.in_(items))):
            page.items[row.item_id] = row
        versions = await session.execute(
            select(PlanItemVersionRow.item_id, PlanItemVersionRow.source_event).where(
                PlanItemVersionRow.item_id.in_(items)
            )
        )
        page.versions.update((item, event) for item, event in versions)
        page.version_items |= items
    if children:
        for source in await session.scalars(
            select(PlanSourceRow).where(PlanSourceRow.child_id.in_(children))
        ):
            page.sources[(source.child_id, source.stream)] = source
        page.source_children |= children


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a write comes from: the event, its stream and sequence, its moment."""

    event_id: str
    stream: str
    sequence: int
    at: datetime


@dataclass(frozen=True, slots=True)
class LineWrite:
    """A line's new content (or its withdrawal) as an event states it."""

    item_id: UUID
    child_id: UUID
    section: PlanSection
    service: str
    agency: str
    data_class: str
    author: str
    title: str = ""
    content: str = ""
    outcomes: tuple[str, ...] = ()
    author_role: str | None = None
    author_contact: str | None = None
    effective_on: date | None = None
    withdrawn: bool = False
    revision: bool = False  # a revision or withdrawal of an earlier line, by its author only


async def _line_row(session: AsyncSession, item_id: UUID) -> PlanItemRow | None:
    """A line's row: from the page the rebuild prefetched, else the database."""
    page = _page(session)
    if page is not None and item_id in page.items:
        return page.items[item_id]
    return await session.get(PlanItemRow, item_id)


async def line_known(session: AsyncSession, item_id: UUID) -> bool:
    """Whether a line was ever written (withdrawn ones included)."""
    return await _line_row(session, item_id) is not None


async def put_line(session: AsyncSession, write: LineWrite, source: Provenance) -> None:
    """Apply one line's event: a new line, a new version, or its withdrawal. Stale writes
    (an older sequence of the same stream than the row holds) only add their version."""
    row = await _line_row(session, write.item_id)
    if row is not None:
        _refuse_unless_author(row, write, source)
    await _add_version(session, write, source)
    await _advance_source(session, write.child_id, source)
    if (
        row is not None
        and row.source_stream == source.stream
        and row.source_sequence >= source.sequence
    ):
        return  # applied already, or a later event of the line is
    if row is None:
        new = _new_row(write, source)
        session.add(new)
        if (page := _page(session)) is not None:
            page.items[write.item_id] = new
        return
    row.section, row.data_class = write.section.value, write.data_class
    row.withdrawn = write.withdrawn
    if not write.withdrawn:
        row.title, row.content, row.outcomes = write.title, write.content, list(write.outcomes)
        row.author, row.author_role, row.author_contact = (
            write.author,
            write.author_role,
            write.author_contact,
        )
        row.effective_on = write.effective_on
        row.revision += 1
    row.updated_at = source.at
    row.source_event, row.source_stream, row.source_sequence = (
        source.event_id,
        source.stream,
        source.sequence,
    )


def _refuse_unless_author(row: PlanItemRow, write: LineWrite, source: Provenance) -> None:
    if (row.agency, row.service) != (write.agency, write.service):
        raise Unapplicable(
            f"contribution {write.item_id} is {row.agency}'s ({row.service}): {write.agency} "
            f"({write.service}) may not submit, revise or withdraw it"
        )
    newer = row.source_stream != source.stream or row.source_sequence < source.sequence
    if write.revision and row.withdrawn and newer and not write.withdrawn:
        raise Unapplicable(f"contribution {write.item_id} was withdrawn: it cannot be revised")


def _new_row(write: LineWrite, source: Provenance) -> PlanItemRow:
    return PlanItemRow(
        item_id=write.item_id,
        child_id=write.child_id,
        service=write.service,
        agency=write.agency,
        section=write.section.value,
        data_class=write.data_class,
        title=write.title,
        content=write.content,
        outcomes=list(write.outcomes),
        author=write.author,
        author_role=write.author_role,
        author_contact=write.author_contact,
        effective_on=write.effective_on,
        submitted_at=source.at,
        updated_at=source.at,
        revision=1,
        withdrawn=write.withdrawn,
        source_event=source.event_id,
        source_stream=source.stream,
        source_sequence=source.sequence,
    )


async def _add_version(session: AsyncSession, write: LineWrite, source: Provenance) -> None:
    key = (write.item_id, source.event_id)
    page = _page(session)
    if page is not None and write.item_id in page.version_items:
        if key in page.versions:
            return
    elif await session.get(PlanItemVersionRow, key) is not None:
        return
    if page is not None:
        page.versions.add(key)
    session.add(
        PlanItemVersionRow(
            item_id=write.item_id,
            source_event=source.event_id,
            child_id=write.child_id,
            valid_from=source.at,
            source_sequence=source.sequence,
            withdrawn=write.withdrawn,
            section=write.section.value,
            data_class=write.data_class,
            service=write.service,
            agency=write.agency,
            title=write.title,
            content=write.content,
            outcomes=list(write.outcomes),
            author=write.author,
            author_role=write.author_role,
            author_contact=write.author_contact,
            effective_on=write.effective_on,
        )
    )


async def _advance_source(session: AsyncSession, child_id: UUID, source: Provenance) -> None:
    key = (child_id, source.stream)
    page = _page(session)
    if page is not None and (child_id in page.source_children or key in page.sources):
        row = page.sources.get(key)
    else:
        row = await session.get(PlanSourceRow, key)
    if row is None:
        row = PlanSourceRow(
            child_id=child_id,
            stream=source.stream,
            last_sequence=source.sequence,
            last_event_at=source.at,
        )
        session.add(row)
        if page is not None:
            page.sources[key] = row
    elif source.sequence > row.last_sequence:
        row.last_sequence, row.last_event_at = source.sequence, source.at


async def put_step(
    session: AsyncSession, step: JourneyStep, child_id: UUID, source: Provenance
) -> None:
    """Add a journey step once (a redelivery or a rebuild adds nothing)."""
    await _advance_source(session, child_id, source)
    if await session.get(TimelineStepRow, step.event_id) is not None:
        return
    session.add(
        TimelineStepRow(
            event_id=step.event_id,
            child_id=child_id,
            occurred_at=step.occurred_at,
            occurred_on=step.occurred_on,
            service=step.service,
            agency=step.agency,
            data_class=step.data_class,
            event_type=step.event_type,
            label=step.label,
            actor=step.actor,
        )
    )


async def put_lead_professional(
    session: AsyncSession, child_id: UUID, lead: LeadProfessional, source: Provenance
) -> None:
    """The lead professional named by the latest naming event."""
    row = await session.get(LeadProfessionalRow, child_id)
    if row is not None and row.source_sequence >= source.sequence:
        return
    if row is None:
        row = LeadProfessionalRow(child_id=child_id)
        session.add(row)
    row.name, row.role, row.agency, row.contact = lead.name, lead.role, lead.agency, lead.contact
    row.named_on, row.named_by, row.source_sequence = lead.named_on, lead.named_by, source.sequence


# -- reads ---------------------------------------------------------------------------------


async def child_known(session: AsyncSession, child_id: UUID) -> tuple[bool, datetime | None]:
    """Whether the children service's events made the child known, and when registered."""
    row = await session.get(ChildFactsRow, child_id)
    return (row is not None, None if row is None else row.registered_at)


def _line(
    row: PlanItemRow | PlanItemVersionRow,
    *,
    recorded_at: datetime,
    updated_at: datetime,
    revision: int,
) -> PlanLine:
    return PlanLine(
        item_id=row.item_id,
        section=PlanSection(row.section),
        service=row.service,
        agency=row.agency,
        data_class=row.data_class,
        title=row.title,
        content=row.content,
        author=row.author,
        recorded_at=recorded_at,
        source_event_id=row.source_event,
        revision=revision,
        outcomes=tuple(row.outcomes),
        author_role=row.author_role,
        author_contact=row.author_contact,
        effective_on=row.effective_on,
        updated_at=updated_at,
    )


async def current_lines(session: AsyncSession, child_id: UUID) -> list[PlanLine]:
    """The child's lines as they stand (withdrawn ones left out)."""
    rows = await session.scalars(
        select(PlanItemRow).where(PlanItemRow.child_id == child_id, ~PlanItemRow.withdrawn)
    )
    return [
        _line(row, recorded_at=row.submitted_at, updated_at=row.updated_at, revision=row.revision)
        for row in rows
    ]


def end_of(day: date) -> datetime:
    """The first instant after ``day`` (UTC)."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)


async def lines_as_of(session: AsyncSession, child_id: UUID, day: date) -> list[PlanLine]:
    """The child's lines as they stood at the end of ``day``, from every version recorded."""
    rows = await session.scalars(
        select(PlanItemVersionRow)
        .where(PlanItemVersionRow.child_id == child_id, PlanItemVersionRow.valid_from < end_of(day))
        .order_by(PlanItemVersionRow.valid_from, PlanItemVersionRow.source_sequence)
    )
    latest: dict[UUID, tuple[PlanItemVersionRow, int, datetime]] = {}
    for row in rows:
        known = latest.get(row.item_id)
        revision = 1 if known is None else known[1] + (0 if row.withdrawn else 1)
        first = row.valid_from if known is None else known[2]
        latest[row.item_id] = (row, revision, first)
    return [
        _line(row, recorded_at=first, updated_at=row.valid_from, revision=revision)
        for row, revision, first in latest.values()
        if not row.withdrawn
    ]


async def steps_of(
    session: AsyncSession, child_id: UUID, until: datetime | None = None
) -> list[JourneyStep]:
    """The child's journey steps (up to ``until``), oldest first."""
    query = select(TimelineStepRow).where(TimelineStepRow.child_id == child_id)
    if until is not None:
        query = query.where(TimelineStepRow.occurred_at < until)
    rows = await session.scalars(query.order_by(TimelineStepRow.occurred_at))
    return [
        JourneyStep(
            event_id=row.event_id,
            occurred_at=row.occurred_at,
            occurred_on=row.occurred_on,
            service=row.service,
            agency=row.agency,
            data_class=row.data_class,
            event_type=row.event_type,
            label=row.label,
            actor=row.actor,
        )
        for row in rows
    ]


async def lead_professional(session: AsyncSession, child_id: UUID) -> LeadProfessional | None:
    """The child's lead professional now."""
    row = await session.get(LeadProfessionalRow, child_id)
    if row is None:
        return None
    return LeadProfessional(row.name, row.role, row.agency, row.contact, row.named_on, row.named_by)


async def sources_of(session: AsyncSession, child_id: UUID) -> Sequence[PlanSourceRow]:
    """The streams the child's plan is built from, with the last sequence applied of each."""
    rows = await session.scalars(
        select(PlanSourceRow)
        .where(PlanSourceRow.child_id == child_id)
        .order_by(PlanSourceRow.stream)
    )
    return list(rows)
