"""What fills the shared plan: every agency's contributions (from every stream, including
agencies added later), the sections of each issued plan and the child's own story, and the
steps of the child's journey in the plans, referrals and transport streams."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any, Final
from uuid import UUID, uuid5

from oneplan_events.catalogue import (
    ContributionRevised,
    ContributionSubmitted,
    ContributionWithdrawn,
    Event,
    ForeignEvent,
)
from oneplan_events.reactions import Delivery, Reactions, Unapplicable, matches
from oneplan_events.vocabulary import DataClass, PlanSection
from oneplan_kit import EVERY_SERVICE, Subscription
from oneplan_plans.adapters import shared_plan_store as store
from oneplan_plans.adapters.shared_plan_store import LineWrite, Provenance
from oneplan_plans.domain.shared_plan import (
    SECTION_TITLES,
    JourneyStep,
    LeadProfessional,
    agency_of_service,
)
from oneplan_plans.events import (
    CATALOGUE,
    AdviceReceived,
    AdviceRequested,
    AdviceReused,
    AssessmentAgreed,
    AssessmentCompleted,
    AssessmentDeclined,
    AssessmentRequested,
    DraftCommented,
    DraftIssued,
    LeadProfessionalNamed,
    PlanAmended,
    PlanDeclined,
    PlanIssued,
    ReviewRecorded,
)

__all__ = [
    "CONTRIBUTIONS",
    "JOURNEY_LABELS",
    "PLANS_JOURNEY",
    "REFERRALS_APPOINTMENTS",
    "REFERRALS_JOURNEY",
    "TRANSPORT_JOURNEY",
    "story_lines",
]

_log = logging.getLogger(__name__)

# The agencies a OnePlan service contributes for; an integrator's service is its own agency.
_AGENCIES_OF_SERVICE: Final[dict[str, frozenset[str]]] = {
    "children": frozenset({"send"}),
    "plans": frozenset({"send", "school"}),
    "referrals": frozenset({"health"}),
    "socialcare": frozenset({"social_care"}),
    "transport": frozenset({"transport"}),
}

JOURNEY_LABELS: Final[dict[str, str]] = {
    "oneplan.plans.assessment.requested": "EHC needs assessment requested",
    "oneplan.plans.assessment.agreed": "Decided to carry out an EHC needs assessment",
    "oneplan.plans.assessment.declined": "Decided not to carry out an EHC needs assessment",
    "oneplan.plans.advice.requested": "Advice requested",
    "oneplan.plans.advice.reused": "Advice already given reused",
    "oneplan.plans.advice.received": "Advice received",
    "oneplan.plans.assessment.plan_declined": "Decided not to issue an EHC plan",
    "oneplan.plans.draft.issued": "Draft EHC plan sent to the family",
    "oneplan.plans.draft.commented": "The family commented on the draft plan",
    "oneplan.plans.plan.issued": "Final EHC plan issued",
    "oneplan.plans.plan.amended": "EHC plan amended",
    "oneplan.plans.review.recorded": "EHC plan reviewed",
    "oneplan.plans.lead_professional.named": "Lead professional named",
    "oneplan.referrals.referral.received": "Referred to a health service",
    "oneplan.referrals.referral.accepted": "Health referral accepted",
    "oneplan.referrals.referral.redirected": "Health referral passed to another service",
    "oneplan.referrals.referral.declined": "Health referral declined, with signposting",
    "oneplan.referrals.appointment.attended": "Attended a health appointment",
    "oneplan.referrals.referral.discharged": "Discharged from a health service",
    "oneplan.transport.case.opened": "Transport case opened",
    "oneplan.transport.eligibility.decided": "Transport eligibility decided",
    "oneplan.transport.review.requested": "The family asked for a review of transport",
    "oneplan.transport.risk_assessment.recorded": "Travel risk assessment recorded",
    "oneplan.transport.arrangement.made": "Transport arranged",
    "oneplan.transport.arrangement.changed": "Transport arrangement changed",
    "oneplan.transport.arrangement.cancelled": "Transport arrangement cancelled",
    "oneplan.transport.travel_training.concluded": "Independent travel training ended",
}
"""The journey steps on the timeline: what happened, in words, never its content."""

# The field holding the day a step happened, and who did it, in the plans' own events.
_DAY_FIELDS: Final = (
    "reused_on",
    "received_on",
    "decided_on",
    "requested_on",
    "issued_on",
    "completed_on",
    "amended_on",
    "named_on",
    "submitted_on",
    "meeting_on",
)
_ACTOR_FIELDS: Final = ("recorded_by", "decided_by", "requested_by_user", "issued_by", "named_by")


def _service_of(delivery: Delivery) -> str:
    """The publishing service: the second token of ``oneplan.<service>.<entity>.<verb>``."""
    return delivery.envelope.type.split(".")[1]


def _source(delivery: Delivery) -> Provenance:
    envelope = delivery.envelope
    return Provenance(
        event_id=envelope.id,
        stream=delivery.stream or _service_of(delivery).upper(),
        sequence=delivery.sequence or 0,
        at=envelope.time,
    )


# -- contributions, from every stream ------------------------------------------------------

contributions = Reactions()


def _check_agency(service: str, agency: str) -> None:
    allowed = _AGENCIES_OF_SERVICE.get(service, frozenset({service}))
    if agency not in allowed:
        raise Unapplicable(
            f"the {service} service contributes for {', '.join(sorted(allowed))}, not for {agency}"
        )


@contributions.handles(ContributionSubmitted, ContributionRevised)
async def when_contribution_submitted_or_revised_put_it_in_the_plan(
    event: Any, delivery: Delivery
) -> None:
    """A new line, or a new version of its author's line (never of a withdrawn one)."""
    service = _service_of(delivery)
    _check_agency(service, event.agency)
    write = LineWrite(
        item_id=event.contribution_id,
        child_id=event.child_id,
        section=event.section,
        service=service,
        agency=event.agency,
        data_class=event.data_class.value,
        author=event.author,
        title=event.title,
        content=event.content,
        outcomes=tuple(event.outcomes),
        author_role=event.author_role,
        author_contact=event.author_contact,
        effective_on=event.effective_on,
        revision=isinstance(event, ContributionRevised),
    )
    await store.put_line(delivery.session, write, _source(delivery))


