"""The generated NATS permissions on a real nats-server: each service user gets least privilege.

The users are rendered by ``oneplan_kit.deployment`` from the installed services' definitions
plus synthetic ones built here, with the subscriptions their issues describe (plans follows
every agency's contributions and reads children; referrals reads plans' advice requests;
transport reads plans and children, never health's REFERRALS; insights only consumes). The
rendered ``accounts.conf`` sits beside a copy of ``deploy/nats/nats-server.conf`` and a
nats-server runs them with only the port, the monitoring port and the store overridden. The
boundaries are then proven with the kit's own code (``ensure_stream``, ``DurableConsumer``,
``StreamFollower``, ``ConsentReplica``, ``connect_nats``), not hand-written API requests.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from oneplan_events._jsapi import PinnedConsumerConfig, create_or_update_consumer
from oneplan_events.catalogue import (
    Catalogue,
    ContributionSubmitted,
    DisclosureRecorded,
    register_contribution_events,
    register_disclosure_event,
)
from oneplan_events.consumer import ConsumerTiming, DurableConsumer
from oneplan_events.discovery import StreamFollower
from oneplan_events.envelope import Envelope
from oneplan_events.reactions import Delivery, Reactions
from oneplan_events.schema import BACKBONE_METADATA
from oneplan_events.store import EventStore
from oneplan_events.streams import ensure_stream
from oneplan_events.uow import UnitOfWork
from oneplan_kit import EVERY_SERVICE, ServiceDefinition, ServiceSettings, Subscription
from oneplan_kit.deployment import nats_accounts, stream_reads
from oneplan_kit.nats import connect_nats, inbox_prefix_for
from oneplan_kit.service import installed_services
from oneplan_sharing import ConsentReplica
from oneplan_testkit import NatsProcess
from oneplan_testkit.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVER_CONFIG = ROOT / "deploy" / "nats" / "nats-server.conf"
FAST = ConsumerTiming(ack_wait=3.0, expires=0.5, heartbeat=0.1, pin_ttl=1.0, replay_every=0.1)


def _synthetic(name: str, port: int, *subscriptions: Subscription, **options: Any) -> Any:
    return ServiceDefinition(
        name=name,
        title=f"OnePlan {name} (test)",
        port=port,
        catalogue=Catalogue(name),
        subscriptions=subscriptions,
        uses_consent_replica=options.pop("replica", True),
        **options,
    )


# The services whose issues are not built yet, as their issues describe them.
SYNTHETIC = [
    _synthetic(
        "plans",
        18003,
        Subscription(
            "contributions",
            reads=EVERY_SERVICE,
            types="contribution.submitted",
            reactions=Reactions(),
        ),
        Subscription("child_facts", reads="children", reactions=Reactions()),
    ),
    _synthetic(
        "referrals", 18004, Subscription("advice_requests", reads="plans", reactions=Reactions())
    ),
    _synthetic(
        "transport",
        18006,
        Subscription("plan_events", reads="plans", reactions=Reactions()),
        Subscription("child_facts", reads="children", reactions=Reactions()),
    ),
    _synthetic(
        "insights",
        18007,
        Subscription("measures", reads="plans", reactions=Reactions()),
        publishes=False,
        replica=False,
    ),
]
DEFINITIONS: dict[str, ServiceDefinition] = {
    **installed_services(),
    **{definition.name: definition for definition in SYNTHETIC},
}
PASSWORDS = {f"NATS_{name.upper()}_PASSWORD": f"test-{name}" for name in DEFINITIONS}
PASSWORDS["NATS_ADMIN_PASSWORD"] = "test-admin"
# Added by this test only: a user with no restrictions, to look at what the services did.
INSPECTOR = """\
      { user: inspector, password: test-inspector }
    ]
  }
  SYS {"""


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deploy/nats/nats-server.conf beside the accounts rendered from ``DEFINITIONS``."""
    folder = tmp_path_factory.mktemp("nats-config")
    shutil.copy(SERVER_CONFIG, folder / "nats-server.conf")
    accounts = nats_accounts(list(DEFINITIONS.values()))
    assert accounts.count("    ]\n  }\n  SYS {") == 1
    (folder / "accounts.conf").write_text(accounts.replace("    ]\n  }\n  SYS {", INSPECTOR))
    return folder


@pytest.fixture
def deploy_nats(
    config_dir: Path, nats_server_factory: Callable[..., NatsProcess]
) -> Iterator[NatsProcess]:
    """A fresh nats-server per test, running the rendered config (passwords from the
    environment, as docker-compose.yml passes them)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in PASSWORDS.items():
            patch.setenv(name, value)
        server = nats_server_factory(
            config=config_dir / "nats-server.conf", extra_args=("-m", str(free_port()))
        )
    yield server
    server.cleanup()


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A database with the backbone tables the consumers keep their positions in."""
    engine: AsyncEngine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'positions.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(BACKBONE_METADATA.create_all)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


class User:
    """A connection as one service user (the kit's inbox prefix), and the errors it got."""

    def __init__(self, name: str, client: Client, errors: list[str]) -> None:
        self.name = name
        self.client = client
        self.errors = errors

    async def wait_for_error(self, *fragments: str, seconds: float = 5.0) -> str:
        """The first error containing every one of ``fragments`` (lowercase)."""
        async with asyncio.timeout(seconds):
            while True:
                for error in self.errors:
                    if all(fragment in error for fragment in fragments):
                        return error
                await asyncio.sleep(0.05)

    def violations(self) -> list[str]:
        return [error for error in self.errors if "permissions violation" in error]


@asynccontextmanager
async def connect_as(server: NatsProcess, user: str, password: str = "") -> AsyncIterator[User]:
    errors: list[str] = []

    async def on_error(error: Exception) -> None:
        errors.append(str(error).lower())

    client = await nats.connect(
        server.url,
        user=user,
        password=password or f"test-{user}",
        inbox_prefix=inbox_prefix_for(user),
        error_cb=on_error,
        allow_reconnect=False,
        connect_timeout=5,
    )
    try:
        yield User(user, client, errors)
    finally:
        await client.close()


async def ensure_streams(server: NatsProcess, *services: str) -> None:
    """Each service creates its own stream, as its lifespan does."""
    for name in services:
        async with connect_as(server, name) as owner:
            await ensure_stream(owner.client.jetstream(timeout=5), DEFINITIONS[name].stream)
            assert owner.violations() == []


def envelope_of(catalogue: Catalogue, event: Any, stream_id: str) -> Envelope:
    """``event`` as its service's relay would publish it: the first of its record."""
    source = f"/oneplan/{catalogue.service}"
    envelope = catalogue.envelope_for(event, source=source, subject=stream_id)
    return dataclasses.replace(envelope, streamversion=1)


def contribution(publisher: str) -> Envelope:
    catalogue = Catalogue(publisher)
    model = register_contribution_events(publisher, catalogue).submitted
    event = model(
        contribution_id=uuid.uuid4(),
        child_id=uuid.uuid4(),
        section="F",
        data_class="education",
        title="Small-group phonics",
        content="Three times a week.",
        author="teacher-1",
        agency="school",
    )
    return envelope_of(catalogue, event, f"contribution/{event.contribution_id}")


def disclosure(publisher: str) -> Envelope:
    catalogue = Catalogue(publisher)
    model = register_disclosure_event(publisher, catalogue)
    event = model(
        disclosure_id=uuid.uuid4(),
        child_id=uuid.uuid4(),
        owner_agency="send",
        recipient_agency="transport",
        recipient="officer-1",
        data_classes=("identity",),
        purpose="transport_planning",
        basis="consent",
        disclosed_at="2026-03-02T10:00:00Z",
    )
    return envelope_of(catalogue, event, f"disclosure/{event.disclosure_id}")


async def publish(server: NatsProcess, envelope: Envelope) -> None:
    """Publish as the event's own service (``source`` names it)."""
    async with connect_as(server, envelope.source.rsplit("/", 1)[-1]) as owner:
        headers, body = envelope.to_nats()
        await owner.client.jetstream(timeout=5).publish(
            envelope.nats_subject, body, headers=headers
        )
        assert owner.violations() == []


class Applied:
    """What the test consumers applied, by event id."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def reactions(self) -> Reactions:
        reactions = Reactions()

        @reactions.handles(ContributionSubmitted, DisclosureRecorded)
        async def record(event: Any, delivery: Delivery) -> None:
            self.ids.append(delivery.envelope.id)

        return reactions

    async def until(self, event_id: str, seconds: float = 15.0) -> None:
        async with asyncio.timeout(seconds):
            while True:
                if event_id in self.ids:
                    return
                await asyncio.sleep(0.05)


def consumer_of(
    user: User,
    subscription: Subscription,
    stream: str,
    sessions: async_sessionmaker[AsyncSession],
    applied: Applied,
) -> DurableConsumer:
    """The consumer the kit runs for ``subscription`` (oneplan_kit.app), on ``stream``."""
    definition = DEFINITIONS[user.name]
    catalogue = definition.catalogue

    def work(session: AsyncSession, envelope: Envelope) -> UnitOfWork:
        return UnitOfWork.bound_to(session, EventStore(catalogue), source=definition.source)

    return DurableConsumer(
        user.client,
        sessions,
        name=subscription.consumer_name(
            definition.name, None if subscription.stream is not None else stream
        ),
        stream=stream,
        reactions=applied.reactions(),
        catalogue=catalogue,
        work_factory=work,
        types=subscription.types,
        backoff=(0.1, 0.2),
        timing=FAST,
    )


def subscription_of(service: str, name: str) -> Subscription:
    return next(s for s in DEFINITIONS[service].subscriptions if s.name == name)


@asynccontextmanager
async def running(consumer: DurableConsumer | StreamFollower) -> AsyncIterator[None]:
    task = asyncio.create_task(consumer.run())
    try:
        yield
    finally:
        stopped = consumer.stop()
        if stopped is not None:
            await asyncio.wait_for(stopped, 15)
        await asyncio.wait_for(task, 15)


async def received(subscription: Any, seconds: float) -> Msg | None:
    """The next message on a core subscription, or None when none comes within ``seconds``."""
    try:
        message: Msg = await subscription.next_msg(timeout=seconds)
    except nats.errors.TimeoutError:
        return None
    return message


async def test_a_service_publishes_only_its_own_subjects(deploy_nats: NatsProcess) -> None:
    async with (
        connect_as(deploy_nats, "inspector", "test-inspector") as inspector,
        connect_as(deploy_nats, "transport") as transport,
        connect_as(deploy_nats, "insights") as insights,
    ):
        listening = await inspector.client.subscribe("oneplan.>")
        await inspector.client.flush()
        await transport.client.publish("oneplan.plans.plan.issued", b"{}")
        await transport.client.flush()
        error = await transport.wait_for_error("permissions violation for publish")
        assert '"oneplan.plans.plan.issued"' in error
        # Insights publishes nothing at all (publishes=False), not even under its own name.
        await insights.client.publish("oneplan.insights.measure.computed", b"{}")
        await insights.client.flush()
        await insights.wait_for_error("permissions violation for publish", "oneplan.insights")
        await transport.client.publish("oneplan.transport.case.opened", b"{}")
        await transport.client.flush()
        message = await received(listening, seconds=5)
        assert message is not None
        assert message.subject == "oneplan.transport.case.opened"
        assert await received(listening, seconds=0.5) is None


async def test_core_subscriptions_only_to_the_services_own_inbox(
    deploy_nats: NatsProcess,
) -> None:
    """No events over core NATS (JetStream delivers into the inbox), no other inbox."""
    forbidden = ("oneplan.referrals.>", "oneplan.plans.>", "_INBOX_plans.>", "_INBOX_plans.abc")
    for subject in (*forbidden, "_INBOX.>"):
        async with connect_as(deploy_nats, "transport") as transport:
            await transport.client.subscribe(subject)
            await transport.client.flush()
            error = await transport.wait_for_error("permissions violation for subscription")
        assert f'"{subject.lower()}"' in error


async def test_a_service_consumes_the_streams_it_reads_with_its_own_durables(
    deploy_nats: NatsProcess, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Transport's plan_events consumer creates its durables on PLANS, pulls and acks."""
    await ensure_streams(deploy_nats, "plans")
    subscription = subscription_of("transport", "plan_events")
    applied = Applied()
    async with (
        connect_as(deploy_nats, "transport") as transport,
        connect_as(deploy_nats, "referrals") as referrals,
        connect_as(deploy_nats, "inspector", "test-inspector") as inspector,
    ):
        eavesdropper = await referrals.client.subscribe("_INBOX_transport.>")
        consumer = consumer_of(transport, subscription, "PLANS", sessions, applied)
        async with running(consumer):
            event = contribution("plans")
            await publish(deploy_nats, event)
            await applied.until(event.id)
        assert transport.violations() == []
        [read] = stream_reads(DEFINITIONS["transport"], subscription, list(DEFINITIONS.values()))
        created = await inspector.client.jetstream(timeout=5).consumers_info("PLANS")
        assert sorted(info.name for info in created) == sorted(read.durables)
        # Another service cannot listen to transport's deliveries.
        await referrals.wait_for_error("permissions violation for subscription", "_inbox_transport")
        assert await received(eavesdropper, seconds=0.2) is None


async def test_a_service_cannot_consume_a_stream_it_does_not_read(
    deploy_nats: NatsProcess, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Transport never reads health's REFERRALS: the kit's consumer is refused at the first
    request, and so is a durable of another name or a wider filter on a stream it does read."""
    await ensure_streams(deploy_nats, "plans", "referrals")
    subscription = subscription_of("transport", "plan_events")
    async with (
        connect_as(deploy_nats, "transport") as transport,
        connect_as(deploy_nats, "inspector", "test-inspector") as inspector,
    ):
        consumer = consumer_of(transport, subscription, "REFERRALS", sessions, Applied())
        async with running(consumer):
            error = await transport.wait_for_error("permissions violation for publish")
        assert '"$js.api.stream.info.referrals"' in error
        own = "transport_plan_events_p0"
        for stream, name, subject in (
            ("REFERRALS", own, "oneplan.referrals.*.*.*.0"),
            ("PLANS", "transport_everything", "oneplan.plans.*.*.*.0"),
            ("PLANS", own, "oneplan.plans.>"),
        ):
            config = PinnedConsumerConfig(
                name=name, filter_subject=subject, ack_wait=3, max_ack_pending=10, pin_ttl=1
            )
            with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
                await create_or_update_consumer(transport.client, stream, config, wait=1)
            await transport.wait_for_error(
                "permissions violation for publish", f"consumer.create.{stream.lower()}.{name}"
            )
        inspect = inspector.client.jetstream(timeout=5)
        assert await inspect.consumers_info("REFERRALS") == []
        assert await inspect.consumers_info("PLANS") == []


async def test_a_follower_reads_every_stream_with_its_own_durables(
    deploy_nats: NatsProcess, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Consent's disclosures follower (the real subscription) follows each service's stream,
    including one created after it started (the stream-created advisory)."""
    await ensure_streams(deploy_nats, "children", "consent", "plans")
    subscription = subscription_of("consent", "disclosures")
    applied = Applied()
    async with connect_as(deploy_nats, "consent") as consent:
        follower = StreamFollower(
            consent.client,
            name=subscription.consumer_name("consent"),
            types=subscription.types or "",
            build=lambda stream: consumer_of(consent, subscription, stream, sessions, applied),
            interval=60,
        )
        async with running(follower):
            first = disclosure("children")
            await publish(deploy_nats, first)
            await applied.until(first.id)
            await ensure_streams(deploy_nats, "transport")
            later = disclosure("transport")
            await publish(deploy_nats, later)
            await applied.until(later.id, seconds=10)
        assert {"CHILDREN", "CONSENT", "PLANS", "TRANSPORT"} <= set(follower.streams)
        assert consent.violations() == []


async def test_the_consent_replica_runs_only_where_the_definition_asks_for_it(
    deploy_nats: NatsProcess,
) -> None:
    await ensure_streams(deploy_nats, "consent")
    async with (
        connect_as(deploy_nats, "transport") as transport,
        connect_as(deploy_nats, "insights") as insights,
    ):
        allowed = ConsentReplica(transport.client.jetstream(timeout=2))
        refused = ConsentReplica(insights.client.jetstream(timeout=1))
        async with running(allowed), running(refused):
            async with asyncio.timeout(10):
                while True:
                    if allowed.ready:
                        break
                    await asyncio.sleep(0.05)
            await insights.wait_for_error("permissions violation for publish", "consent")
            assert not refused.ready
        assert transport.violations() == []


async def test_the_kits_connection_consumes_under_its_permissions(
    deploy_nats: NatsProcess, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """connect_nats (what every service runs) creates, pulls and acks with its inbox only."""
    await ensure_streams(deploy_nats, "children")
    url = f"nats://consent:test-consent@127.0.0.1:{deploy_nats.port}"
    settings = ServiceSettings(env="development", nats_url=url, nats_connect_timeout=5.0)
    client = await connect_nats(settings, "consent")
    try:
        assert client.new_inbox().startswith("_INBOX_consent.")
        consent = User("consent", client, [])
        applied = Applied()
        subscription = subscription_of("consent", "child_facts")
        consumer = consumer_of(consent, subscription, "CHILDREN", sessions, applied)
        async with running(consumer):
            event = contribution("children")
            await publish(deploy_nats, event)
            await applied.until(event.id)
        assert consumer.stats.applied == 1
    finally:
        await client.close()


async def _aim_consent_deliveries_at(user: User, subject: str, **config: Any) -> str:
    """What no subject permission can see: an ephemeral push consumer on CONSENT whose
    deliver subject (in the request's body) is ``subject``; the consumer's name."""
    body = {
        "stream_name": "CONSENT",
        "config": {"deliver_subject": subject, "ack_policy": "none", **config},
    }
    answer = await user.client.request(
        "$JS.API.CONSUMER.CREATE.CONSENT", json.dumps(body).encode(), timeout=5
    )
    created = json.loads(answer.data)
    assert "error" not in created, created
    name: str = created["name"]
    return name


async def _messages(inspector: User, stream: str) -> int:
    info = await inspector.client.jetstream(timeout=5).stream_info(stream)
    return int(info.state.messages)


@pytest.mark.parametrize(
    "config",
    [{}, {"idle_heartbeat": 200_000_000, "flow_control": True}, {"deliver_group": "g"}],
    ids=["plain", "heartbeats", "queue-group"],
)
async def test_a_push_consumer_aimed_at_another_stream_delivers_nothing_into_it(
    deploy_nats: NatsProcess, config: dict[str, Any]
) -> None:
    """The replica's user may create ephemeral consumers on CONSENT and so chooses their deliver
    subject, which no permission constrains: transport aims one at a plans subject, which
    PLANS would store. JetStream delivers a push consumer's messages only while a client is
    subscribed to that exact subject (neither the stream capturing it nor a wildcard
    subscription such as an operator's `oneplan.>` counts), and no service user may subscribe
    to anything but its own inbox: nothing arrives."""
    await ensure_streams(deploy_nats, "consent", "plans")
    await publish(deploy_nats, disclosure("consent"))
    target = f"oneplan.plans.plan.issued.{uuid.uuid4()}.0"
    async with (
        connect_as(deploy_nats, "transport") as transport,
        connect_as(deploy_nats, "inspector", "test-inspector") as inspector,
    ):
        tap = await inspector.client.subscribe("oneplan.>")
        name = await _aim_consent_deliveries_at(transport, target, **config)
        await asyncio.sleep(1.5)
        assert await _messages(inspector, "PLANS") == 0
        consumer = await inspector.client.jetstream(timeout=5).consumer_info("CONSENT", name)
        assert (consumer.delivered.stream_seq, consumer.num_pending) == (0, 1)
        assert tap.pending_msgs == 0
        # Subscribing to the target itself is what the service user may not do.
        await transport.client.subscribe(target)
        await transport.client.flush()
        await transport.wait_for_error("permissions violation for subscription")
        await asyncio.sleep(0.5)
        assert await _messages(inspector, "PLANS") == 0


async def test_the_known_limit_a_subscriber_to_the_exact_subject_opens_the_way(
    deploy_nats: NatsProcess,
) -> None:
    """deploy/README.md's known limit: while a user without subscribe limits listens on the
    exact subject aimed at, the deliveries land in PLANS. They are CONSENT's messages, not
    anything the user wrote, stored under their CONSENT subject, which no plans durable's
    filter matches. Aimed at the JetStream API, they are not taken as requests."""
    await ensure_streams(deploy_nats, "consent", "plans")
    event = disclosure("consent")
    await publish(deploy_nats, event)
    target = f"oneplan.plans.plan.issued.{uuid.uuid4()}.0"
    api = "$JS.API.STREAM.DELETE.CONSENT"
    async with (
        connect_as(deploy_nats, "transport") as transport,
        connect_as(deploy_nats, "inspector", "test-inspector") as inspector,
    ):
        for subject in (target, api):
            await inspector.client.subscribe(subject)
        await inspector.client.flush()
        for subject in (target, api):
            await _aim_consent_deliveries_at(transport, subject)
        async with asyncio.timeout(5):
            while True:
                if await _messages(inspector, "PLANS"):
                    break
                await asyncio.sleep(0.05)
        inspect = inspector.client.jetstream(timeout=5)
        relayed = await inspect.get_msg("PLANS", 1)
        assert (relayed.headers or {})["ce-id"] == event.id
        assert relayed.subject.startswith(f"{event.nats_subject}.")  # CONSENT's, partitioned
        filters = [
            subject
            for definition in DEFINITIONS.values()
            for subscription in definition.subscriptions
            for read in stream_reads(definition, subscription, list(DEFINITIONS.values()))
            if read.stream == "PLANS"
            for _, subject in read.consumers
        ]
        assert filters
        assert all(subject.startswith("oneplan.plans.") for subject in filters)
        await asyncio.sleep(0.5)
        assert await _messages(inspector, "CONSENT") == 1  # the API took no request
