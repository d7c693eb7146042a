"""Queries and read-model writes on the consent service's tables. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from oneplan_consent.adapters.tables import (
    ChildFactsRow,
    ConsentRow,
    DisclosureRow,
    DutyRow,
    FamilyMemberRow,
    OverrideRow,
    RefusalRow,
)
from oneplan_consent.domain.aggregates import (
    CONSENT,
    DUTY,
    OVERRIDE,
    REFUSAL,
    ConsentStatus,
)
from oneplan_consent.domain.record_visibility import Involvement, OverrideParties
from oneplan_consent.domain.who_may_consent import ChildFacts, FamilyMember
from oneplan_consent.events import (
    ConsentExpired,
    ConsentGiven,
    ConsentWithdrawn,
    OverrideEnded,
    OverrideRecorded,
    OverrideReviewed,
    RefusalRecorded,
    StatutoryDutyEnded,
    StatutoryDutyRecorded,
)
from oneplan_events.catalogue import DisclosureRecorded, Event
from oneplan_events.decider import Aggregate
from oneplan_events.store import RecordedEvent

R = TypeVar("R", ConsentRow, OverrideRow, DutyRow)

__all__ = [
    "CONSENTS",
    "DUTIES",
    "OVERRIDES",
    "REFUSALS",
    "add_disclosure",
    "consents_ending_by",
    "consents_of",
    "disclosures_of",
    "duties_of",
    "load_child_facts",
    "overrides_where",
    "project",
    "refusals_of",
    "remove_member",
    "upsert_age_facts",
    "upsert_member",
]


async def load_child_facts(session: AsyncSession, child_id: UUID) -> ChildFacts | None:
    """What the service knows of a child, or None if the children service never told it."""
    row = await session.get(ChildFactsRow, child_id)
    if row is None:
        return None
    members = await session.scalars(
        select(FamilyMemberRow).where(FamilyMemberRow.child_id == child_id)
    )
    return ChildFacts(
        child_id=row.child_id,
        date_of_birth=row.date_of_birth,
        compulsory_school_age_ends_on=row.compulsory_school_age_ends_on,
        members={
            m.member_id: FamilyMember(m.member_id, m.relationship, m.parental_responsibility)
            for m in members
        },
    )


async def upsert_age_facts(
    session: AsyncSession, child_id: UUID, date_of_birth: date, ends_on: date
) -> None:
    """Record the child's date of birth and the end of compulsory school age."""
    row = await session.get(ChildFactsRow, child_id)
    if row is None:
        session.add(
            ChildFactsRow(
                child_id=child_id,
                date_of_birth=date_of_birth,
                compulsory_school_age_ends_on=ends_on,
            )
        )
    else:
        row.date_of_birth = date_of_birth
        row.compulsory_school_age_ends_on = ends_on


async def upsert_member(
    session: AsyncSession, child_id: UUID, member_id: UUID, relationship: str, pr: bool
) -> None:
    """Add or update a person in the child's network."""
    row = await session.get(FamilyMemberRow, (child_id, member_id))
    if row is None:
        session.add(
            FamilyMemberRow(
                child_id=child_id,
                member_id=member_id,
                relationship=relationship,
                parental_responsibility=pr,
            )
        )
    else:
        row.relationship = relationship
        row.parental_responsibility = pr


async def remove_member(session: AsyncSession, child_id: UUID, member_id: UUID) -> None:
    """Forget a person who left the child's network."""
    await session.execute(
        delete(FamilyMemberRow).where(
            FamilyMemberRow.child_id == child_id, FamilyMemberRow.member_id == member_id
        )
    )


async def consents_ending_by(
    session: AsyncSession, horizon: datetime
) -> list[tuple[UUID, datetime]]:
    """Consents still in force whose end date is at or before `horizon`: (id, valid_until)."""
    rows = await session.execute(
        select(ConsentRow.consent_id, ConsentRow.valid_until).where(
            ConsentRow.status == ConsentStatus.GIVEN.value, ConsentRow.valid_until <= horizon
        )
    )
    return [(row.consent_id, row.valid_until) for row in rows]


async def consents_of(session: AsyncSession, child_id: UUID) -> Sequence[ConsentRow]:
    """A child's consents, newest first."""
    rows = await session.scalars(
        select(ConsentRow)
        .where(ConsentRow.child_id == child_id)
        .order_by(ConsentRow.valid_from.desc())
    )
    return rows.all()


async def overrides_where(
    session: AsyncSession, *, needs_review: bool | None, child_id: UUID | None
) -> Sequence[OverrideRow]:
    """Overrides, optionally only those awaiting review and/or of one child."""
    query = select(OverrideRow).order_by(OverrideRow.starts_at)
    if needs_review is not None:
        query = query.where(OverrideRow.needs_review == needs_review)
    if child_id is not None:
        query = query.where(OverrideRow.child_id == child_id)
    return (await session.scalars(query)).all()


async def duties_of(session: AsyncSession, child_id: UUID) -> list[DutyRow]:
    """A child's statutory duties, newest `valid_from` first (held in the record only)."""
    rows = await session.scalars(select(DutyRow).where(DutyRow.child_id == child_id))
    return sorted(
        rows.all(), key=lambda row: datetime.fromisoformat(row.record["valid_from"]), reverse=True
    )


async def refusals_of(session: AsyncSession, child_id: UUID) -> Sequence[RefusalRow]:
    """A child's recorded decisions not to share, newest first."""
    rows = await session.scalars(
        select(RefusalRow)
        .where(RefusalRow.child_id == child_id)
        .order_by(RefusalRow.recorded_at.desc())
    )
    return rows.all()