@contributions.handles(ContributionWithdrawn)
async def when_contribution_withdrawn_take_it_out_of_the_plan(
    event: ContributionWithdrawn, delivery: Delivery
) -> None:
    """The line leaves the plan (its versions stay, for the plan as it stood)."""
    service = _service_of(delivery)
    _check_agency(service, event.agency)
    write = LineWrite(
        item_id=event.contribution_id,
        child_id=event.child_id,
        section=event.section,
        service=service,
        agency=event.agency,
        data_class=event.data_class.value,
        author=event.author,
        withdrawn=True,
        revision=True,
    )
    await store.put_line(delivery.session, write, _source(delivery))


CONTRIBUTIONS = Subscription(
    "contributions",
    reads=EVERY_SERVICE,
    types="contribution.*",
    reactions=contributions,
    parked_loses="a contribution to the shared plan: the plan lacks that line",
)


# -- the child's story (section A), from the children stream --------------------------------

_STORY_TITLES: Final = {
    "like_and_admire": "What people like and admire about me",
    "important_now": "What is important to me now",
    "important_future": "What is important to me for the future",
    "communication": "How I communicate and how best to communicate with me",
    "what_helps": "What helps me",
    "what_does_not_help": "What does not help me",
    "history": "My history",
    "aspirations": "My aspirations",
}


def story_item_id(child_id: UUID, part: str) -> UUID:
    """The line of one part of a child's story (stable across revisions)."""
    return uuid5(child_id, f"story:{part}")


def story_lines(child_id: UUID, story: dict[str, Any]) -> list[LineWrite]:
    """Section A lines from the child's story: each part in the teller's words, with who told
    it; a part the story no longer has is withdrawn."""
    writes = []
    for part, title in _STORY_TITLES.items():
        told = story.get(part)
        if not told:
            writes.append(_story_line(child_id, part, title, withdrawn=True))
            continue
        author = told.get("author") or {}
        if part == "history":
            content = "\n".join(
                f"{entry.get('occurred_on')}: {entry.get('what')}"
                for entry in told.get("entries", [])
            )
        else:
            content = str(told.get("text", ""))
        writes.append(
            _story_line(
                child_id,
                part,
                title,
                content=content,
                author=str(author.get("name") or "unknown"),
                author_role=author.get("role"),
                effective_on=_date(told.get("told_on")),
            )
        )
    return writes


