"""The shared plan over HTTP: what a reader sees, and the lead professional they may name."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from oneplan_events.types import AgencyName, BoundedDate, ShortText
from oneplan_plans.adapters.shared_plan_tables import PlanSourceRow
from oneplan_plans.domain.shared_plan import (
    SECTION_TITLES,
    GoldenThread,
    JourneyStep,
    LeadProfessional,
    PlanLine,
    ReaderView,
    TeamMember,
    Withheld,
)

__all__ = ["LeadProfessionalIn", "LeadProfessionalOut", "SharedPlanOut"]


class ProvenanceOut(BaseModel):
    """Where a line comes from."""

    agency: str
    service: str
    author: str
    author_role: str | None
    author_contact: str | None
    recorded_at: datetime = Field(description="when the line was first contributed")
    updated_at: datetime | None = Field(description="when its shown version was recorded")
    revision: int = Field(description="1 for the first version, counting revisions")
    source_event_id: str = Field(description="the event that recorded the version shown")


class LineOut(BaseModel):
    """One line of a section, with its provenance."""

    item_id: UUID
    title: str
    content: str
    data_class: str
    effective_on: date | None
    outcomes: list[str] = Field(description="the ids of the section E lines it supports")
    provenance: ProvenanceOut

    @classmethod
    def of(cls, line: PlanLine) -> LineOut:
        return cls(
            item_id=line.item_id,
            title=line.title,
            content=line.content,
            data_class=line.data_class,
            effective_on=line.effective_on,
            outcomes=list(line.outcomes),
            provenance=ProvenanceOut(
                agency=line.agency,
                service=line.service,
                author=line.author,
                author_role=line.author_role,
                author_contact=line.author_contact,
                recorded_at=line.recorded_at,
                updated_at=line.updated_at,
                revision=line.revision,
                source_event_id=line.source_event_id,
            ),
        )


class SectionOut(BaseModel):
    """One section of the plan, in statutory order."""

    section: str
    title: str
    lines: list[LineOut]


class StepOut(BaseModel):
    """One step of the child's journey, with whose it was."""

    occurred_on: date
    occurred_at: datetime
    label: str
    agency: str
    service: str
    event_type: str
    actor: str | None
    source_event_id: str

    @classmethod
    def of(cls, step: JourneyStep) -> StepOut:
        return cls(
            occurred_on=step.occurred_on,
            occurred_at=step.occurred_at,
            label=step.label,
            agency=step.agency,
            service=step.service,
            event_type=step.event_type,
            actor=step.actor,
            source_event_id=step.event_id,
        )


class TeamMemberOut(BaseModel):
    """A professional in the team around the child."""

    name: str
    agency: str
    role: str | None
    contact: str | None
    lead: bool

    @classmethod
    def of(cls, member: TeamMember) -> TeamMemberOut:
        return cls(
            name=member.name,
            agency=member.agency,
            role=member.role,
            contact=member.contact,
            lead=member.lead,
        )


class LeadProfessionalOut(BaseModel):
    """Who coordinates the team around the child: whom the family calls."""

    child_id: UUID
    name: str
    role: str
    agency: str
    contact: str
    named_on: date
    named_by: str

    @classmethod
    def of(cls, child_id: UUID, lead: LeadProfessional) -> LeadProfessionalOut:
        return cls(
            child_id=child_id,
            name=lead.name,
            role=lead.role,
            agency=lead.agency,
            contact=lead.contact,
            named_on=lead.named_on,
            named_by=lead.named_by,
        )


class LeadProfessionalIn(BaseModel):
    """Name the lead professional."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText
    role: ShortText
    agency: AgencyName
    contact: ShortText = Field(description="a phone number or email the family can use")
    named_on: BoundedDate


class GoldenThreadOut(BaseModel):
    """Needs (B, C, D) -> outcomes (E) -> provision (F, G, H1, H2), on the lines shown."""

    complete: bool
    needs_without_outcomes: list[UUID]
    needs_without_provision: list[UUID]
    outcomes_without_provision: list[UUID]
    provision_without_need: list[UUID]
    unknown_outcome_links: list[dict[str, str]]

    @classmethod
    def of(cls, thread: GoldenThread) -> GoldenThreadOut:
        return cls(
            complete=thread.complete,
            needs_without_outcomes=list(thread.needs_without_outcomes),
            needs_without_provision=list(thread.needs_without_provision),
            outcomes_without_provision=list(thread.outcomes_without_provision),
            provision_without_need=list(thread.provision_without_need),
            unknown_outcome_links=[
                {"item_id": str(item), "outcome": ref} for item, ref in thread.unknown_outcome_links
            ],
        )


class WithheldOut(BaseModel):
    """A section had lines withheld: whose, of which data class, on what ground (no content)."""

    section: str
    agency: str
    data_class: str
    reason: str

    @classmethod
    def of(cls, item: Withheld) -> WithheldOut:
        return cls(
            section=item.section, agency=item.agency, data_class=item.data_class, reason=item.reason
        )


class SourceOut(BaseModel):
    """How current the plan is from one stream."""

    stream: str
    last_sequence: int
    last_event_at: datetime


class SharedPlanOut(BaseModel):
    """One child's plan, from every agency's events, as this reader may see it."""

    child_id: UUID
    as_of: date | None = Field(description="the day the plan is shown as it stood; None: now")
    purpose: str | None
    sections: list[SectionOut]
    withheld: list[WithheldOut]
    timeline: list[StepOut]
    team: list[TeamMemberOut]
    lead_professional: LeadProfessionalOut | None
    golden_thread: GoldenThreadOut
    sources: list[SourceOut] = Field(
        description="the last stream sequence applied from each contributing stream"
    )

    @classmethod
    def of(
        cls,
        child_id: UUID,
        view: ReaderView,
        *,
        as_of: date | None,
        purpose: str | None,
        sources: list[PlanSourceRow],
    ) -> SharedPlanOut:
        lead = view.lead_professional
        return cls(
            child_id=child_id,
            as_of=as_of,
            purpose=purpose,
            sections=[
                SectionOut(
                    section=section.value,
                    title=SECTION_TITLES[section],
                    lines=[LineOut.of(line) for line in lines],
                )
                for section, lines in view.sections.items()
            ],
            withheld=[WithheldOut.of(item) for item in view.withheld],
            timeline=[StepOut.of(step) for step in view.timeline],
            team=[TeamMemberOut.of(member) for member in view.team],
            lead_professional=None if lead is None else LeadProfessionalOut.of(child_id, lead),
            golden_thread=GoldenThreadOut.of(view.thread),
            sources=[
                SourceOut(
                    stream=row.stream,
                    last_sequence=row.last_sequence,
                    last_event_at=row.last_event_at,
                )
                for row in sources
            ],
        )
