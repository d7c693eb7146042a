"""What the plans service consumes: the child's age facts and story from the children
service, and every agency's `oneplan.<service>.advice.submitted` (advice answering one of
this service's requests), including agencies added later."""

from __future__ import annotations

import logging
from uuid import UUID

from oneplan_events.reactions import Delivery, Reactions
from oneplan_kit import EVERY_SERVICE, Subscription
from oneplan_plans.adapters import repository
from oneplan_plans.entrypoints.shared_plan_consumers import put_story
from oneplan_plans.events import (
    AdviceSubmittedFacts,
    ChildFacts,
    ChildRegisteredFacts,
    DetailsChangedFacts,
    StoryRevisedFacts,
)
from oneplan_plans.service_layer.handlers import receive_advice_from_agency

__all__ = [
    "ADVICE",
    "CHILD_FACTS",
    "when_advice_submitted_record_it_received",
    "when_child_event_record_age_facts",
    "when_story_revised_keep_it_for_section_a",
]

_log = logging.getLogger(__name__)

child_facts = Reactions()


@child_facts.handles(ChildRegisteredFacts, DetailsChangedFacts)
async def when_child_event_record_age_facts(event: ChildFacts, delivery: Delivery) -> None:
    """Children events repeat the age facts (year group, under 5): keep the latest. The
    registration makes the child known to the shared plan, from its moment."""
    registered = isinstance(event, ChildRegisteredFacts)
    await repository.upsert_child_facts(
        delivery.session,
        event.child_id,
        event.date_of_birth,
        event.compulsory_school_age_ends_on,
        registered_at=delivery.envelope.time if registered else None,
    )


@child_facts.handles(StoryRevisedFacts)
async def when_story_revised_keep_it_for_section_a(
    event: StoryRevisedFacts, delivery: Delivery
) -> None:
    """Section A of a draft plan starts from the child's own story, told once; the shared
    plan's section A shows it, part by part, with who told each part."""
    await repository.upsert_child_facts(
        delivery.session,
        event.child_id,
        event.date_of_birth,
        event.compulsory_school_age_ends_on,
        story=event.story,
        story_revision=event.revision,
    )
    await put_story(event.child_id, event.story, delivery)


advice = Reactions()


@advice.handles(AdviceSubmittedFacts)
async def when_advice_submitted_record_it_received(
    event: AdviceSubmittedFacts, delivery: Delivery
) -> None:
    """Any agency's advice naming one of our advice requests is recorded as received (with
    the agency's event id); advice about a request we do not know is passed over."""
    known = await receive_advice_from_agency(
        delivery.uow, event.advice_request_id, event.submitted_on, _event_id(delivery)
    )
    if not known:
        _log.info(
            "advice for an unknown advice request passed over",
            extra={"advice_request_id": str(event.advice_request_id)},
        )


def _event_id(delivery: Delivery) -> UUID | None:
    # OnePlan's event ids are UUIDs; an integrator's may not be (then none is recorded).
    try:
        return UUID(delivery.envelope.id)
    except ValueError:
        return None


CHILD_FACTS = Subscription("child_facts", reads="children", reactions=child_facts)
ADVICE = Subscription(
    "advice",
    reads=EVERY_SERVICE,
    types="advice.submitted",
    reactions=advice,
    parked_loses="advice received: an assessment shows advice as awaited that has arrived",
)
