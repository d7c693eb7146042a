"""The children's read models: queries, and the projection the kit runs after each command.

The record is loaded from its event stream by the kit (`CHILDREN`, the decider and its
projection); the read models are updated from the events a command appends, in the same
transaction (`project_child`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from oneplan_children.adapters.tables import ChildIdentifiers, ChildSummary
from oneplan_children.domain.commands import Command
from oneplan_children.domain.model import CHILD, Child
from oneplan_children.events import (
    ChildRegistered,
    DetailsChanged,
    RecordsMerged,
    StoryRevised,
)
from oneplan_events.decider import Aggregate
from oneplan_events.store import RecordedEvent

__all__ = [
    "CHILDREN",
    "IdentifierMatch",
    "ReadModels",
    "project_child",
    "story_as_of",
]


@dataclass(frozen=True)
class IdentifierMatch:
    """An existing live record holding one of the identifiers asked about."""

    child_id: UUID
    field: str


class ReadModels:
    """The summary and identifier tables, through the unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def identifier_matches(
        self, nhs_number: str | None, upn: str | None, *, excluding: UUID | None = None
    ) -> list[IdentifierMatch]:
        """Live records that already hold `nhs_number` or `upn`."""
        matches: list[IdentifierMatch] = []
        for field, value in (("nhs_number", nhs_number), ("upn", upn)):
            if value is None:
                continue
            column = getattr(ChildIdentifiers, field)
            found = await self._session.scalar(
                select(ChildIdentifiers.child_id).where(column == value)
            )
            if found is not None and found != excluding:
                matches.append(IdentifierMatch(found, field))
        return matches

    async def possible_matches(
        self, given_name: str, family_name: str, date_of_birth: date
    ) -> list[UUID]:
        """Live records with the same names (ignoring case) and date of birth."""
        rows = await self._session.scalars(
            select(ChildSummary.child_id).where(
                ChildSummary.family_name_key == family_name.casefold(),
                ChildSummary.given_name_key == given_name.casefold(),
                ChildSummary.date_of_birth == date_of_birth,
                ChildSummary.merged_into.is_(None),
            )
        )
        return list(rows)

    async def search(
        self,
        *,
        nhs_number: str | None = None,
        upn: str | None = None,
        family_name: str | None = None,
        date_of_birth: date | None = None,
        limit: int = 50,
    ) -> Sequence[ChildSummary]:
        """Live records matching every criterion given."""
        query = select(ChildSummary).where(ChildSummary.merged_into.is_(None))
        if nhs_number is not None:
            query = query.where(ChildSummary.nhs_number == nhs_number)
        if upn is not None:
            query = query.where(ChildSummary.upn == upn)
        if family_name is not None:
            query = query.where(ChildSummary.family_name_key == family_name.casefold())
        if date_of_birth is not None:
            query = query.where(ChildSummary.date_of_birth == date_of_birth)
        query = query.order_by(ChildSummary.family_name_key, ChildSummary.child_id).limit(limit)
        return (await self._session.scalars(query)).all()

    async def project(self, state: Child, events: Sequence[object], at: datetime) -> None:
        """Bring the read models to `state`, the record after `events` (recorded `at`)."""
        if any(isinstance(event, ChildRegistered) for event in events):
            self._session.add(self._summary(state, at))
            self._session.add(
                ChildIdentifiers(
                    child_id=state.child_id,
                    nhs_number=state.details.nhs_number,
                    upn=state.details.upn,
                )
            )
        else:
            await self._update_summary(state, at)
        if any(isinstance(event, DetailsChanged) for event in events):
            await self._session.execute(
                update(ChildIdentifiers)
                .where(ChildIdentifiers.child_id == state.child_id)
                .values(nhs_number=state.details.nhs_number, upn=state.details.upn)
            )
        if any(isinstance(event, RecordsMerged) for event in events):
            await self._session.execute(
                delete(ChildIdentifiers).where(ChildIdentifiers.child_id == state.child_id)
            )
        # Why flush here: a UNIQUE violation must surface inside the command, as a 409,
        # before anything is committed.
        await self._session.flush()

    def _summary(self, state: Child, at: datetime) -> ChildSummary:
        return ChildSummary(child_id=state.child_id, **self._summary_values(state, at))

    async def _update_summary(self, state: Child, at: datetime) -> None:
        await self._session.execute(
            update(ChildSummary)
            .where(ChildSummary.child_id == state.child_id)
            .values(**self._summary_values(state, at))
        )

    @staticmethod
    def _summary_values(state: Child, at: datetime) -> dict[str, object]:
        details = state.details
        return {
            "version": state.version,
            "given_name": details.given_name,
            "family_name": details.family_name,
            "family_name_key": details.family_name.casefold(),
            "given_name_key": details.given_name.casefold(),
            "date_of_birth": details.date_of_birth,
            "nhs_number": details.nhs_number,
            "upn": details.upn,
            "merged_into": state.merged_into,
            "updated_at": at,
        }


def story_as_of(recorded: Sequence[RecordedEvent], as_of: datetime) -> StoryRevised | None:
    """The last story revision recorded at or before `as_of`."""
    revisions = [
        item.event
        for item in recorded
        if isinstance(item.event, StoryRevised) and item.envelope.time <= as_of
    ]
    return revisions[-1] if revisions else None


async def project_child(
    session: AsyncSession, state: Child | None, recorded: Sequence[RecordedEvent]
) -> None:
    """The kit's projection of a child's new events (in the command's transaction)."""
    assert state is not None  # a child's events always leave a record
    events = [item.event for item in recorded]
    await ReadModels(session).project(state, events, recorded[-1].envelope.time)


CHILDREN: Aggregate[Child | None, Command] = Aggregate(CHILD, project_child)
"""Children's records: the decider and the read models it keeps in step."""
