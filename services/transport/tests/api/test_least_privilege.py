"""Transport under the generated least-privilege NATS configuration.

`deploy/nats/nats-server.conf` runs beside users rendered by `oneplan_kit.deployment` from the
installed services' definitions (transport's own user and the plans service's, as
`./oneplan generate` writes them). Then:

- the transport service itself, connected as its own user, opens a case from a plan issued by
  the plans user, and the server refuses it nothing;
- a transport team's own system, built on plain nats-py and nothing of OnePlan's, follows new
  plans with the `transport` user's credentials and what the AsyncAPI document says (the
  durables `transport_plan_events_p<n>` on `oneplan.plans.plan.*.*.<n>`, replies under
  `_INBOX_transport`, CloudEvents headers and a JSON body), and sees each new plan once.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from oneplan_events.clock import FixedClock
from oneplan_events.envelope import Envelope
from oneplan_events.streams import ensure_stream, service_stream
from oneplan_kit import create_app
from oneplan_kit.auth import issue_dev_token
from oneplan_kit.deployment import nats_accounts
from oneplan_kit.service import installed_services
from oneplan_testkit import NatsProcess
from oneplan_testkit.ports import free_port
from oneplan_transport.bootstrap import SERVICE
from oneplan_transport.config import TransportSettings
from oneplan_transport.domain.model import case_id_for

from ..transport_testing import ForeignStreams
from .conftest import NOW, wait_for

SERVER_CONFIG = Path(__file__).resolve().parents[4] / "deploy" / "nats" / "nats-server.conf"
DEFINITIONS = list(installed_services().values())
PASSWORDS = {f"NATS_{d.name.upper()}_PASSWORD": f"pw-{d.name}/@:#" for d in DEFINITIONS}
PASSWORDS["NATS_ADMIN_PASSWORD"] = "pw-admin"


@pytest.fixture
def server(
    tmp_path: Path, nats_server_factory: Callable[..., NatsProcess]
) -> Iterator[NatsProcess]:
    folder = tmp_path / "nats"
    folder.mkdir()
    shutil.copy(SERVER_CONFIG, folder / "nats-server.conf")
    (folder / "accounts.conf").write_text(nats_accounts(DEFINITIONS))
    with pytest.MonkeyPatch.context() as patch:
        for name, value in PASSWORDS.items():
            patch.setenv(name, value)
        process = nats_server_factory(
            config=folder / "nats-server.conf", extra_args=("-m", str(free_port()))
        )
    yield process
    process.cleanup()


async def as_user(server: NatsProcess, user: str, errors: list[str]) -> nats.NATS:
    async def on_error(error: Exception) -> None:
        errors.append(str(error).lower())

    return await nats.connect(
        server.url,
        user=user,
        password=PASSWORDS[f"NATS_{user.upper()}_PASSWORD"],
        inbox_prefix=f"_INBOX_{user}",
        error_cb=on_error,
        allow_reconnect=False,
    )


async def publish_as_plans(server: NatsProcess, *envelopes: Envelope) -> None:
    errors: list[str] = []
    plans = await as_user(server, "plans", errors)
    js = plans.jetstream(timeout=5)
    await ensure_stream(js, service_stream("plans"))
    for envelope in envelopes:
        headers, body = envelope.to_nats()
        await js.publish(envelope.nats_subject, body, headers=headers)
    await plans.close()
    assert errors == []


def refusals(server: NatsProcess) -> list[str]:
    log = server.log_path.read_text(errors="replace")
    return [line for line in log.splitlines() if "Violation" in line or "authentication" in line]


async def test_the_service_runs_under_its_own_user(
    server: NatsProcess, database_url: str, tmp_path: Path
) -> None:
    for owner in ("consent", "children"):
        errors: list[str] = []
        client = await as_user(server, owner, errors)
        await ensure_stream(client.jetstream(timeout=5), service_stream(owner))
        await client.close()
    settings = TransportSettings(
        database_url=database_url,
        nats_url=server.url,
        nats_user="transport",
        nats_password=PASSWORDS["NATS_TRANSPORT_PASSWORD"],
        dev_signing_key=tmp_path / "key.pem",
        var_dir=tmp_path,
    )
    app = create_app(SERVICE, settings, clock=FixedClock(NOW))
    child = uuid4()
    async with app.router.lifespan_context(app):
        await publish_as_plans(server, ForeignStreams().plan_issued(child, uuid4()))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://transport") as client:
            token = issue_dev_token(settings, "transport", ["transport_officer"], [])
            headers = {"Authorization": f"Bearer {token}"}
            url = f"/v1/cases/{case_id_for(child)}"

            async def opened() -> bool:
                return (await client.get(url, headers=headers)).status_code == 200

            await wait_for(opened)
            ready = await client.get("/readyz")
            assert ready.json()["status"] == "ready", ready.text
    assert refusals(server) == []


async def test_a_team_system_on_plain_nats_py_sees_each_new_plan_once(server: NatsProcess) -> None:
    streams = ForeignStreams()
    plans = [streams.plan_issued(uuid4(), uuid4()) for _ in range(6)]
    # The first plan again with its own id: within the duplicate window the server drops it.
    await publish_as_plans(server, *plans, plans[0])
    errors: list[str] = []
    team = await as_user(server, "transport", errors)
    js = team.jetstream(timeout=5)
    seen: list[dict[str, Any]] = []
    for partition in range(4):
        durable = f"transport_plan_events_p{partition}"
        await js.add_consumer(
            "PLANS",
            ConsumerConfig(
                name=durable,
                durable_name=durable,
                filter_subject=f"oneplan.plans.plan.*.*.{partition}",
                ack_policy=AckPolicy.EXPLICIT,
            ),
        )
        pull = await js.pull_subscribe_bind(durable, stream="PLANS")
        try:
            messages = await pull.fetch(batch=20, timeout=1)
        except nats.errors.TimeoutError:
            messages = []
        for message in messages:
            headers = message.headers or {}
            assert headers["ce-specversion"] == "1.0"
            assert headers["content-type"] == "application/json"
            seen.append(
                {"type": headers["ce-type"], "id": headers["ce-id"], **json.loads(message.data)}
            )
            await message.ack()
    await team.close()
    assert errors == []
    assert sorted(item["id"] for item in seen) == sorted(plan.id for plan in plans)
    assert {item["type"] for item in seen} == {"oneplan.plans.plan.issued"}
    assert sorted(item["plan_id"] for item in seen) == sorted(
        plan.data["plan_id"] for plan in plans
    )
    assert refusals(server) == []
