"""Use cases of the consent service, each on the caller's unit of work.

The kit runs the deciders (load, check the version, decide, append, evolve, project into the
read models); what is left here is what a decider cannot know by itself: what the children
service has told this service about the child (who holds parental responsibility, when
compulsory school age ends). Handlers never commit: the entrypoint's command commits once.
"""

from __future__ import annotations

from uuid import UUID, uuid4

from oneplan_consent.adapters import repository
from oneplan_consent.adapters.repository import CONSENTS, DUTIES, OVERRIDES, REFUSALS
from oneplan_consent.domain.aggregates import ConsentState, DutyState, OverrideState
from oneplan_consent.domain.commands import (
    Actor,
    EndDuty,
    EndOverride,
    ExpireConsent,
    GiveConsent,
    RecordDuty,
    RecordOverride,
    RecordRefusal,
    ReviewOverride,
    WithdrawConsent,
)
from oneplan_consent.domain.who_may_consent import ChildFacts, ConsentRequest
from oneplan_events.decider import Outcome
from oneplan_events.uow import UnitOfWork

__all__ = [
    "ChildUnknown",
    "end_duty",
    "end_override",
    "expire_consent",
    "give_consent",
    "record_duty",
    "record_override",
    "record_refusal",
    "review_override",
    "withdraw_consent",
]


class ChildUnknown(LookupError):
    """The children service has not (yet) told this service about the child."""

    def __init__(self, child_id: UUID) -> None:
        super().__init__(f"no child {child_id} is known to the consent service")
        self.child_id = child_id


async def child_facts(uow: UnitOfWork, child_id: UUID) -> ChildFacts:
    """What the children service told this service about the child; ChildUnknown if nothing."""
    child = await repository.load_child_facts(uow.session, child_id)
    if child is None:
        raise ChildUnknown(child_id)
    return child


async def give_consent(
    uow: UnitOfWork,
    child_id: UUID,
    request: ConsentRequest,
    *,
    actor: Actor,
    known_agencies: frozenset[str],
) -> Outcome[ConsentState | None]:
    """Record a consent if the rules accept it (see `check_consent_request`)."""
    command = GiveConsent(uuid4(), await child_facts(uow, child_id), request, actor, known_agencies)
    return await uow.execute(CONSENTS, command.consent_id, command)


async def withdraw_consent(
    uow: UnitOfWork, consent_id: UUID, *, actor: Actor, reason: str | None
) -> Outcome[ConsentState | None]:
    """Withdraw a consent in force (AlreadyEnded when withdrawn or expired already)."""
    return await uow.execute(CONSENTS, consent_id, WithdrawConsent(actor, reason))


async def expire_consent(uow: UnitOfWork, consent_id: UUID) -> Outcome[ConsentState | None]:
    """Record the expiry of a consent that reached its end date."""
    return await uow.execute(CONSENTS, consent_id, ExpireConsent())


async def record_override(
    uow: UnitOfWork, command: RecordOverride
) -> Outcome[OverrideState | None]:
    """Record sharing without consent for a known child."""
    await child_facts(uow, command.child_id)
    return await uow.execute(OVERRIDES, command.override_id, command)


async def review_override(
    uow: UnitOfWork, override_id: UUID, *, actor: Actor, outcome: str
) -> Outcome[OverrideState | None]:
    """Record a review of an active override."""
    return await uow.execute(OVERRIDES, override_id, ReviewOverride(actor, outcome))


async def end_override(
    uow: UnitOfWork, override_id: UUID, *, actor: Actor, reason: str
) -> Outcome[OverrideState | None]:
    """End an active override at once."""
    return await uow.execute(OVERRIDES, override_id, EndOverride(actor, reason))


async def record_duty(uow: UnitOfWork, command: RecordDuty) -> Outcome[DutyState | None]:
    """Record a statutory duty to share for a known child."""
    await child_facts(uow, command.child_id)
    return await uow.execute(DUTIES, command.duty_id, command)


async def end_duty(
    uow: UnitOfWork, duty_id: UUID, *, actor: Actor, reason: str
) -> Outcome[DutyState | None]:
    """End a recorded statutory duty at once."""
    return await uow.execute(DUTIES, duty_id, EndDuty(actor, reason))


async def record_refusal(uow: UnitOfWork, command: RecordRefusal) -> Outcome[object]:
    """Record a decision not to share, for a known child."""
    await child_facts(uow, command.child_id)
    return await uow.execute(REFUSALS, command.refusal_id, command)
