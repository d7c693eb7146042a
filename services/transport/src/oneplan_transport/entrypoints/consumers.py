"""What the transport service consumes: issued and amended plans from the plans service, and
the children service's age facts and moves.

Each reaction runs a case command in the consumer's transaction, so the case's events commit
with the consumer's bookkeeping: a redelivered event is acknowledged as a duplicate and the
case (one per child) is never opened twice.
"""

from __future__ import annotations

from oneplan_events.reactions import Delivery, Reactions
from oneplan_kit import Subscription
from oneplan_transport.adapters import repository
from oneplan_transport.domain.commands import (
    ApplyPlanAmendment,
    OpenCaseFromPlan,
    ReopenForAddressChange,
)
from oneplan_transport.domain.model import case_id_for
from oneplan_transport.events import (
    CaseSetting,
    ChildDetailsChangedFacts,
    ChildFacts,
    ChildRegisteredFacts,
    PlanAmendedFacts,
    PlanIssuedFacts,
    PlanSetting,
)

__all__ = [
    "CHILD_EVENTS",
    "PLAN_EVENTS",
    "when_child_details_changed_keep_age_and_reopen_on_a_move",
    "when_child_registered_keep_age",
    "when_plan_amended_apply_it_to_the_case",
    "when_plan_issued_open_transport_case",
]

plan_events = Reactions()


def _setting(setting: PlanSetting | None) -> CaseSetting | None:
    if setting is None:
        return None
    # The plans service's name may be longer than transport keeps: the first 200 characters.
    return CaseSetting(name=setting.name[:200], urn=setting.urn, type=setting.type)


@plan_events.handles(PlanIssuedFacts)
async def when_plan_issued_open_transport_case(event: PlanIssuedFacts, delivery: Delivery) -> None:
    """A plan naming a setting opens the child's case (awaiting eligibility)."""
    command = OpenCaseFromPlan(
        case_id_for(event.child_id),
        event.child_id,
        event.plan_id,
        event.issued_on,
        _setting(event.setting),
        event.start_date,
    )
    await delivery.uow.execute(repository.CASES, command.case_id, command)


@plan_events.handles(PlanAmendedFacts)
async def when_plan_amended_apply_it_to_the_case(
    event: PlanAmendedFacts, delivery: Delivery
) -> None:
    """A new setting reopens the decision; a new start date is noted."""
    command = ApplyPlanAmendment(
        case_id_for(event.child_id),
        event.child_id,
        event.plan_id,
        event.amended_on,
        _setting(event.setting),
        event.start_date,
    )
    await delivery.uow.execute(repository.CASES, command.case_id, command)


child_events = Reactions()


async def _keep_age(event: ChildFacts, delivery: Delivery) -> None:
    await repository.upsert_child_facts(
        delivery.session, event.child_id, event.date_of_birth, event.compulsory_school_age_ends_on
    )


@child_events.handles(ChildRegisteredFacts)
async def when_child_registered_keep_age(event: ChildRegisteredFacts, delivery: Delivery) -> None:
    """The date of birth decides the walking distance."""
    await _keep_age(event, delivery)


@child_events.handles(ChildDetailsChangedFacts)
async def when_child_details_changed_keep_age_and_reopen_on_a_move(
    event: ChildDetailsChangedFacts, delivery: Delivery
) -> None:
    """A move sets a standing decision aside (the distances change)."""
    await _keep_age(event, delivery)
    if event.address_changed:
        case_id = case_id_for(event.child_id)
        await delivery.uow.execute(repository.CASES, case_id, ReopenForAddressChange(case_id))


PLAN_EVENTS = Subscription(
    "plan_events",
    reads="plans",
    # Only plan events (issued, amended, and any later plan.* type, passed over): the NATS
    # user of transport may not read assessments or advice requests.
    types="plan.*",
    reactions=plan_events,
    parked_loses="a transport case: a plan whose case is not opened or updated",
)
CHILD_EVENTS = Subscription("child_events", reads="children", reactions=child_events)
