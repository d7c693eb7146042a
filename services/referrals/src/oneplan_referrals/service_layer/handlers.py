"""Use cases of the referrals service, each working inside the caller's unit of work.

The kit runs the deciders (load, check the version, decide, append, evolve, project); what is
left here is what a decider cannot know: the directory, the children the service knows, who is
asking, and the clinical narrative kept beside the events (never published). Handlers never
commit: the entrypoint's command (or the consumer's delivery) commits once, so a refusal
leaves nothing written.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from uuid import UUID, uuid4

from oneplan_events.uow import UnitOfWork
from oneplan_kit.auth import Principal
from oneplan_referrals.adapters import repository
from oneplan_referrals.domain.advice import HEALTH_AGENCY, AdviceTask
from oneplan_referrals.domain.commands import (
    OpenAdviceTask,
    ReceiveReferral,
    ReferralCommand,
    SubmitAdvice,
)
from oneplan_referrals.domain.directory import Directory
from oneplan_referrals.domain.errors import InvalidInput, NotFound
from oneplan_referrals.domain.referral import Referral
from oneplan_referrals.events import AdviceRequestedFacts, Author, Commissioner, Urgency

__all__ = [
    "Outcome",
    "on_referral",
    "open_advice_task",
    "receive_referral",
    "reuse_advice",
    "submit_advice",
]

Outcome = tuple[Referral, int]


def _known_services(directory: Directory, field: str, service_ids: Iterable[UUID]) -> None:
    for service_id in service_ids:
        if directory.get(service_id) is None:
            raise InvalidInput(field, f"the directory has no service {service_id}")
        if not directory.takes_referrals(service_id):
            raise InvalidInput(field, f"the service {service_id} is retired from the directory")


async def receive_referral(
    uow: UnitOfWork,
    caller: Principal,
    directory: Directory,
    *,
    child_id: UUID,
    service_id: UUID,
    referrer_agency: str,
    urgency: Urgency,
    received_on: date,
    reason: str,
) -> Outcome:
    """Record a new referral of a known child to a service of the directory; the reason is
    kept as clinical narrative, never in the event."""
    _known_services(directory, "service_id", [service_id])
    if not await repository.child_is_known(uow.session, child_id):
        raise InvalidInput(
            "child_id",
            f"the referrals service does not know child {child_id}: register the child with "
            "the children service first (or retry in a moment)",
        )
    referral_id = uuid4()
    command = ReceiveReferral(
        referral_id, child_id, service_id, referrer_agency, urgency, received_on, caller.sub
    )
    outcome = await uow.execute(repository.REFERRALS, referral_id, command)
    assert outcome.state is not None
    await repository.add_clinical_note(
        uow.session, outcome.state, "reason", reason, caller.sub, uow.now
    )
    return outcome.state, outcome.version


async def on_referral(
    uow: UnitOfWork,
    caller: Principal,
    referral_id: UUID,
    command: ReferralCommand,
    *,
    expected_version: int | None = None,
    note: tuple[str, str] | None = None,
    directory: Directory | None = None,
    services: tuple[str, Iterable[UUID]] | None = None,
) -> Outcome:
    """Run a command on a referral; ``services`` (field, ids) must be in ``directory``;
    ``note`` (kind, text) is kept as clinical narrative."""
    if services is not None and directory is not None:
        _known_services(directory, *services)
    outcome = await uow.execute(
        repository.REFERRALS, referral_id, command, expected_version=expected_version
    )
    if outcome.state is None:
        raise NotFound(f"no referral {referral_id}")
    if note is not None:
        kind, text = note
        await repository.add_clinical_note(
            uow.session, outcome.state, kind, text, caller.sub, uow.now
        )
    return outcome.state, outcome.version


async def open_advice_task(uow: UnitOfWork, event: AdviceRequestedFacts) -> AdviceTask | None:
    """The reaction to a request for advice: a task when health is asked, nothing otherwise
    (idempotent: the same request again changes nothing)."""
    if event.agency != HEALTH_AGENCY:
        return None
    command = OpenAdviceTask(
        event.advice_request_id, event.assessment_id, event.child_id, event.requested_on
    )
    outcome = await uow.execute(repository.ADVICE_TASKS, event.advice_request_id, command)
    if event.question and outcome.recorded:
        await repository.set_question(uow.session, event.advice_request_id, event.question)
    return outcome.state


async def submit_advice(
    uow: UnitOfWork,
    caller: Principal,
    advice_request_id: UUID,
    *,
    author: Author,
    health_needs: str,
    health_provision: str,
    outcomes: tuple[str, ...],
    commissioner: Commissioner,
    submitted_on: date,
    reused_from: UUID | None = None,
) -> tuple[AdviceTask, int]:
    """Submit the health advice: contributions to sections C and G, then advice.submitted."""
    command = SubmitAdvice(
        author=author,
        health_needs=health_needs,
        health_provision=health_provision,
        outcomes=outcomes,
        commissioner=commissioner,
        submitted_on=submitted_on,
        submitted_by=caller.sub,
        health_needs_id=uuid4(),
        health_provision_id=uuid4(),
        reused_from=reused_from,
    )
    outcome = await uow.execute(repository.ADVICE_TASKS, advice_request_id, command)
    assert outcome.state is not None
    return outcome.state, outcome.version


async def reuse_advice(
    uow: UnitOfWork,
    caller: Principal,
    advice_request_id: UUID,
    *,
    earlier_id: UUID,
    author: Author,
    commissioner: Commissioner,
    submitted_on: date,
) -> tuple[AdviceTask, int]:
    """Answer the request with the child's earlier health advice (Regulation 6(4): the
    authority, the author and the family agree it is sufficient)."""
    task, _ = await uow.load(repository.ADVICE_TASKS, advice_request_id)
    if task is None:
        raise NotFound("the EHC assessment asked health for no such advice")
    earlier, _ = await uow.load(repository.ADVICE_TASKS, earlier_id)
    if (
        earlier is None
        or earlier.child_id != task.child_id
        or not earlier.submitted
        or earlier.advice_request_id == task.advice_request_id
    ):
        raise InvalidInput(
            "earlier_advice_request_id", "not an earlier submitted health advice for this child"
        )
    assert earlier.health_needs is not None
    assert earlier.health_provision is not None
    return await submit_advice(
        uow,
        caller,
        advice_request_id,
        author=author,
        health_needs=earlier.health_needs,
        health_provision=earlier.health_provision,
        outcomes=earlier.outcomes,
        commissioner=commissioner,
        submitted_on=submitted_on,
        reused_from=earlier.advice_request_id,
    )
