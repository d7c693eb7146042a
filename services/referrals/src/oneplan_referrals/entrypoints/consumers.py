"""What the referrals service consumes: which children exist and their stories (the children
service), and the EHC assessments' requests for health advice (the plans service)."""

from __future__ import annotations

from oneplan_events.reactions import Delivery, Reactions
from oneplan_kit import Subscription
from oneplan_referrals.adapters import repository
from oneplan_referrals.events import AdviceRequestedFacts, ChildRegisteredFacts, StoryRevisedFacts
from oneplan_referrals.service_layer.handlers import open_advice_task

__all__ = [
    "ADVICE_REQUESTS",
    "CHILDREN",
    "STORIES",
    "when_advice_requested_of_health_open_task",
    "when_child_registered_remember_child",
    "when_story_revised_keep_it_for_the_clinician",
]

children = Reactions()


@children.handles(ChildRegisteredFacts)
async def when_child_registered_remember_child(
    event: ChildRegisteredFacts, delivery: Delivery
) -> None:
    """A referral needs a child the children service knows."""
    await repository.remember_child(delivery.session, event.child_id, event.date_of_birth)


stories = Reactions()


@stories.handles(StoryRevisedFacts)
async def when_story_revised_keep_it_for_the_clinician(
    event: StoryRevisedFacts, delivery: Delivery
) -> None:
    """The child's latest story, kept for the clinician answering a request for health
    advice; shown only where consent releases it (an older revision arriving late is
    passed over)."""
    await repository.keep_story(delivery.session, event.child_id, event.revision, event.story)


advice_requests = Reactions()


@advice_requests.handles(AdviceRequestedFacts)
async def when_advice_requested_of_health_open_task(
    event: AdviceRequestedFacts, delivery: Delivery
) -> None:
    """Health's advice task opens in the consumer's transaction (nothing for other agencies)."""
    await open_advice_task(delivery.uow, event)


CHILDREN = Subscription("children", reads="children", types="child.registered", reactions=children)
# Its own consumer of only the story's type: the children stream's other events (names,
# addresses, family members) are none of health's business.
STORIES = Subscription("stories", reads="children", types="story.revised", reactions=stories)
ADVICE_REQUESTS = Subscription(
    "advice_requests", reads="plans", types="advice.requested", reactions=advice_requests
)
