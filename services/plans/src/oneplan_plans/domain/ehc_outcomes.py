"""Section E outcomes of an EHC plan, tracked (streams `ehc_outcomes/<plan id>`): the outcomes
recorded for tracking, then progress on each at every review, as SEN support outcomes are.

Pure: the handler checks the plan exists and passes its issue date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import assert_never
from uuid import UUID

from oneplan_events.catalogue import Event
from oneplan_events.clock import local_date
from oneplan_plans.domain.errors import Broken, NotRecorded, RulesBroken
from oneplan_plans.domain.plan_types import EHC_PLAN
from oneplan_plans.domain.support_commands import (
    EhcOutcomesCommand,
    RecordEhcOutcomes,
    RecordEhcProgress,
)
from oneplan_plans.domain.support_plan import Progress, TrackedOutcome
from oneplan_plans.events import OutcomeProgressRecorded, OutcomeRecorded

__all__ = ["EHC_OUTCOMES", "EhcOutcomes", "EhcOutcomesDecider"]

MAX_OUTCOMES = 30


@dataclass(frozen=True, slots=True)
class EhcOutcomes:
    plan_id: UUID
    child_id: UUID
    first_recorded_on: date
    version: int
    outcomes: tuple[TrackedOutcome, ...] = ()

    def outcome(self, outcome_id: UUID) -> TrackedOutcome | None:
        return next((o for o in self.outcomes if o.outcome_id == outcome_id), None)


def _not_future(broken: list[Broken], field: str, day: date, today: date) -> None:
    if day > today:
        broken.append(Broken(field, f"is in the future (today is {today.isoformat()})"))


def _record(state: EhcOutcomes | None, c: RecordEhcOutcomes, today: date) -> list[Event]:
    broken: list[Broken] = []
    if c.recorded_on < c.plan_issued_on:
        broken.append(Broken("recorded_on", f"is before the plan was issued ({c.plan_issued_on})"))
    _not_future(broken, "recorded_on", c.recorded_on, today)
    known = len(state.outcomes) if state is not None else 0
    if known + len(c.outcomes) > MAX_OUTCOMES:
        broken.append(Broken("outcomes", f"at most {MAX_OUTCOMES} outcomes in one plan"))
    for index, outcome in enumerate(c.outcomes):
        if state is not None and state.outcome(outcome.outcome_id) is not None:
            broken.append(Broken(f"outcomes.{index}.outcome_id", "is recorded already"))
    if broken:
        raise RulesBroken(broken)
    return [
        OutcomeRecorded(
            plan_id=c.plan_id,
            plan_type=EHC_PLAN,
            child_id=c.child_id,
            outcome_id=o.outcome_id,
            description=o.description,
            recorded_on=c.recorded_on,
            recorded_by=c.recorded_by,
        )
        for o in c.outcomes
    ]


def _progress(state: EhcOutcomes | None, c: RecordEhcProgress, today: date) -> list[Event]:
    if state is None:
        raise NotRecorded("the plan has no section E outcomes recorded for tracking")
    broken: list[Broken] = []
    if c.recorded_on < state.first_recorded_on:
        broken.append(
            Broken(
                "recorded_on",
                f"is before the outcomes were recorded ({state.first_recorded_on.isoformat()})",
            )
        )
    _not_future(broken, "recorded_on", c.recorded_on, today)
    given = [p.outcome_id for p in c.progress]
    for index, item in enumerate(c.progress):
        if state.outcome(item.outcome_id) is None:
            broken.append(
                Broken(
                    f"progress.{index}.outcome_id",
                    f"{item.outcome_id} is not an outcome of plan {state.plan_id}",
                )
            )
        elif given.count(item.outcome_id) > 1:
            broken.append(Broken(f"progress.{index}.outcome_id", "is repeated"))
    if broken:
        raise RulesBroken(broken)
    return [
        OutcomeProgressRecorded(
            plan_id=state.plan_id,
            plan_type=EHC_PLAN,
            child_id=state.child_id,
            outcome_id=item.outcome_id,
            status=item.status,
            evidence=item.evidence,
            recorded_on=c.recorded_on,
            recorded_by=c.recorded_by,
        )
        for item in c.progress
    ]


def decide(
    state: EhcOutcomes | None, command: EhcOutcomesCommand, now: datetime
) -> Sequence[Event]:
    today = local_date(now)
    match command:
        case RecordEhcOutcomes():
            return _record(state, command, today)
        case RecordEhcProgress():
            return _progress(state, command, today)
        case _:
            assert_never(command)


def evolve(state: EhcOutcomes | None, event: Event) -> EhcOutcomes | None:
    match event:
        case OutcomeRecorded():
            outcome = TrackedOutcome(event.outcome_id, event.description, ())
            if state is None:
                return EhcOutcomes(event.plan_id, event.child_id, event.recorded_on, 1, (outcome,))
            return replace(state, outcomes=(*state.outcomes, outcome), version=state.version + 1)
        case OutcomeProgressRecorded() if state is not None:
            progress = Progress(event.status, event.evidence, event.recorded_on)
            outcomes = tuple(
                replace(o, progress=(*o.progress, progress))
                if o.outcome_id == event.outcome_id
                else o
                for o in state.outcomes
            )
            return replace(state, outcomes=outcomes, version=state.version + 1)
    raise ValueError(f"{type(event).__name__} is not an event of a plan's tracked outcomes")


class EhcOutcomesDecider:
    """Section E outcomes of one EHC plan: streams `ehc_outcomes/<plan id>`."""

    stream_prefix = "ehc_outcomes"

    def initial_state(self) -> EhcOutcomes | None:
        return None

    def decide(
        self, state: EhcOutcomes | None, command: EhcOutcomesCommand, now: datetime
    ) -> Sequence[Event]:
        return decide(state, command, now)

    def evolve(self, state: EhcOutcomes | None, event: Event) -> EhcOutcomes | None:
        return evolve(state, event)


EHC_OUTCOMES = EhcOutcomesDecider()