def _story_line(
    child_id: UUID,
    part: str,
    title: str,
    *,
    content: str = "",
    author: str = "the child's story",
    author_role: str | None = None,
    effective_on: date | None = None,
    withdrawn: bool = False,
) -> LineWrite:
    return LineWrite(
        item_id=story_item_id(child_id, part),
        child_id=child_id,
        section=PlanSection.A,
        service="children",
        agency=agency_of_service("children"),
        data_class=DataClass.STORY.value,
        author=author,
        title=title,
        content=content,
        author_role=author_role,
        effective_on=effective_on,
        withdrawn=withdrawn,
    )


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


async def put_story(child_id: UUID, story: dict[str, Any], delivery: Delivery) -> None:
    """Section A of the shared plan from the child's story (called by the child facts
    reaction, which reads the children stream)."""
    source = _source(delivery)
    for write in story_lines(child_id, story):
        # A part never told needs no withdrawal line.
        if write.withdrawn and not await store.line_known(delivery.session, write.item_id):
            continue
        await store.put_line(delivery.session, write, source)


# -- the journey, and the sections of issued plans, from the plans stream -------------------

plans_journey = Reactions()


def _step(event: Event, delivery: Delivery, label: str | None = None) -> JourneyStep:
    envelope = delivery.envelope
    service = _service_of(delivery)
    day = next(
        (
            getattr(event, name)
            for name in _DAY_FIELDS
            if isinstance(getattr(event, name, None), date)
        ),
        envelope.time.date(),
    )
    actor = next((getattr(event, n) for n in _ACTOR_FIELDS if getattr(event, n, None)), None)
    return JourneyStep(
        event_id=envelope.id,
        occurred_at=envelope.time,
        occurred_on=day,
        service=service,
        agency=agency_of_service(service),
        data_class=envelope.dataclass or event.data_class or DataClass.EDUCATION.value,
        event_type=envelope.type,
        label=label or JOURNEY_LABELS.get(envelope.type, envelope.type),
        actor=actor if isinstance(actor, str) else None,
    )


@plans_journey.handles(AssessmentRequested)
async def when_assessment_requested_keep_the_childs_words(
    event: AssessmentRequested, delivery: Delivery
) -> None:
    """The request is a step of the journey; what the child said about it, in their words
    and with who helped them say it, is a line of section A."""
    source = _source(delivery)
    await store.put_step(delivery.session, _step(event, delivery), event.child_id, source)
    if not event.child_views:
        return
    helped = f", helped by {event.views_helped_by}" if event.views_helped_by else ""
    write = LineWrite(
        item_id=uuid5(event.assessment_id, "child_views"),
        child_id=event.child_id,
        section=PlanSection.A,
        service="plans",
        agency="send",
        data_class=DataClass.EDUCATION.value,
        author=f"the child or young person{helped}",
        title="What I said about my EHC needs assessment",
        content=event.child_views,
        author_role="child",
        effective_on=event.received_on,
    )
    await store.put_line(delivery.session, write, source)


@plans_journey.handles(
    AssessmentAgreed,
    AssessmentDeclined,
    AdviceReused,
    AdviceReceived,
    PlanDeclined,
    DraftIssued,
    DraftCommented,
    PlanIssued,
    PlanAmended,
    ReviewRecorded,
)
async def when_plans_step_recorded_add_it_to_the_timeline(event: Any, delivery: Delivery) -> None:
    """The EHC process's steps, on the child's timeline."""
    await store.put_step(
        delivery.session, _step(event, delivery), event.child_id, _source(delivery)
    )


@plans_journey.handles(AdviceRequested)
async def when_advice_requested_add_it_to_the_timeline(
    event: AdviceRequested, delivery: Delivery
) -> None:
    """Advice asked of an agency, naming the agency."""
    label = f"Advice requested from {event.agency}"
    await store.put_step(
        delivery.session, _step(event, delivery, label), event.child_id, _source(delivery)
    )


