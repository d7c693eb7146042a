"""deploy/nats/nats-server.conf on a real nats-server: each service user gets least privilege.

The server is started from the committed config with only the port, the monitoring port and
the store directory overridden, so what is proven here is what docker-compose.yml runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import StreamConfig

from oneplan_kit import ServiceSettings
from oneplan_kit.app import connect_nats, inbox_prefix_for
from oneplan_testkit import NatsProcess
from oneplan_testkit.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "nats" / "nats-server.conf"
USERS = ("children", "consent", "plans", "referrals", "socialcare", "transport", "insights")
PASSWORDS = {f"NATS_{user.upper()}_PASSWORD": f"test-{user}" for user in USERS}
PASSWORDS["NATS_ADMIN_PASSWORD"] = "test-admin"


@pytest.fixture(scope="module")
def deploy_nats(nats_server_factory: Callable[..., NatsProcess]) -> NatsProcess:
    """A nats-server running the deploy config (passwords from the environment, as in compose)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in PASSWORDS.items():
            patch.setenv(name, value)
        return nats_server_factory(config=CONFIG, extra_args=("-m", str(free_port())))


class Connection:
    """A client connected as one service user, with the asynchronous errors the server sent."""

    def __init__(self, client: Client, errors: list[str]) -> None:
        self.client = client
        self.errors = errors

    async def wait_for_error(self, fragment: str, seconds: float = 5.0) -> str:
        """The first error containing ``fragment`` (lowercase), failing after ``seconds``."""
        async with asyncio.timeout(seconds):
            while True:
                for error in self.errors:
                    if fragment in error:
                        return error
                await asyncio.sleep(0.05)


@asynccontextmanager
async def connect_as(server: NatsProcess, user: str) -> AsyncIterator[Connection]:
    errors: list[str] = []

    async def on_error(error: Exception) -> None:
        errors.append(str(error).lower())

    client = await nats.connect(
        server.url,
        user=user,
        password=f"test-{user}",
        inbox_prefix=inbox_prefix_for(user),
        error_cb=on_error,
        allow_reconnect=False,
        connect_timeout=5,
    )
    try:
        yield Connection(client, errors)
    finally:
        await client.close()


async def received(subscription: Any, seconds: float) -> Msg | None:
    """The next message on a core subscription, or None when none comes within ``seconds``."""
    try:
        message: Msg = await subscription.next_msg(timeout=seconds)
    except nats.errors.TimeoutError:
        return None
    return message


async def test_transport_may_not_subscribe_to_health_subjects(deploy_nats: NatsProcess) -> None:
    async with connect_as(deploy_nats, "transport") as transport:
        await transport.client.subscribe("oneplan.referrals.>")
        await transport.client.flush()
        error = await transport.wait_for_error("permissions violation for subscription")
    assert '"oneplan.referrals.>"' in error


async def test_transport_receives_plan_events(deploy_nats: NatsProcess) -> None:
    async with (
        connect_as(deploy_nats, "transport") as transport,
        connect_as(deploy_nats, "plans") as plans,
    ):
        subscription = await transport.client.subscribe("oneplan.plans.>")
        await transport.client.flush()
        await plans.client.publish("oneplan.plans.plan.issued", b"{}")
        await plans.client.flush()
        message = await received(subscription, seconds=5)
        assert message is not None
        assert message.subject == "oneplan.plans.plan.issued"
        assert transport.errors == []
        assert plans.errors == []


async def test_a_service_may_not_publish_another_services_events(
    deploy_nats: NatsProcess,
) -> None:
    async with (
        connect_as(deploy_nats, "transport") as transport,
        connect_as(deploy_nats, "plans") as plans,
    ):
        subscription = await plans.client.subscribe("oneplan.plans.>")
        await plans.client.flush()
        await transport.client.publish("oneplan.plans.plan.issued", b"{}")
        await transport.client.flush()
        error = await transport.wait_for_error("permissions violation for publish")
        assert '"oneplan.plans.plan.issued"' in error
        assert await received(subscription, seconds=0.5) is None


