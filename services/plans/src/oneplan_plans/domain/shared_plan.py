"""The shared plan, assembled (pure): one plan per child from every agency's lines, filtered
for one reader, with the team around the child and the golden thread checked.

Nothing here reads a database or a clock: the read model hands in the lines, the journey
steps and the lead professional; the consent decision point is a function of (owning agency,
data class). A line or step the decision withholds never reaches the result; the result says
which sections had lines withheld, whose and on what ground, and nothing of their content.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final
from uuid import UUID

from oneplan_events.vocabulary import PlanSection

__all__ = [
    "AGENCY_OF_SERVICE",
    "NEED_SECTIONS",
    "PROVISION_SECTIONS",
    "SECTION_TITLES",
    "Decision",
    "GoldenThread",
    "JourneyStep",
    "LeadProfessional",
    "PlanLine",
    "ReaderView",
    "TeamMember",
    "Withheld",
    "agency_of_service",
    "assemble",
    "golden_thread",
]

SECTION_TITLES: Final[dict[PlanSection, str]] = {
    PlanSection.A: "Views, interests and aspirations",
    PlanSection.B: "Special educational needs",
    PlanSection.C: "Health needs related to the special educational needs",
    PlanSection.D: "Social care needs related to the special educational needs",
    PlanSection.E: "Outcomes",
    PlanSection.F: "Special educational provision",
    PlanSection.G: "Health provision",
    PlanSection.H1: "Social care provision (section 2 of the CSDPA 1970)",
    PlanSection.H2: "Other social care provision",
    PlanSection.I: "Placement",
    PlanSection.J: "Personal budget",
    PlanSection.K: "Advice and information",
}
"""The sections in statutory order (SEND Code of Practice 9.62), with their headings."""

NEED_SECTIONS: Final = frozenset({PlanSection.B, PlanSection.C, PlanSection.D})
OUTCOME_SECTION: Final = PlanSection.E
PROVISION_SECTIONS: Final = frozenset(
    {PlanSection.F, PlanSection.G, PlanSection.H1, PlanSection.H2}
)

AGENCY_OF_SERVICE: Final[dict[str, str]] = {
    "children": "send",
    "plans": "send",
    "referrals": "health",
    "socialcare": "social_care",
    "transport": "transport",
}
"""The agency owning each OnePlan service's records (its journey steps are that agency's
data). An integrator's service is its own agency, named as the service is."""


def agency_of_service(service: str) -> str:
    """The agency whose data a service's events are."""
    return AGENCY_OF_SERVICE.get(service, service)


@dataclass(frozen=True, slots=True)
class PlanLine:
    """One line of the plan (a contribution, a part of the child's story, a section of the
    issued plan), with its provenance."""

    item_id: UUID
    section: PlanSection
    service: str
    agency: str
    data_class: str
    title: str
    content: str
    author: str
    recorded_at: datetime
    source_event_id: str
    revision: int = 1
    outcomes: tuple[str, ...] = ()
    author_role: str | None = None
    author_contact: str | None = None
    effective_on: date | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class JourneyStep:
    """One step of the child's journey in some agency (what happened, never its content)."""

    event_id: str
    occurred_at: datetime
    occurred_on: date
    service: str
    agency: str
    data_class: str
    event_type: str
    label: str
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class LeadProfessional:
    """Who coordinates the team around the child, and how to reach them."""

    name: str
    role: str
    agency: str
    contact: str
    named_on: date
    named_by: str


@dataclass(frozen=True, slots=True)
class TeamMember:
    """A professional involved with the child, from the lines the reader may see."""

    name: str
    agency: str
    role: str | None
    contact: str | None
    lead: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """The consent decision point's answer for one (owning agency, data class)."""

    permitted: bool
    basis: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Withheld:
    """A section (or the timeline) had lines of this agency's data class withheld, and why."""

    section: str
    agency: str
    data_class: str
    reason: str


@dataclass(frozen=True, slots=True)
class GoldenThread:
    """Needs (B, C, D) -> outcomes (E) -> provision (F, G, H1, H2), on the lines shown."""

    needs_without_outcomes: tuple[UUID, ...]
    needs_without_provision: tuple[UUID, ...]
    outcomes_without_provision: tuple[UUID, ...]
    provision_without_need: tuple[UUID, ...]
    unknown_outcome_links: tuple[tuple[UUID, str], ...]

    @property
    def complete(self) -> bool:
        """Every need has an outcome with provision, and every provision meets a need."""
        return not (
            self.needs_without_outcomes
            or self.needs_without_provision
            or self.outcomes_without_provision
            or self.provision_without_need
            or self.unknown_outcome_links
        )


@dataclass(frozen=True)
class ReaderView:
    """The plan as one reader may see it."""

    sections: dict[PlanSection, list[PlanLine]]
    timeline: list[JourneyStep]
    team: list[TeamMember]
    lead_professional: LeadProfessional | None
    thread: GoldenThread
    withheld: list[Withheld]
    released: list[tuple[str, str]] = field(default_factory=list)
    """The (owning agency, data class) pairs of other agencies this view shows."""

    def fingerprint(self, extra: Any = None) -> str:
        """A digest of everything shown: the ETag changes exactly when the view does."""
        payload = {
            "sections": {
                s.value: [_line_key(line) for line in lines] for s, lines in self.sections.items()
            },
            "timeline": [step.event_id for step in self.timeline],
            "lead": None if self.lead_professional is None else repr(self.lead_professional),
            "withheld": [repr(w) for w in self.withheld],
            "extra": extra,
        }
        encoded = json.dumps(payload, sort_keys=True, default=str).encode()
        return hashlib.sha256(encoded).hexdigest()[:32]


