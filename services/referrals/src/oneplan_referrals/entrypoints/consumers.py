"""What the referrals service consumes: which children exist (the children service) and the
EHC assessments' requests for health advice (the plans service)."""

from __future__ import annotations

from oneplan_events.reactions import Delivery, Reactions
from oneplan_kit import Subscription
from oneplan_referrals.adapters import repository
from oneplan_referrals.events import AdviceRequestedFacts, ChildRegisteredFacts
from oneplan_referrals.service_layer.handlers import open_advice_task

__all__ = [
    "ADVICE_REQUESTS",
    "CHILDREN",
    "when_advice_requested_of_health_open_task",
    "when_child_registered_remember_child",
]

children = Reactions()


@children.handles(ChildRegisteredFacts)
async def when_child_registered_remember_child(
    event: ChildRegisteredFacts, delivery: Delivery
) -> None:
    """A referral needs a child the children service knows."""
    await repository.remember_child(delivery.session, event.child_id, event.date_of_birth)


advice_requests = Reactions()


@advice_requests.handles(AdviceRequestedFacts)
async def when_advice_requested_of_health_open_task(
    event: AdviceRequestedFacts, delivery: Delivery
) -> None:
    """Health's advice task opens in the consumer's transaction (nothing for other agencies)."""
    await open_advice_task(delivery.uow, event)


CHILDREN = Subscription("children", reads="children", types="child.registered", reactions=children)
ADVICE_REQUESTS = Subscription(
    "advice_requests", reads="plans", types="advice.requested", reactions=advice_requests
)
