"""The deployment files as pure functions of service definitions (no server, no checkout)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from oneplan_events.catalogue import Catalogue
from oneplan_events.consumer import DurableConsumer
from oneplan_events.reactions import Reactions
from oneplan_kit import EVERY_SERVICE, ServiceDefinition, Subscription
from oneplan_kit.deployment import (
    ACCOUNTS_PATH,
    ASYNCAPI_PATH,
    COMPOSE_PATH,
    ENV_EXAMPLE_PATH,
    generated_files,
    nats_accounts,
    permissions_of,
    stream_reads,
)


def service(name: str, port: int, *subscriptions: Subscription, **options: Any) -> Any:
    return ServiceDefinition(
        name=name,
        title=f"OnePlan {name}",
        port=port,
        catalogue=Catalogue(name),
        subscriptions=subscriptions,
        **options,
    )


CHILDREN = service("children", 8001, journey_step=10, uses_consent_replica=True)
CONSENT = service(
    "consent",
    8002,
    Subscription(
        "disclosures", reads=EVERY_SERVICE, types="disclosure.recorded", reactions=Reactions()
    ),
    journey_step=20,
)
TRANSPORT = service(
    "transport",
    8006,
    Subscription("plan_events", reads="plans", reactions=Reactions()),
    partitions=2,
)
PLANS = service("plans", 8003, partitions=3, journey_step=30)
INSIGHTS = service(
    "insights",
    8007,
    Subscription("measures", reads="children", types="child.registered", reactions=Reactions()),
    publishes=False,
)
ALL = [TRANSPORT, INSIGHTS, PLANS, CONSENT, CHILDREN]


def planned(definition: ServiceDefinition, subscription: Subscription, stream: str) -> list[Any]:
    """The durables and filters DurableConsumer itself plans on ``stream`` (its ``_plan``)."""
    publisher = next(d for d in ALL if d.stream.name == stream)
    consumer = DurableConsumer(
        None,  # type: ignore[arg-type]  # planning needs no connection
        None,  # type: ignore[arg-type]
        name=subscription.consumer_name(
            definition.name, None if subscription.stream is not None else stream
        ),
        stream=stream,
        reactions=Reactions(),
        catalogue=definition.catalogue,
        work_factory=lambda session, envelope: None,  # type: ignore[arg-type,return-value]
        types=subscription.types,
    )
    info = SimpleNamespace(config=publisher.stream.config())
    return [(p.durable, p.filter_subject) for p in consumer._plan(info)]


@pytest.mark.parametrize(
    ("definition", "subscription"),
    [(d, s) for d in ALL for s in d.subscriptions],
    ids=lambda value: getattr(value, "name", ""),
)
def test_the_durables_are_the_ones_the_consumer_creates(
    definition: ServiceDefinition, subscription: Subscription
) -> None:
    reads = stream_reads(definition, subscription, ALL)
    assert reads
    for read in reads:
        assert list(read.consumers) == planned(definition, subscription, read.stream)


def test_a_follower_reads_every_publishing_service_including_its_own() -> None:
    [subscription] = CONSENT.subscriptions
    reads = stream_reads(CONSENT, subscription, ALL)
    assert [read.stream for read in reads] == ["CHILDREN", "CONSENT", "PLANS", "TRANSPORT"]
    permissions = permissions_of(CONSENT, ALL)
    assert "$JS.EVENT.ADVISORY.STREAM.CREATED.*" in permissions.subscribe
    assert "$JS.API.CONSUMER.MSG.NEXT.PLANS.consent_disclosures_plans_p2" in permissions.publish
    assert not any(".INSIGHTS" in subject for subject in permissions.publish)


def test_a_stream_of_a_service_not_installed_has_the_default_partitions() -> None:
    [read] = stream_reads(TRANSPORT, TRANSPORT.subscriptions[0], [TRANSPORT])
    assert read.durables == [f"transport_plan_events_p{n}" for n in range(4)]


def test_each_user_may_publish_only_its_own_subjects_and_stream() -> None:
    permissions = permissions_of(TRANSPORT, ALL)
    assert permissions.publish[:6] == (
        "oneplan.transport.>",
        "$JS.API.INFO",
        "$JS.API.STREAM.NAMES",
        "$JS.API.STREAM.CREATE.TRANSPORT",
        "$JS.API.STREAM.UPDATE.TRANSPORT",
        "$JS.API.STREAM.INFO.TRANSPORT",
    )
    others = [s for s in permissions.publish if s.startswith("oneplan.")]
    assert others == ["oneplan.transport.>"]
    assert "$JS.API.CONSUMER.CREATE.PLANS.transport_plan_events_p2.oneplan.plans.*.*.*.2" in (
        permissions.publish
    )
    assert "$JS.ACK.PLANS.transport_plan_events_p0.>" in permissions.publish
    assert permissions.subscribe == ("_INBOX_transport.>",)
    assert not any("CONSENT" in subject for subject in permissions.publish)


def test_a_consumer_only_service_publishes_nothing() -> None:
    permissions = permissions_of(INSIGHTS, ALL)
    assert not any(s.startswith("oneplan.") for s in permissions.publish)
    assert not any(".INSIGHTS" in s for s in permissions.publish)
    assert (
        "$JS.API.CONSUMER.CREATE.CHILDREN.insights_measures_p0.oneplan.children.child.registered.*.0"
        in permissions.publish
    )


def test_the_consent_replica_reads_consent_through_an_ordered_consumer() -> None:
    permissions = permissions_of(CHILDREN, ALL)
    assert permissions.publish[-3:] == (
        "$JS.API.STREAM.INFO.CONSENT",
        "$JS.API.CONSUMER.CREATE.CONSENT",
        "$JS.FC.CONSENT.>",
    )


def test_the_accounts_file_has_a_user_per_service_and_the_operators_account() -> None:
    text = nats_accounts(ALL)
    users = [line.split()[-1] for line in text.splitlines() if line.strip().startswith("user:")]
    assert users == ["children", "consent", "plans", "insights", "transport"]
    assert "password: $NATS_TRANSPORT_PASSWORD" in text
    assert "users: [{ user: admin, password: $NATS_ADMIN_PASSWORD }]" in text
    assert text.rstrip().endswith("system_account: SYS")


def test_the_compose_file_wires_every_service_the_same_way() -> None:
    files = {generated.path: generated.text for generated in generated_files(ALL)}
    assert set(files) == {ACCOUNTS_PATH, COMPOSE_PATH, ENV_EXAMPLE_PATH, ASYNCAPI_PATH}
    compose = yaml.safe_load(files[COMPOSE_PATH])
    services = compose["services"]
    assert list(services) == [
        "nats",
        "postgres",
        "children",
        "consent",
        "plans",
        "insights",
        "transport",
        "otel-collector",
        "jaeger",
    ]
    assert services["nats"]["image"] == "nats:2.11-alpine"
    assert services["postgres"]["environment"]["ONEPLAN_SERVICES"] == (
        "children consent plans insights transport"
    )
    transport = services["transport"]
    assert transport["ports"] == ["8006:8000"]
    assert transport["environment"]["TRANSPORT_DATABASE_URL"] == (
        "postgresql+asyncpg://oneplan_transport:${DB_PASSWORD_TRANSPORT:-transport-dev}"
        "@postgres:5432/oneplan_transport"
    )
    assert "NATS_INSIGHTS_PASSWORD=change-me" in files[ENV_EXAMPLE_PATH].splitlines()