def _line_key(line: PlanLine) -> list[str]:
    return [str(line.item_id), line.source_event_id, str(line.revision)]


def assemble(
    lines: Iterable[PlanLine],
    steps: Iterable[JourneyStep],
    lead: LeadProfessional | None,
    decide: Callable[[str, str], Decision],
) -> ReaderView:
    """The plan for the reader whose consent decisions ``decide(agency, data_class)`` gives:
    sections in statutory order, the timeline oldest first, the team, the golden thread."""
    decisions: dict[tuple[str, str], Decision] = {}

    def allowed(agency: str, data_class: str) -> Decision:
        key = (agency, data_class)
        if key not in decisions:
            decisions[key] = decide(agency, data_class)
        return decisions[key]

    sections: dict[PlanSection, list[PlanLine]] = {section: [] for section in SECTION_TITLES}
    withheld: dict[tuple[str, str, str], Withheld] = {}
    released: set[tuple[str, str]] = set()
    for line in lines:
        decision = allowed(line.agency, line.data_class)
        if not decision.permitted:
            key = (line.section.value, line.agency, line.data_class)
            withheld[key] = Withheld(*key, reason=decision.reason or "no permit")
            continue
        sections[line.section].append(line)
        if decision.basis != "own_data":
            released.add((line.agency, line.data_class))
    timeline: list[JourneyStep] = []
    for step in steps:
        decision = allowed(step.agency, step.data_class)
        if not decision.permitted:
            key = ("timeline", step.agency, step.data_class)
            withheld[key] = Withheld(*key, reason=decision.reason or "no permit")
            continue
        timeline.append(step)
        if decision.basis != "own_data":
            released.add((step.agency, step.data_class))
    for section_lines in sections.values():
        section_lines.sort(key=lambda line: (line.recorded_at, str(line.item_id)))
    timeline.sort(key=lambda step: (step.occurred_at, step.event_id))
    shown = [line for section_lines in sections.values() for line in section_lines]
    return ReaderView(
        sections=sections,
        timeline=timeline,
        team=team_around(shown, lead),
        lead_professional=lead,
        thread=golden_thread(shown),
        withheld=sorted(withheld.values(), key=_withheld_order),
        released=sorted(released),
    )


def _withheld_order(item: Withheld) -> tuple[int, str, str]:
    order = [s.value for s in SECTION_TITLES] + ["timeline"]
    return order.index(item.section), item.agency, item.data_class


def team_around(lines: Sequence[PlanLine], lead: LeadProfessional | None) -> list[TeamMember]:
    """Every professional whose lines the reader sees (the family's own words are not a
    professional's), and the lead professional first."""
    members: dict[tuple[str, str], TeamMember] = {}
    for line in lines:
        if line.author_role in ("child", "family") or line.service == "children":
            continue
        key = (line.author, line.agency)
        known = members.get(key)
        members[key] = TeamMember(
            name=line.author,
            agency=line.agency,
            role=line.author_role or (known.role if known else None),
            contact=line.author_contact or (known.contact if known else None),
        )
    team = sorted(members.values(), key=lambda m: (m.agency, m.name))
    if lead is None:
        return team
    others = [m for m in team if (m.name, m.agency) != (lead.name, lead.agency)]
    return [TeamMember(lead.name, lead.agency, lead.role, lead.contact, lead=True), *others]


def golden_thread(lines: Sequence[PlanLine]) -> GoldenThread:
    """Check each need links to an outcome, each outcome has provision, and each provision
    meets an outcome some need links to. A link names an outcome line's id (its
    ``item_id``); a link to an outcome not in the lines is reported."""
    outcomes = {str(line.item_id): line for line in lines if line.section is OUTCOME_SECTION}
    needs = [line for line in lines if line.section in NEED_SECTIONS]
    provision = [line for line in lines if line.section in PROVISION_SECTIONS]
    unknown = tuple(
        (line.item_id, ref)
        for line in [*needs, *provision]
        for ref in line.outcomes
        if ref not in outcomes
    )

    def linked(line: PlanLine) -> set[str]:
        return {ref for ref in line.outcomes if ref in outcomes}

    provided = set().union(*(linked(line) for line in provision)) if provision else set()
    needed = set().union(*(linked(line) for line in needs)) if needs else set()
    return GoldenThread(
        needs_without_outcomes=tuple(n.item_id for n in needs if not linked(n)),
        needs_without_provision=tuple(n.item_id for n in needs if not linked(n) & provided),
        outcomes_without_provision=tuple(
            line.item_id for ref, line in outcomes.items() if ref not in provided
        ),
        provision_without_need=tuple(p.item_id for p in provision if not linked(p) & needed),
        unknown_outcome_links=unknown,
    )
