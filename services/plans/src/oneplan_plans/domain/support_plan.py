"""A SEN support plan as a decider (streams `support_plan/<plan id>`): opened by a school or
setting, then assess-plan-do-review cycles until it steps down, closes, or asks for an EHC
needs assessment.

Pure: the instant is an argument; the matrix comes in the command (the handler loads it),
and each cycle is checked against the version in force on the cycle's own date. The plan's
content is also the school's contribution to the shared plan: every decision ends with the
`contribution.submitted|revised|withdrawn` events that bring sections B (needs), E
(outcomes) and F (provision) to the plan's current cycle (`contributions_between`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import assert_never
from uuid import UUID, uuid5

from oneplan_events.catalogue import (
    ContributionRevised,
    ContributionSubmitted,
    ContributionWithdrawn,
    Event,
)
from oneplan_events.clock import local_date
from oneplan_events.vocabulary import PlanSection
from oneplan_plans.domain.errors import (
    AlreadyRecorded,
    Broken,
    NotPermitted,
    NotRecorded,
    RulesBroken,
    StepOutOfOrder,
)
from oneplan_plans.domain.provision_matrix import Matrix, MatrixVersion
from oneplan_plans.domain.support_commands import (
    CloseSupportPlan,
    LineIn,
    OpenSupportPlan,
    PlanProvision,
    RecordDelivery,
    ReviewCycle,
    StartCycle,
    SupportCommand,
)
from oneplan_plans.domain.support_vocabulary import (
    CloseReason,
    ProgressStatus,
    ReviewDecision,
)
from oneplan_plans.events import (
    CONTRIBUTIONS,
    DATA_CLASS,
    Need,
    OutcomeDefinition,
    OutcomeProgressRecorded,
    ProvisionDeliveryRecorded,
    ProvisionLine,
    ProvisionPlanned,
    SupportCycleStarted,
    SupportHistory,
    SupportHistoryCycle,
    SupportHistoryOutcome,
    SupportHistoryProgress,
    SupportHistoryProvision,
    SupportPlanClosed,
    SupportPlanOpened,
    SupportPlanReviewed,
    SupportSetting,
)

__all__ = [
    "SUPPORT_PLAN",
    "Contribution",
    "Cycle",
    "Delivery",
    "PlannedLine",
    "Progress",
    "SupportPlan",
    "SupportPlanDecider",
    "TrackedOutcome",
    "contribution_id",
    "contributions_between",
    "current_contributions",
    "history",
]

MAX_CYCLE_ITEMS = 30
"""Needs, outcomes or provision lines in one cycle: a plan a family can read."""


@dataclass(frozen=True, slots=True)
class Delivery:
    recorded_on: date
    delivered_as_planned: bool
    note: str | None = None


@dataclass(frozen=True, slots=True)
class PlannedLine:
    line: ProvisionLine
    deliveries: tuple[Delivery, ...] = ()

    @property
    def delivered_as_planned(self) -> bool | None:
        """The latest record (None: nothing recorded yet)."""
        return self.deliveries[-1].delivered_as_planned if self.deliveries else None


@dataclass(frozen=True, slots=True)
class Progress:
    status: ProgressStatus
    evidence: str
    recorded_on: date
    cycle: int | None = None


@dataclass(frozen=True, slots=True)
class TrackedOutcome:
    outcome_id: UUID
    description: str
    need_ids: tuple[UUID, ...]
    progress: tuple[Progress, ...] = ()


@dataclass(frozen=True, slots=True)
class Cycle:
    number: int
    starts_on: date
    matrix_version: int
    needs: tuple[Need, ...]
    outcome_ids: tuple[UUID, ...]
    child_views: str | None = None
    child_views_helped_by: str | None = None
    family_views: str | None = None
    family_views_given_by: str | None = None
    lines: tuple[PlannedLine, ...] = ()
    reviewed_on: date | None = None
    decision: ReviewDecision | None = None
    reasons: str | None = None
    assessment_id: UUID | None = None

    def line(self, line_id: UUID) -> PlannedLine | None:
        return next((p for p in self.lines if p.line.line_id == line_id), None)


@dataclass(frozen=True, slots=True)
class SupportPlan:
    """A SEN support plan after `version` events."""

    plan_id: UUID
    child_id: UUID
    plan_type: str
    setting: SupportSetting
    opened_on: date
    opened_by_agency: str
    version: int
    cycles: tuple[Cycle, ...] = ()
    outcomes: tuple[TrackedOutcome, ...] = ()
    closed_on: date | None = None
    close_reason: CloseReason | None = None
    ehc_assessment_id: UUID | None = None

    @property
    def open(self) -> bool:
        return self.closed_on is None

    @property
    def current(self) -> Cycle | None:
        return self.cycles[-1] if self.cycles else None

    def outcome(self, outcome_id: UUID) -> TrackedOutcome | None:
        return next((o for o in self.outcomes if o.outcome_id == outcome_id), None)

    def known_need(self, need_id: UUID) -> bool:
        return any(n.need_id == need_id for c in self.cycles for n in c.needs)


# -- rules ---------------------------------------------------------------------------------


def _not_future(broken: list[Broken], field: str, day: date, today: date) -> None:
    if day > today:
        broken.append(Broken(field, f"is in the future (today is {today.isoformat()})"))


def _refuse(broken: list[Broken]) -> None:
    if broken:
        raise RulesBroken(broken)


def _open_plan(state: SupportPlan | None, step: str, by_agency: str) -> SupportPlan:
    if state is None:
        raise NotRecorded("no such SEN support plan")
    if by_agency != state.opened_by_agency:
        raise NotPermitted(
            f"SEN support plan {state.plan_id} is run by agency {state.opened_by_agency}"
        )
    if not state.open:
        assert state.closed_on is not None
        assert state.close_reason is not None
        raise StepOutOfOrder(
            f"{step} needs an open plan; SEN support plan {state.plan_id} closed on "
            f"{state.closed_on.isoformat()} ({state.close_reason.value})"
        )
    return state


def _running_cycle(plan: SupportPlan, step: str) -> Cycle:
    cycle = plan.current
    if cycle is None:
        raise StepOutOfOrder(f"{step} needs a cycle; the plan has none yet")
    if cycle.reviewed_on is not None:
        raise StepOutOfOrder(
            f"{step} needs a cycle under way; cycle {cycle.number} was reviewed on "
            f"{cycle.reviewed_on.isoformat()} (start the next one)"
        )
    return cycle


def _version_for(
    broken: list[Broken], matrix: Matrix, on: date, field: str
) -> MatrixVersion | None:
    version = matrix.in_force(on)
    if version is None:
        first = matrix.versions[0].effective_from.isoformat() if matrix.versions else None
        why = f"the first is in force from {first}" if first else "none is published"
        broken.append(
            Broken(field, f"no SEND Provision Matrix version is in force on {on} ({why})")
        )
    return version


def _line(
    broken: list[Broken],
    field: str,
    given: LineIn,
    version: MatrixVersion,
    cycle_starts_on: date,
    outcome_ids: Sequence[UUID],
    today: date,
) -> ProvisionLine | None:
    entry = version.entry(given.entry_id)
    if entry is None:
        broken.append(
            Broken(
                f"{field}.entry_id",
                f"{given.entry_id} is not an entry of SEND Provision Matrix version "
                f"{version.version} (in force from {version.effective_from.isoformat()}, the "
                f"version for a cycle starting {cycle_starts_on.isoformat()})",
            )
        )
    elif given.tier is not None and given.tier is not entry.tier:
        broken.append(
            Broken(
                f"{field}.tier", f"entry {entry.entry_id} is {entry.tier.value}, not {given.tier}"
            )
        )
    if given.starts_on < cycle_starts_on:
        broken.append(
            Broken(f"{field}.starts_on", f"is before the cycle started ({cycle_starts_on})")
        )
    _not_future(broken, f"{field}.starts_on", given.starts_on, today)
    if given.ends_on is not None and given.ends_on < given.starts_on:
        broken.append(Broken(f"{field}.ends_on", "is before starts_on"))
    for index, outcome_id in enumerate(given.outcome_ids):
        if outcome_id not in outcome_ids:
            broken.append(
                Broken(
                    f"{field}.outcome_ids.{index}",
                    f"{outcome_id} is not an outcome of this cycle",
                )
            )
    if entry is None:
        return None
    return ProvisionLine(
        line_id=given.line_id,
        entry_id=entry.entry_id,
        entry_description=entry.description,
        area=entry.area,
        tier=entry.tier,
        provider=given.provider or entry.typical_provider,
        frequency=given.frequency or entry.frequency,
        duration=given.duration,
        starts_on=given.starts_on,
        ends_on=given.ends_on,
        cost_pence=given.cost_pence,
        outcome_ids=tuple(dict.fromkeys(given.outcome_ids)),
    )


# -- decide --------------------------------------------------------------------------------


def decide(state: SupportPlan | None, command: SupportCommand, now: datetime) -> Sequence[Event]:
    """The events that carry out `command`, then the contributions they change."""
    today = local_date(now)
    match command:
        case OpenSupportPlan():
            events = _open(state, command, today)
            author = command.opened_by
        case StartCycle():
            events = _start(state, command, today)
            author = command.recorded_by
        case PlanProvision():
            events = _plan_provision(state, command, today)
            author = command.recorded_by
        case RecordDelivery():
            events = _delivery(state, command, today)
            author = command.recorded_by
        case ReviewCycle():
            events = _review(state, command, today)
            author = command.recorded_by
        case CloseSupportPlan():
            events = _close(state, command, today)
            author = command.recorded_by
        case _:
            assert_never(command)
    after = state
    for event in events:
        after = evolve(after, event)
    assert after is not None
    return [*events, *contributions_between(state, after, author)]


def _open(state: SupportPlan | None, c: OpenSupportPlan, today: date) -> list[Event]:
    if state is not None:
        raise AlreadyRecorded(f"SEN support plan {c.plan_id} is recorded already")
    broken: list[Broken] = []
    _not_future(broken, "opened_on", c.opened_on, today)
    _refuse(broken)
    return [
        SupportPlanOpened(
            plan_id=c.plan_id,
            child_id=c.child_id,
            plan_type=c.plan_type,
            setting=c.setting,
            opened_on=c.opened_on,
            opened_by=c.opened_by,
            opened_by_agency=c.opened_by_agency,
        )
    ]


def _start(state: SupportPlan | None, c: StartCycle, today: date) -> list[Event]:
    plan = _open_plan(state, "a new cycle", c.by_agency)
    last = plan.current
    if last is not None and last.reviewed_on is None:
        raise StepOutOfOrder(
            f"cycle {last.number} (from {last.starts_on.isoformat()}) is not reviewed yet"
        )
    broken: list[Broken] = []
    if c.starts_on < plan.opened_on:
        broken.append(
            Broken("starts_on", f"is before the plan opened ({plan.opened_on.isoformat()})")
        )
    if last is not None and last.reviewed_on is not None and c.starts_on < last.reviewed_on:
        broken.append(
            Broken(
                "starts_on",
                f"is before cycle {last.number}'s review ({last.reviewed_on.isoformat()})",
            )
        )
    _not_future(broken, "starts_on", c.starts_on, today)
    for field, items in (("needs", c.needs), ("outcomes", c.outcomes), ("provision", c.lines)):
        if len(items) > MAX_CYCLE_ITEMS:
            broken.append(Broken(field, f"at most {MAX_CYCLE_ITEMS} in one cycle"))
    need_ids = [n.need_id for n in c.needs]
    outcome_ids = [o.outcome_id for o in c.outcomes]
    for index, need in enumerate(c.needs):
        if need_ids.count(need.need_id) > 1:
            broken.append(Broken(f"needs.{index}.need_id", "is repeated"))
    for index, outcome in enumerate(c.outcomes):
        if outcome_ids.count(outcome.outcome_id) > 1:
            broken.append(Broken(f"outcomes.{index}.outcome_id", "is repeated"))
        for n, need_id in enumerate(outcome.need_ids):
            if need_id not in need_ids:
                broken.append(
                    Broken(
                        f"outcomes.{index}.need_ids.{n}", f"{need_id} is not a need of this cycle"
                    )
                )
    version = _version_for(broken, c.matrix, c.starts_on, "starts_on")
    lines = [
        _line(broken, f"provision.{i}", given, version, c.starts_on, outcome_ids, today)
        for i, given in enumerate(c.lines)
        if version is not None
    ]
    _refuse(broken)
    assert version is not None
    number = len(plan.cycles) + 1
    started = SupportCycleStarted(
        plan_id=plan.plan_id,
        child_id=plan.child_id,
        cycle=number,
        starts_on=c.starts_on,
        matrix_version=version.version,
        needs=tuple(
            Need(
                need_id=n.need_id,
                area=n.area,
                description=n.description,
                expected_tier=n.expected_tier,
            )
            for n in c.needs
        ),
        outcomes=tuple(
            OutcomeDefinition(
                outcome_id=o.outcome_id,
                description=o.description,
                need_ids=tuple(dict.fromkeys(o.need_ids)),
            )
            for o in c.outcomes
        ),
        child_views=c.child_views,
        child_views_helped_by=c.child_views_helped_by,
        family_views=c.family_views,
        family_views_given_by=c.family_views_given_by,
        recorded_by=c.recorded_by,
    )
    planned: list[Event] = [
        ProvisionPlanned(
            plan_id=plan.plan_id,
            child_id=plan.child_id,
            cycle=number,
            matrix_version=version.version,
            line=line,
            recorded_by=c.recorded_by,
        )
        for line in lines
        if line is not None
    ]
    return [started, *planned]


def _plan_provision(state: SupportPlan | None, c: PlanProvision, today: date) -> list[Event]:
    plan = _open_plan(state, "a provision line", c.by_agency)
    cycle = _running_cycle(plan, "a provision line")
    if cycle.line(c.line.line_id) is not None:
        raise AlreadyRecorded(f"provision line {c.line.line_id} is recorded already")
    broken: list[Broken] = []
    if len(cycle.lines) >= MAX_CYCLE_ITEMS:
        broken.append(Broken("line_id", f"at most {MAX_CYCLE_ITEMS} lines in one cycle"))
    version = c.matrix.get(cycle.matrix_version)
    assert version is not None  # a cycle's version was published before it started
    line = _line(broken, "", c.line, version, cycle.starts_on, cycle.outcome_ids, today)
    # The fields of a single line are the body's own ("entry_id", not ".entry_id").
    broken = [replace(b, field=b.field.removeprefix(".")) for b in broken]
    _refuse(broken)
    assert line is not None
    return [
        ProvisionPlanned(
            plan_id=plan.plan_id,
            child_id=plan.child_id,
            cycle=cycle.number,
            matrix_version=version.version,
            line=line,
            recorded_by=c.recorded_by,
        )
    ]


def _delivery(state: SupportPlan | None, c: RecordDelivery, today: date) -> list[Event]:
    plan = _open_plan(state, "recording delivery", c.by_agency)
    cycle = _running_cycle(plan, "recording delivery")
    planned = cycle.line(c.line_id)
    if planned is None:
        raise NotRecorded(f"cycle {cycle.number} has no provision line {c.line_id}")
    broken: list[Broken] = []
    if c.recorded_on < planned.line.starts_on:
        broken.append(
            Broken("recorded_on", f"is before the provision started ({planned.line.starts_on})")
        )
    _not_future(broken, "recorded_on", c.recorded_on, today)
    _refuse(broken)
    return [
        ProvisionDeliveryRecorded(
            plan_id=plan.plan_id,
            child_id=plan.child_id,
            cycle=cycle.number,
            line_id=c.line_id,
            recorded_on=c.recorded_on,
            delivered_as_planned=c.delivered_as_planned,
            note=c.note,
            recorded_by=c.recorded_by,
        )
    ]


def _review(state: SupportPlan | None, c: ReviewCycle, today: date) -> list[Event]:
    plan = _open_plan(state, "a review", c.by_agency)
    cycle = _running_cycle(plan, "a review")
    broken: list[Broken] = []
    if c.reviewed_on < cycle.starts_on:
        broken.append(
            Broken("reviewed_on", f"is before cycle {cycle.number} started ({cycle.starts_on})")
        )
    _not_future(broken, "reviewed_on", c.reviewed_on, today)
    given = [p.outcome_id for p in c.progress]
    for index, item in enumerate(c.progress):
        if item.outcome_id not in cycle.outcome_ids:
            where = (
                "an outcome of an earlier cycle, not reviewed in this one"
                if plan.outcome(item.outcome_id) is not None
                else "not an outcome of this plan"
            )
            broken.append(Broken(f"progress.{index}.outcome_id", f"{item.outcome_id} is {where}"))
        elif given.count(item.outcome_id) > 1:
            broken.append(Broken(f"progress.{index}.outcome_id", "is repeated"))
    missing = [str(o) for o in cycle.outcome_ids if o not in given]
    if missing:
        broken.append(
            Broken(
                "progress",
                f"a review records progress on every outcome; missing {', '.join(missing)}",
            )
        )
    asks = c.decision is ReviewDecision.REQUEST_EHC_ASSESSMENT
    if asks and plan.ehc_assessment_id is not None:
        raise StepOutOfOrder(
            f"an EHC needs assessment was requested already ({plan.ehc_assessment_id})"
        )
    _refuse(broken)
    events: list[Event] = [
        OutcomeProgressRecorded(
            plan_id=plan.plan_id,
            plan_type=plan.plan_type,
            child_id=plan.child_id,
            outcome_id=item.outcome_id,
            status=item.status,
            evidence=item.evidence,
            recorded_on=c.reviewed_on,
            cycle=cycle.number,
            recorded_by=c.recorded_by,
        )
        for item in c.progress
    ]
    events.append(
        SupportPlanReviewed(
            plan_id=plan.plan_id,
            child_id=plan.child_id,
            cycle=cycle.number,
            reviewed_on=c.reviewed_on,
            decision=c.decision,
            reasons=c.reasons,
            assessment_id=c.assessment_id if asks else None,
            recorded_by=c.recorded_by,
        )
    )
    if c.decision is ReviewDecision.STEP_DOWN:
        events.append(
            SupportPlanClosed(
                plan_id=plan.plan_id,
                child_id=plan.child_id,
                closed_on=c.reviewed_on,
                reason=CloseReason.STEPPED_DOWN,
                recorded_by=c.recorded_by,
            )
        )
    return events


def _close(state: SupportPlan | None, c: CloseSupportPlan, today: date) -> list[Event]:
    plan = _open_plan(state, "closing", c.by_agency)
    broken: list[Broken] = []
    latest = max([plan.opened_on, *(x.reviewed_on or x.starts_on for x in plan.cycles)])
    if c.closed_on < latest:
        broken.append(Broken("closed_on", f"is before the plan's last step ({latest.isoformat()})"))
    _not_future(broken, "closed_on", c.closed_on, today)
    _refuse(broken)
    return [
        SupportPlanClosed(
            plan_id=plan.plan_id,
            child_id=plan.child_id,
            closed_on=c.closed_on,
            reason=c.reason,
            recorded_by=c.recorded_by,
        )
    ]


# -- evolve --------------------------------------------------------------------------------


def evolve(state: SupportPlan | None, event: Event) -> SupportPlan | None:
    """The plan after `event` (its contribution events change nothing but the version)."""
    if isinstance(event, SupportPlanOpened):
        return SupportPlan(
            plan_id=event.plan_id,
            child_id=event.child_id,
            plan_type=event.plan_type,
            setting=event.setting,
            opened_on=event.opened_on,
            opened_by_agency=event.opened_by_agency,
            version=1,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before the SEN support plan was opened")
    return replace(_evolve(state, event), version=state.version + 1)


def _with_cycle(s: SupportPlan, cycle: Cycle) -> SupportPlan:
    return replace(s, cycles=(*s.cycles[:-1], cycle))


def _evolve(s: SupportPlan, event: Event) -> SupportPlan:
    match event:
        case SupportCycleStarted():
            tracked = {o.outcome_id: o for o in s.outcomes}
            for defined in event.outcomes:
                earlier = tracked.get(defined.outcome_id)
                tracked[defined.outcome_id] = TrackedOutcome(
                    defined.outcome_id,
                    defined.description,
                    defined.need_ids,
                    earlier.progress if earlier else (),
                )
            cycle = Cycle(
                number=event.cycle,
                starts_on=event.starts_on,
                matrix_version=event.matrix_version,
                needs=event.needs,
                outcome_ids=tuple(o.outcome_id for o in event.outcomes),
                child_views=event.child_views,
                child_views_helped_by=event.child_views_helped_by,
                family_views=event.family_views,
                family_views_given_by=event.family_views_given_by,
            )
            return replace(s, cycles=(*s.cycles, cycle), outcomes=tuple(tracked.values()))
        case ProvisionPlanned():
            cycle = s.cycles[-1]
            return _with_cycle(s, replace(cycle, lines=(*cycle.lines, PlannedLine(event.line))))
        case ProvisionDeliveryRecorded():
            cycle = s.cycles[-1]
            delivery = Delivery(event.recorded_on, event.delivered_as_planned, event.note)
            lines = tuple(
                replace(p, deliveries=(*p.deliveries, delivery))
                if p.line.line_id == event.line_id
                else p
                for p in cycle.lines
            )
            return _with_cycle(s, replace(cycle, lines=lines))
        case OutcomeProgressRecorded():
            progress = Progress(event.status, event.evidence, event.recorded_on, event.cycle)
            outcomes = tuple(
                replace(o, progress=(*o.progress, progress))
                if o.outcome_id == event.outcome_id
                else o
                for o in s.outcomes
            )
            return replace(s, outcomes=outcomes)
        case SupportPlanReviewed():
            cycle = replace(
                s.cycles[-1],
                reviewed_on=event.reviewed_on,
                decision=event.decision,
                reasons=event.reasons,
                assessment_id=event.assessment_id,
            )
            changed = _with_cycle(s, cycle)
            if event.assessment_id is not None:
                changed = replace(changed, ehc_assessment_id=event.assessment_id)
            return changed
        case SupportPlanClosed():
            return replace(s, closed_on=event.closed_on, close_reason=event.reason)
        case ContributionSubmitted() | ContributionRevised() | ContributionWithdrawn():
            return s
    raise ValueError(f"{type(event).__name__} is not an event of a SEN support plan")


# -- the plan as contributions to the shared plan ------------------------------------------


@dataclass(frozen=True, slots=True)
class Contribution:
    """One item of the shared plan this plan contributes (what the events carry)."""

    contribution_id: UUID
    section: PlanSection
    title: str
    content: str
    outcomes: tuple[str, ...] = ()


def contribution_id(plan_id: UUID, key: str) -> UUID:
    """The same item keeps its id across revisions (`need:<id>`, `outcome:<id>`,
    `provision:<line id>`)."""
    return uuid5(plan_id, key)


def _label(value: str) -> str:
    return value.replace("_", " ")


def _outcome_content(outcome: TrackedOutcome) -> str:
    text = outcome.description
    if outcome.progress:
        last = outcome.progress[-1]
        text += (
            f"\nProgress at the review of {last.recorded_on.isoformat()}: "
            f"{_label(last.status.value)}. {last.evidence}"
        )
    return text


def _line_content(planned: PlannedLine) -> str:
    line = planned.line
    parts = [
        f"{line.entry_description} ({_label(line.tier.value)}, {_label(line.area.value)}; "
        f"matrix entry {line.entry_id}).",
        f"Provider: {line.provider}. Frequency: {line.frequency}. Duration: {line.duration}.",
        f"From {line.starts_on.isoformat()}"
        + (f" to {line.ends_on.isoformat()}." if line.ends_on else "."),
    ]
    if line.cost_pence is not None:
        parts.append(f"Cost: £{line.cost_pence / 100:,.2f}.")
    delivered = planned.delivered_as_planned
    if delivered is not None:
        parts.append("Delivered as planned." if delivered else "Not delivered as planned.")
    return "\n".join(parts)


def current_contributions(plan: SupportPlan) -> dict[UUID, Contribution]:
    """What the plan contributes now: its latest cycle's needs, outcomes and provision (none
    once the plan is closed). Needs and provision name the section E contributions of the
    outcomes they link to (the golden thread)."""
    cycle = plan.current
    if cycle is None or not plan.open:
        return {}

    def e_id(outcome_id: UUID) -> str:
        return str(contribution_id(plan.plan_id, f"outcome:{outcome_id}"))

    found: dict[UUID, Contribution] = {}
    outcomes = [o for o in (plan.outcome(i) for i in cycle.outcome_ids) if o is not None]
    for need in cycle.needs:
        key = contribution_id(plan.plan_id, f"need:{need.need_id}")
        linked = tuple(e_id(o.outcome_id) for o in outcomes if need.need_id in o.need_ids)
        content = (
            f"{need.description}\nExpected provision: {_label(need.expected_tier.value)} "
            "(SEND Provision Matrix)."
        )
        found[key] = Contribution(
            key, PlanSection.B, f"SEN support: {_label(need.area.value)}", content, linked
        )
    for outcome in outcomes:
        key = contribution_id(plan.plan_id, f"outcome:{outcome.outcome_id}")
        found[key] = Contribution(
            key, PlanSection.E, "SEN support outcome", _outcome_content(outcome)
        )
    for planned in cycle.lines:
        line = planned.line
        key = contribution_id(plan.plan_id, f"provision:{line.line_id}")
        linked = tuple(e_id(o) for o in line.outcome_ids)
        found[key] = Contribution(
            key,
            PlanSection.F,
            f"SEN support provision: {line.entry_description}",
            _line_content(planned),
            linked,
        )
    return found


def contributions_between(
    before: SupportPlan | None, after: SupportPlan, author: str
) -> list[Event]:
    """`contribution.submitted` for what is new, `.revised` for what changed, `.withdrawn`
    for what the plan no longer says (a new cycle dropped it, or the plan closed)."""
    old = current_contributions(before) if before is not None else {}
    new = current_contributions(after)
    common = {
        "child_id": after.child_id,
        "data_class": DATA_CLASS,
        "author": author,
        "agency": after.opened_by_agency,
    }
    events: list[Event] = []
    for key, item in new.items():
        earlier = old.get(key)
        if earlier == item:
            continue
        model = CONTRIBUTIONS.submitted if earlier is None else CONTRIBUTIONS.revised
        events.append(
            model(
                contribution_id=key,
                section=item.section,
                title=item.title,
                content=item.content,
                outcomes=item.outcomes,
                **common,
            )
        )
    reason = (
        f"the SEN support plan closed ({after.close_reason.value})"
        if after.close_reason is not None
        else "a new cycle of the SEN support plan no longer includes it"
    )
    events.extend(
        CONTRIBUTIONS.withdrawn(contribution_id=key, section=item.section, reason=reason, **common)
        for key, item in old.items()
        if key not in new
    )
    return events


class SupportPlanDecider:
    """A SEN support plan for the kit: streams `support_plan/<plan id>`."""

    stream_prefix = "support_plan"

    def initial_state(self) -> SupportPlan | None:
        return None

    def decide(
        self, state: SupportPlan | None, command: SupportCommand, now: datetime
    ) -> Sequence[Event]:
        return decide(state, command, now)

    def evolve(self, state: SupportPlan | None, event: Event) -> SupportPlan | None:
        return evolve(state, event)


SUPPORT_PLAN = SupportPlanDecider()
"""A SEN support plan, as the kit runs it."""


HISTORY_CYCLES = 12
"""The most recent cycles an assessment request carries (a plan of many years stays small)."""


def history(plan: SupportPlan) -> SupportHistory:
    """The plan's SEN support history, as a request for an EHC needs assessment carries it:
    each cycle's needs, views, outcomes with their progress, and provision with delivery."""
    cycles = []
    for cycle in plan.cycles[-HISTORY_CYCLES:]:
        outcomes = [o for o in (plan.outcome(i) for i in cycle.outcome_ids) if o is not None]
        cycles.append(
            SupportHistoryCycle(
                cycle=cycle.number,
                starts_on=cycle.starts_on,
                reviewed_on=cycle.reviewed_on,
                decision=cycle.decision,
                needs=cycle.needs,
                outcomes=tuple(
                    SupportHistoryOutcome(
                        outcome_id=o.outcome_id,
                        description=o.description,
                        progress=tuple(
                            SupportHistoryProgress(
                                status=p.status, recorded_on=p.recorded_on, evidence=p.evidence
                            )
                            for p in o.progress
                            if p.cycle == cycle.number
                        ),
                    )
                    for o in outcomes
                ),
                provision=tuple(
                    SupportHistoryProvision(
                        entry_id=p.line.entry_id,
                        tier=p.line.tier,
                        provider=p.line.provider,
                        frequency=p.line.frequency,
                        duration=p.line.duration,
                        delivered_as_planned=p.delivered_as_planned,
                    )
                    for p in cycle.lines
                ),
                child_views=cycle.child_views,
                child_views_helped_by=cycle.child_views_helped_by,
                family_views=cycle.family_views,
                family_views_given_by=cycle.family_views_given_by,
            )
        )
    return SupportHistory(
        support_plan_id=plan.plan_id,
        setting=plan.setting,
        opened_on=plan.opened_on,
        cycles=tuple(cycles),
    )