async def disclosures_of(session: AsyncSession, child_id: UUID) -> Sequence[DisclosureRow]:
    """A child's disclosure log, newest first."""
    rows = await session.scalars(
        select(DisclosureRow)
        .where(DisclosureRow.child_id == child_id)
        .order_by(DisclosureRow.disclosed_at.desc())
    )
    return rows.all()


async def involvement_of(session: AsyncSession, child_id: UUID) -> Involvement:
    """Which agencies have a part in the child (see `record_visibility.Involvement`)."""
    consents = await consents_of(session, child_id)
    duties = await duties_of(session, child_id)
    parties: set[str] = set()
    for record in [row.record for row in consents] + [row.record for row in duties]:
        parties.update(record["owner_agencies"], record["recipient_agencies"])
    recorders = await session.scalars(
        select(DisclosureRow.owner_agency).where(DisclosureRow.child_id == child_id).distinct()
    )
    overrides = await overrides_where(session, needs_review=None, child_id=child_id)
    return Involvement(
        child_id=child_id,
        sharing_parties=frozenset(parties),
        recorders=frozenset(recorders.all()),
        overrides={row.override_id: override_parties(row) for row in overrides},
    )


def override_parties(row: OverrideRow) -> OverrideParties:
    """Who is party to one override, and whether it hides (from its read model row)."""
    return OverrideParties(
        recipient_agencies=frozenset(row.record["recipient_agencies"]),
        recorded_by_agency=row.record["recorded_by_agency"],
        hide_from_family=row.hide_from_family,
        ends_at=row.ends_at,
        ended=row.ended_at is not None,
    )


async def add_disclosure(session: AsyncSession, service: str, event: DisclosureRecorded) -> None:
    """Add one disclosure to the child's log (a repeated disclosure id is kept once)."""
    if await session.get(DisclosureRow, event.disclosure_id) is not None:
        return
    session.add(
        DisclosureRow(
            disclosure_id=event.disclosure_id,
            child_id=event.child_id,
            service=service,
            owner_agency=event.owner_agency,
            recipient_agency=event.recipient_agency,
            recipient=event.recipient,
            data_classes=[dc.value for dc in event.data_classes],
            purpose=event.purpose,
            basis=event.basis,
            reference_id=event.reference_id,
            disclosed_at=event.disclosed_at,
        )
    )


async def project(session: AsyncSession, event: Event, version: int) -> None:
    """Bring the read models up to date with one consent event (`version`: its stream's)."""
    match event:
        case ConsentGiven():
            session.add(
                ConsentRow(
                    consent_id=event.consent_id,
                    child_id=event.child_id,
                    status=ConsentStatus.GIVEN.value,
                    valid_from=event.valid_from,
                    valid_until=event.valid_until,
                    version=version,
                    record=event.model_dump(mode="json"),
                )
            )
        case ConsentWithdrawn() | ConsentExpired():
            await _end_consent(session, event, version)
        case OverrideRecorded():
            session.add(
                OverrideRow(
                    override_id=event.override_id,
                    child_id=event.child_id,
                    needs_review=True,
                    hide_from_family=event.hide_from_family,
                    starts_at=event.starts_at,
                    ends_at=event.ends_at,
                    version=version,
                    record=event.model_dump(mode="json"),
                    reviews=[],
                )
            )
        case OverrideReviewed() | OverrideEnded():
            await _update_override(session, event, version)
        case RefusalRecorded():
            session.add(
                RefusalRow(
                    refusal_id=event.refusal_id,
                    child_id=event.child_id,
                    recorded_at=event.recorded_at,
                    record=event.model_dump(mode="json"),
                )
            )
        case StatutoryDutyRecorded():
            session.add(
                DutyRow(
                    duty_id=event.duty_id,
                    child_id=event.child_id,
                    version=version,
                    record=event.model_dump(mode="json"),
                )
            )
        case StatutoryDutyEnded():
            duty = await _get(session, DutyRow, event.duty_id)
            duty.ended_at = event.ended_at
            duty.version = version


async def _end_consent(
    session: AsyncSession, event: ConsentWithdrawn | ConsentExpired, version: int
) -> None:
    row = await _get(session, ConsentRow, event.consent_id)
    if isinstance(event, ConsentWithdrawn):
        row.status, row.ended_at = ConsentStatus.WITHDRAWN.value, event.withdrawn_at
    else:
        row.status, row.ended_at = ConsentStatus.EXPIRED.value, event.expired_at
    row.version = version


async def _update_override(
    session: AsyncSession, event: OverrideReviewed | OverrideEnded, version: int
) -> None:
    row = await _get(session, OverrideRow, event.override_id)
    if isinstance(event, OverrideReviewed):
        row.needs_review = False
        row.reviews = [*row.reviews, event.model_dump(mode="json")]
    else:
        row.ended_at = event.ended_at
        row.needs_review = False
    row.version = version


async def _get(session: AsyncSession, table: type[R], key: UUID) -> R:
    row = await session.get(table, key)
    if row is None:
        raise LookupError(f"{table.__tablename__} has no row {key}: read model out of step")
    return row


async def project_records(
    session: AsyncSession, state: object, recorded: Sequence[RecordedEvent]
) -> None:
    """The kit's projection of the consent service's records (every aggregate's events)."""
    for item in recorded:
        await project(session, item.event, item.version)


CONSENTS: Aggregate[Any, Any] = Aggregate(CONSENT, project_records)
OVERRIDES: Aggregate[Any, Any] = Aggregate(OVERRIDE, project_records)
DUTIES: Aggregate[Any, Any] = Aggregate(DUTY, project_records)
REFUSALS: Aggregate[Any, Any] = Aggregate(REFUSAL, project_records)
"""The consent service's records: each decider with the read models it keeps in step."""
