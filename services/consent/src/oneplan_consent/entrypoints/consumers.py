"""What the consent service consumes: child facts from the children service, and every
service's disclosures (`oneplan.<service>.disclosure.recorded`), including services added later.
"""

from __future__ import annotations

from oneplan_consent.adapters import repository
from oneplan_consent.events import (
    ChildAgeFacts,
    ChildRegisteredFacts,
    DetailsChangedFacts,
    FamilyMemberAddedFacts,
    FamilyMemberChangedFacts,
    FamilyMemberFacts,
    FamilyMemberRemovedFacts,
)
from oneplan_events.catalogue import DisclosureRecorded
from oneplan_events.envelope import event_type_of_subject
from oneplan_events.reactions import Delivery, Reactions
from oneplan_kit import EVERY_SERVICE, Subscription

__all__ = [
    "CHILD_FACTS",
    "DISCLOSURES",
    "when_child_event_record_age_facts",
    "when_disclosure_recorded_log_it",
    "when_family_member_added_or_changed_record_responsibility",
    "when_family_member_removed_forget_them",
]

child_facts = Reactions()


@child_facts.handles(ChildRegisteredFacts, DetailsChangedFacts)
async def when_child_event_record_age_facts(event: ChildAgeFacts, delivery: Delivery) -> None:
    """Children events repeat the age facts; keep the latest."""
    await repository.upsert_age_facts(
        delivery.session, event.child_id, event.date_of_birth, event.compulsory_school_age_ends_on
    )


@child_facts.handles(FamilyMemberAddedFacts, FamilyMemberChangedFacts)
async def when_family_member_added_or_changed_record_responsibility(
    event: FamilyMemberFacts, delivery: Delivery
) -> None:
    """Who holds parental responsibility decides who may consent."""
    await when_child_event_record_age_facts(event, delivery)
    await repository.upsert_member(
        delivery.session,
        event.child_id,
        event.member_id,
        event.relationship,
        event.parental_responsibility,
    )


@child_facts.handles(FamilyMemberRemovedFacts)
async def when_family_member_removed_forget_them(
    event: FamilyMemberRemovedFacts, delivery: Delivery
) -> None:
    """A person who left the network can no longer consent."""
    await when_child_event_record_age_facts(event, delivery)
    await repository.remove_member(delivery.session, event.child_id, event.member_id)


disclosures = Reactions()


@disclosures.handles(DisclosureRecorded)
async def when_disclosure_recorded_log_it(event: DisclosureRecorded, delivery: Delivery) -> None:
    """Every service's disclosures, in the child's one log."""
    service = event_type_of_subject(delivery.envelope.type).split(".")[1]
    await repository.add_disclosure(delivery.session, service, event)


CHILD_FACTS = Subscription("child_facts", reads="children", reactions=child_facts)
DISCLOSURES = Subscription(
    "disclosures",
    reads=EVERY_SERVICE,
    types="disclosure.recorded",
    reactions=disclosures,
    # The disclosure log is the audit families read: a parked disclosure is an audit loss.
    parked_loses="an audit entry: a disclosure missing from the family's disclosure log",
)
