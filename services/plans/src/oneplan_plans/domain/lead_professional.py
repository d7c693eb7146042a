"""The lead professional of a child as a decider (streams `lead_professional/<child id>`):
named, and named again when someone else takes over; naming the same person again with the
same details is nothing to record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from oneplan_events.catalogue import Event
from oneplan_events.clock import local_date
from oneplan_plans.domain.errors import AlreadyRecorded, Broken, RulesBroken
from oneplan_plans.events import LeadProfessionalNamed

__all__ = ["LEAD_PROFESSIONAL", "Lead", "LeadProfessionalDecider", "NameLeadProfessional"]


@dataclass(frozen=True, slots=True)
class NameLeadProfessional:
    """Name who coordinates the team around the child."""

    child_id: UUID
    name: str
    role: str
    agency: str
    contact: str
    named_on: date
    named_by: str


@dataclass(frozen=True, slots=True)
class Lead:
    """The lead professional after `version` namings."""

    child_id: UUID
    name: str
    role: str
    agency: str
    contact: str
    named_on: date
    named_by: str
    version: int


def decide(state: Lead | None, command: NameLeadProfessional, now: datetime) -> Sequence[Event]:
    """The naming's event; a date in the future, or before the current lead was named, is
    refused; the same person with the same details again is a 409."""
    broken = []
    if command.named_on > local_date(now):
        broken.append(Broken("named_on", "cannot be in the future"))
    if state is not None and command.named_on < state.named_on:
        broken.append(
            Broken("named_on", f"the current lead professional was named on {state.named_on}")
        )
    if broken:
        raise RulesBroken(broken)
    if state is not None and (state.name, state.role, state.agency, state.contact) == (
        command.name,
        command.role,
        command.agency,
        command.contact,
    ):
        raise AlreadyRecorded(f"{command.name} is the lead professional already")
    return [
        LeadProfessionalNamed(
            child_id=command.child_id,
            name=command.name,
            role=command.role,
            agency=command.agency,
            contact=command.contact,
            named_on=command.named_on,
            named_by=command.named_by,
        )
    ]


def evolve(state: Lead | None, event: Event) -> Lead:
    """The lead professional after ``event``."""
    if not isinstance(event, LeadProfessionalNamed):
        raise ValueError(f"{type(event).__name__} is not an event of a lead professional")
    return Lead(
        child_id=event.child_id,
        name=event.name,
        role=event.role,
        agency=event.agency,
        contact=event.contact,
        named_on=event.named_on,
        named_by=event.named_by,
        version=1 if state is None else state.version + 1,
    )


class LeadProfessionalDecider:
    """A child's lead professional for the kit: streams `lead_professional/<child id>`."""

    stream_prefix = "lead_professional"

    def initial_state(self) -> Lead | None:
        return None

    def decide(
        self, state: Lead | None, command: NameLeadProfessional, now: datetime
    ) -> Sequence[Event]:
        return decide(state, command, now)

    def evolve(self, state: Lead | None, event: Event) -> Lead | None:
        return evolve(state, event)


LEAD_PROFESSIONAL = LeadProfessionalDecider()
"""A child's lead professional, as the kit runs it."""
