"""Use cases of the transport service, each working inside the caller's unit of work.

The kit runs the decider (load the case, check the version, decide, append, evolve, project);
what is left here is what the decider cannot know: the child's age facts the children
service's events brought, and new record ids. Handlers never commit: the entrypoint's command
(or the consumer's delivery) commits once, so a refusal leaves nothing written.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

from oneplan_events.decider import Outcome
from oneplan_events.uow import UnitOfWork
from oneplan_transport.adapters import repository
from oneplan_transport.domain.commands import Command, DecideEligibility
from oneplan_transport.domain.eligibility import compulsory_school_age_ends
from oneplan_transport.domain.model import Case, CaseNotFound
from oneplan_transport.events import EligibilityFacts

__all__ = ["AgeUnknown", "decide_eligibility", "load_case", "run"]


class AgeUnknown(Exception):
    """Neither the children service's events nor the request gave the child's date of birth."""


async def load_case(uow: UnitOfWork, case_id: UUID) -> tuple[Case, int]:
    """The case and its version, or CaseNotFound."""
    state, version = await uow.load(repository.CASES, case_id)
    if state is None:
        raise CaseNotFound(f"no transport case {case_id}")
    return state, version


async def run(
    uow: UnitOfWork, case_id: UUID, command: Command, expected_version: int | None
) -> Outcome[Case | None]:
    """Run a team's command on an existing case (CaseNotFound when there is none)."""
    outcome = await uow.execute(
        repository.CASES, case_id, command, expected_version=expected_version
    )
    if outcome.state is None:
        raise CaseNotFound(f"no transport case {case_id}")
    return outcome


async def decide_eligibility(
    uow: UnitOfWork,
    case_id: UUID,
    facts: EligibilityFacts,
    *,
    decided_on: date,
    decided_by: str,
    date_of_birth: date | None,
    target_working_days: int,
    expected_version: int | None,
) -> Outcome[Case | None]:
    """Decide on the case from the facts; the age from the children service's events, else
    from the request (a child transport has not heard of yet)."""
    case, _ = await load_case(uow, case_id)
    known = await repository.child_facts(uow.session, case.child_id)
    if known is not None:
        born, ends_on = known.date_of_birth, known.compulsory_school_age_ends_on
    elif date_of_birth is not None:
        born, ends_on = date_of_birth, compulsory_school_age_ends(date_of_birth)
    else:
        raise AgeUnknown(
            "The children service has not told transport this child's date of birth yet: "
            "give date_of_birth with the facts."
        )
    command = DecideEligibility(
        decision_id=uuid4(),
        facts=facts,
        decided_on=decided_on,
        decided_by=decided_by,
        date_of_birth=born,
        compulsory_school_age_ends_on=ends_on,
        target_working_days=target_working_days,
    )
    return await run(uow, case_id, command, expected_version)
