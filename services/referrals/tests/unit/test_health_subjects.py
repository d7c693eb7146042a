"""Health subjects on NATS: the generated permissions (deploy/nats/accounts.conf) let a
service consume a REFERRALS event type only when one of its reactions handles that type.

`oneplan generate` derives each user's consumer filters from its subscriptions' `types`; a
subscription reading the whole REFERRALS stream would be handed every health event, clinical
contributions included. This check holds every installed service to what its handlers need,
and is shown to fail on an over-broad synthetic one.
"""

from __future__ import annotations

from collections.abc import Sequence

from oneplan_events.catalogue import Catalogue
from oneplan_events.reactions import Delivery, Reactions, matches
from oneplan_kit import ServiceDefinition, Subscription
from oneplan_kit.deployment import permissions_of
from oneplan_kit.service import installed_services
from oneplan_referrals.events import CATALOGUE, ReferralReceived

_CREATE = "$JS.API.CONSUMER.CREATE.REFERRALS"
PUBLISHED = [info.name for info in CATALOGUE.published()]
RECORD = "0b6f3c1e-8d55-4a57-9d55-1f3f7b1f0c11"
PARTITIONS = installed_services()["referrals"].partitions


def _handled_on_referrals(definition: ServiceDefinition) -> list[str]:
    patterns: list[str] = []
    for subscription in definition.subscriptions:
        if subscription.stream not in (None, "REFERRALS"):
            continue
        patterns.extend(subscription.reactions.handled)
        patterns.extend(subscription.reactions.patterns)
    return patterns


def _may_consume(filters: list[str], event_type: str) -> bool:
    # A stored subject is <type>.<record key>.<partition>.
    return any(matches(f, f"{event_type}.{RECORD}.{n}") for f in filters for n in range(PARTITIONS))


def overreach(definition: ServiceDefinition, services: Sequence[ServiceDefinition]) -> list[str]:
    """REFERRALS types ``definition``'s NATS user may consume that none of its handlers take."""
    allowed = permissions_of(definition, services).publish
    if any(
        subject == _CREATE or subject.startswith("$JS.API.DIRECT.GET.REFERRALS")
        for subject in allowed
    ):
        return ["an unfiltered consumer or direct get on REFERRALS"]
    filters = [
        ".".join(subject.split(".")[6:]) for subject in allowed if subject.startswith(f"{_CREATE}.")
    ]
    handled = _handled_on_referrals(definition)
    return [
        event_type
        for event_type in PUBLISHED
        if _may_consume(filters, event_type)
        and not any(matches(pattern, event_type) for pattern in handled)
    ]


def test_no_installed_service_may_consume_health_events_it_does_not_handle() -> None:
    services = list(installed_services().values())
    assert "referrals" in {s.name for s in services}
    faults = {s.name: overreach(s, services) for s in services if s.name != "referrals"}
    assert {name: types for name, types in faults.items() if types} == {}


def test_the_referrals_service_itself_reads_no_referrals_subjects() -> None:
    services = list(installed_services().values())
    referrals = installed_services()["referrals"]
    allowed = permissions_of(referrals, services).publish
    assert not [s for s in allowed if s.startswith(f"{_CREATE}.")]


def test_a_service_reading_the_whole_stream_for_one_type_is_flagged() -> None:
    reactions = Reactions()

    @reactions.handles(ReferralReceived)
    async def count_referral(event: ReferralReceived, delivery: Delivery) -> None:
        """A synthetic counter that only needs referral.received."""

    greedy = ServiceDefinition(
        name="greedy",
        title="Greedy",
        port=8999,
        catalogue=Catalogue("greedy"),
        subscriptions=[Subscription("everything", reads="referrals", reactions=reactions)],
        publishes=False,
    )
    narrow = ServiceDefinition(
        name="narrow",
        title="Narrow",
        port=8998,
        catalogue=Catalogue("narrow"),
        subscriptions=[
            Subscription(
                "received", reads="referrals", types="referral.received", reactions=reactions
            )
        ],
        publishes=False,
    )
    services = [*installed_services().values(), greedy, narrow]
    flagged = overreach(greedy, services)
    assert "oneplan.referrals.contribution.submitted" in flagged
    assert "oneplan.referrals.referral.received" not in flagged
    assert overreach(narrow, services) == []