async def test_jetstream_reads_follow_the_same_boundaries(deploy_nats: NatsProcess) -> None:
    """Transport reads the PLANS stream through a durable consumer, but not REFERRALS."""
    async with (
        connect_as(deploy_nats, "plans") as plans,
        connect_as(deploy_nats, "referrals") as referrals,
        connect_as(deploy_nats, "transport") as transport,
    ):
        plans_js = plans.client.jetstream(timeout=5)
        await plans_js.add_stream(StreamConfig(name="PLANS", subjects=["oneplan.plans.>"]))
        await referrals.client.jetstream(timeout=5).add_stream(
            StreamConfig(name="REFERRALS", subjects=["oneplan.referrals.>"])
        )
        await plans_js.publish("oneplan.plans.plan.issued", b"{}", stream="PLANS")

        transport_js = transport.client.jetstream(timeout=2)
        subscription = await transport_js.pull_subscribe(
            "oneplan.plans.>", durable="transport-plans", stream="PLANS"
        )
        [message] = await subscription.fetch(1, timeout=5)
        await message.ack()
        assert message.subject == "oneplan.plans.plan.issued"

        with pytest.raises(nats.errors.TimeoutError):
            await transport_js.pull_subscribe(
                "oneplan.referrals.>", durable="transport-health", stream="REFERRALS"
            )
        error = await transport.wait_for_error("permissions violation for publish")
        assert "referrals" in error


async def test_a_service_may_not_subscribe_to_another_services_inboxes(
    deploy_nats: NatsProcess,
) -> None:
    """Neither another service's inbox prefix nor the shared ``_INBOX.>`` is open to transport."""
    for forbidden in ("_INBOX_plans.>", "_INBOX_plans.abc", "_INBOX.>"):
        async with connect_as(deploy_nats, "transport") as transport:
            await transport.client.subscribe(forbidden)
            await transport.client.flush()
            error = await transport.wait_for_error("permissions violation for subscription")
        assert f'"{forbidden.lower()}"' in error


async def test_another_service_cannot_see_jetstream_deliveries(
    deploy_nats: NatsProcess,
) -> None:
    """Plans pulls from its stream into its own inbox; transport, listening on it, gets nothing."""
    async with (
        connect_as(deploy_nats, "plans") as plans,
        connect_as(deploy_nats, "transport") as transport,
    ):
        plans_js = plans.client.jetstream(timeout=5)
        await plans_js.add_stream(StreamConfig(name="PLANS", subjects=["oneplan.plans.>"]))
        eavesdropper = await transport.client.subscribe("_INBOX_plans.>")
        await transport.client.flush()
        await plans_js.publish("oneplan.plans.plan.reviewed", b"{}", stream="PLANS")
        subscription = await plans_js.pull_subscribe(
            "oneplan.plans.plan.reviewed", durable="plans-own", stream="PLANS"
        )
        [message] = await subscription.fetch(1, timeout=5)
        await message.ack()
        assert message.reply.startswith("$JS.ACK.PLANS.")
        assert await received(eavesdropper, seconds=0.5) is None
        assert plans.errors == []


async def test_the_kits_connection_consumes_jetstream_under_its_permissions(
    deploy_nats: NatsProcess,
) -> None:
    """connect_nats (what every service runs) pulls and acks with its own inbox prefix only."""
    url = f"nats://consent:test-consent@127.0.0.1:{deploy_nats.port}"
    settings = ServiceSettings(env="development", nats_url=url, nats_connect_timeout=5.0)
    async with connect_as(deploy_nats, "children") as children:
        children_js = children.client.jetstream(timeout=5)
        await children_js.add_stream(StreamConfig(name="CHILDREN", subjects=["oneplan.children.>"]))
        await children_js.publish("oneplan.children.child.registered", b"{}", stream="CHILDREN")
    client = await connect_nats(settings, "consent")
    try:
        consent_js = client.jetstream(timeout=5)
        subscription = await consent_js.pull_subscribe(
            "oneplan.children.>", durable="consent-children", stream="CHILDREN"
        )
        [message] = await subscription.fetch(1, timeout=5)
        await message.ack_sync(timeout=5)
        assert message.subject == "oneplan.children.child.registered"
        assert client.new_inbox().startswith("_INBOX_consent.")
    finally:
        await client.close()