@plans_journey.handles(AssessmentCompleted)
async def when_plan_completed_put_its_sections_in_the_plan(
    event: AssessmentCompleted, delivery: Delivery
) -> None:
    """The issued plan's own sections are lines of the SEND team's; its needs (B) and
    provision (F) link to its outcomes (E), as the plan was written as a whole."""
    source = _source(delivery)
    outcome_id = plan_section_item_id(event.plan_id, PlanSection.E)
    has_outcomes = PlanSection.E in event.sections
    for section, text in event.sections.items():
        links = (
            (str(outcome_id),) if has_outcomes and section in (PlanSection.B, PlanSection.F) else ()
        )
        write = LineWrite(
            item_id=plan_section_item_id(event.plan_id, section),
            child_id=event.child_id,
            section=section,
            service="plans",
            agency="send",
            data_class=DataClass.EDUCATION.value,
            author=event.issued_by,
            title=f"{SECTION_TITLES[section]} (EHC plan, final)",
            content=text,
            outcomes=links,
            author_role="SEND casework",
            effective_on=event.completed_on,
        )
        await store.put_line(delivery.session, write, source)
    await store.put_step(
        delivery.session,
        _step(event, delivery, "EHC needs assessment completed"),
        event.child_id,
        source,
    )


def plan_section_item_id(plan_id: UUID, section: PlanSection) -> UUID:
    """The line of one section of an issued plan."""
    return uuid5(plan_id, f"section:{section.value}")


@plans_journey.handles(LeadProfessionalNamed)
async def when_lead_professional_named_show_them(
    event: LeadProfessionalNamed, delivery: Delivery
) -> None:
    """Whom the family calls: in the plan's team, and on the timeline."""
    source = _source(delivery)
    lead = LeadProfessional(
        event.name, event.role, event.agency, event.contact, event.named_on, event.named_by
    )
    await store.put_lead_professional(delivery.session, event.child_id, lead, source)
    label = f"Lead professional named: {event.name} ({event.role}, {event.agency})"
    await store.put_step(delivery.session, _step(event, delivery, label), event.child_id, source)


PLANS_JOURNEY = Subscription(
    "plans_journey",
    reads="plans",
    reactions=plans_journey,
    parked_loses="a step of the EHC process on the shared plan's timeline",
)


# -- the journey in other agencies' streams --------------------------------------------------


class JourneyFact(ForeignEvent):
    """What the timeline needs of another agency's event: whose child it is."""

    child_id: UUID


def _journey_reader(event_type: str, data_class: DataClass) -> type[JourneyFact]:
    name = "".join(p.title() for p in event_type.split(".")[1:]).replace("_", "") + "Step"
    model = type(
        name, (JourneyFact,), {"__module__": __name__, "__doc__": JOURNEY_LABELS[event_type]}
    )
    CATALOGUE.reads(event_type, data_class)(model)
    return model


async def when_agency_step_recorded_add_it_to_the_timeline(
    event: JourneyFact, delivery: Delivery
) -> None:
    """Another agency's step, on the child's timeline (what happened, not its content)."""
    await store.put_step(
        delivery.session, _step(event, delivery), event.child_id, _source(delivery)
    )


def _journey(
    name: str, service: str, data_class: DataClass, types: str | None = None
) -> Subscription:
    """The journey steps of ``service`` (only ``types`` of them: a health stream's consumer
    is granted exactly the types it handles, never the clinical ones)."""
    reactions = Reactions()
    wanted = f"oneplan.{service}.{types or '*.*'}"
    readers = [
        _journey_reader(event_type, data_class)
        for event_type in JOURNEY_LABELS
        if matches(wanted, event_type)
    ]
    reactions.handles(*readers)(when_agency_step_recorded_add_it_to_the_timeline)
    return Subscription(
        name,
        reads=service,
        types=types,
        reactions=reactions,
        parked_loses=f"a step of the child's journey in {service} on the shared plan's timeline",
    )


REFERRALS_JOURNEY = _journey("referrals_journey", "referrals", DataClass.HEALTH, "referral.*")
REFERRALS_APPOINTMENTS = _journey(
    "referrals_appointments", "referrals", DataClass.HEALTH, "appointment.attended"
)
TRANSPORT_JOURNEY = _journey("transport_journey", "transport", DataClass.TRANSPORT)
