"""A health advice task for an EHC needs assessment, as a decider (streams
`advice/<advice request id>`: the plans service's id, so a redelivered request finds it).

Opened when the plans service asks health for advice (due 6 weeks after the request, as
the Code of Practice requires); submitted once, as two contributions to the shared plan
(section C, health needs; section G, health provision agreed by the responsible
commissioner), both of data class `health`, then `advice.submitted`, which carries no
clinical content.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import assert_never
from uuid import UUID

from oneplan_events.catalogue import ContributionSubmitted, DataClass, Event, PlanSection
from oneplan_referrals.domain.commands import AdviceCommand, OpenAdviceTask, SubmitAdvice
from oneplan_referrals.domain.errors import AlreadyRecorded, InvalidInput, NotFound
from oneplan_referrals.events import (
    CONTRIBUTIONS,
    AdviceSubmitted,
    AdviceTaskOpened,
    Author,
    Commissioner,
)

__all__ = [
    "ADVICE",
    "ADVICE_DUE",
    "HEALTH_AGENCY",
    "AdviceDecider",
    "AdviceTask",
    "decide",
    "evolve",
    "provision_text",
]

ADVICE_DUE = timedelta(weeks=6)
HEALTH_AGENCY = "health"


@dataclass(frozen=True)
class AdviceTask:
    """A health advice task after `version` events."""

    advice_request_id: UUID
    assessment_id: UUID
    child_id: UUID
    requested_on: date
    due_on: date
    submitted_on: date | None = None
    author: Author | None = None
    commissioner: Commissioner | None = None
    health_needs: str | None = None
    health_provision: str | None = None
    outcomes: tuple[str, ...] = ()
    reused_from: UUID | None = None
    version: int = 1

    @property
    def submitted(self) -> bool:
        """Whether the advice has been submitted."""
        return self.submitted_on is not None

    def late_by_days(self) -> int:
        """Days after the due date it was submitted (0 when on time or not yet)."""
        if self.submitted_on is None:
            return 0
        return max((self.submitted_on - self.due_on).days, 0)


_AGREED = "\n\nAgreed by the responsible commissioner: "


def provision_text(provision: str, commissioner: Commissioner) -> str:
    """Section G's content: the provision and who agreed it (the Code of Practice requires
    health provision in a plan to be agreed by the responsible commissioner)."""
    return f"{provision}{_AGREED}{commissioner.name}, {commissioner.organisation}."


def _author_line(author: Author) -> str:
    return f"{author.name} ({author.role})"


def _submit(state: AdviceTask, command: SubmitAdvice) -> list[Event]:
    if state.submitted:
        raise AlreadyRecorded(
            f"the health advice for {state.advice_request_id} is submitted already"
        )
    if command.submitted_on < state.requested_on:
        raise InvalidInput(
            "submitted_on",
            f"{command.submitted_on.isoformat()} is before the advice was requested on "
            f"{state.requested_on.isoformat()}",
        )
    common = {"child_id": state.child_id, "data_class": DataClass.HEALTH, "agency": HEALTH_AGENCY}
    author = _author_line(command.author)
    needs = CONTRIBUTIONS.submitted(
        contribution_id=command.health_needs_id,
        section=PlanSection.C,
        title="Health needs (health advice for the EHC needs assessment)",
        content=command.health_needs,
        author=author,
        **common,
    )
    provision = CONTRIBUTIONS.submitted(
        contribution_id=command.health_provision_id,
        section=PlanSection.G,
        title="Health provision, agreed by the responsible commissioner",
        content=provision_text(command.health_provision, command.commissioner),
        outcomes=command.outcomes,
        author=author,
        **common,
    )
    submitted = AdviceSubmitted(
        advice_request_id=state.advice_request_id,
        assessment_id=state.assessment_id,
        child_id=state.child_id,
        submitted_on=command.submitted_on,
        author=command.author,
        contribution_ids=(command.health_needs_id, command.health_provision_id),
        provision_agreed_by=command.commissioner,
        reused_from=command.reused_from,
    )
    return [needs, provision, submitted]


def decide(state: AdviceTask | None, command: AdviceCommand, now: datetime) -> Sequence[Event]:
    """The events that carry out `command` on `state`, or a DomainError; never any I/O."""
    match command:
        case OpenAdviceTask():
            if state is not None:
                return []  # the same request delivered again: the task is open already
            return [
                AdviceTaskOpened(
                    advice_request_id=command.advice_request_id,
                    assessment_id=command.assessment_id,
                    child_id=command.child_id,
                    requested_on=command.requested_on,
                    due_on=command.requested_on + ADVICE_DUE,
                )
            ]
        case SubmitAdvice():
            if state is None:
                raise NotFound("the EHC assessment asked health for no such advice")
            return _submit(state, command)
        case _:
            assert_never(command)


def _evolve(state: AdviceTask, event: Event) -> AdviceTask:
    if isinstance(event, ContributionSubmitted):
        if event.section is PlanSection.C:
            return dataclasses.replace(state, health_needs=event.content)
        provision = event.content.rsplit(_AGREED, 1)[0]
        return dataclasses.replace(state, health_provision=provision, outcomes=event.outcomes)
    if isinstance(event, AdviceSubmitted):
        return dataclasses.replace(
            state,
            submitted_on=event.submitted_on,
            author=event.author,
            commissioner=event.provision_agreed_by,
            reused_from=event.reused_from,
        )
    raise ValueError(f"{type(event).__name__} is not an event of a health advice task")


def evolve(state: AdviceTask | None, event: Event) -> AdviceTask | None:
    """The task after `event`."""
    if isinstance(event, AdviceTaskOpened):
        return AdviceTask(
            advice_request_id=event.advice_request_id,
            assessment_id=event.assessment_id,
            child_id=event.child_id,
            requested_on=event.requested_on,
            due_on=event.due_on,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before the advice task was opened")
    return dataclasses.replace(_evolve(state, event), version=state.version + 1)


class AdviceDecider:
    """A health advice task for the kit: streams `advice/<advice request id>`."""

    stream_prefix = "advice"

    def initial_state(self) -> AdviceTask | None:
        """No task yet."""
        return None

    def decide(
        self, state: AdviceTask | None, command: AdviceCommand, now: datetime
    ) -> Sequence[Event]:
        """:func:`decide`."""
        return decide(state, command, now)

    def evolve(self, state: AdviceTask | None, event: Event) -> AdviceTask | None:
        """:func:`evolve`."""
        return evolve(state, event)


ADVICE = AdviceDecider()
"""A health advice task, as the kit runs it."""
