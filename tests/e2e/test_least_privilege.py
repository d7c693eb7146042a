"""The whole stack under the generated least-privilege NATS configuration, as deployed.

`./oneplan generate`'s own output (`oneplan_kit.deployment.write_files`) is written to a
temporary checkout beside the committed `deploy/nats/nats-server.conf`; a nats-server (the
wheel's) runs it with the passwords in the environment, as `docker-compose.yml` hands them
over; and each service connects with the credentials the generated compose file gives its
container (its own user, its password through `ONEPLAN_NATS_PASSWORD`). The passwords hold
the characters a NATS URL could not carry (`/ @ : #`).

Then, over HTTP: consent starts first on a fresh server, so CHILDREN does not exist yet and
`/readyz` must say so; children starts and consent must find its stream at once (the
stream-created advisory: the periodic look is set to five minutes here); the journey runs
(a child, a parent, a story, consent to health, health reads it, the family's log shows the
read, the withdrawal's Consistency-Token refuses a later read). No service may ever be refused
a subject: neither the services' logs nor the server's log may hold a permissions violation.

A parked disclosure is an audit loss: a CHECK constraint added to the consent database refuses
one child's disclosures until the consumer parks it; `/readyz` is degraded naming it, an
ERROR says which audit entry is missing, and `oneplan deadletters replay` brings it back once
the constraint is gone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from e2e_services import Services, drop_databases, serving, wait_ready
from fastapi import FastAPI
from journey import (
    consent_to_health,
    disclosure_log,
    poll,
    read_story_as_health,
    register_child_with_story,
    withdraw,
)
from nats_deployment import CapturedLogs, Deployment, assert_no_permission_violations
from sqlalchemy.engine import make_url

from oneplan_children.config import ChildrenSettings
from oneplan_children.entrypoints.api import create_app as create_children_app
from oneplan_consent.bootstrap import SERVICE as CONSENT
from oneplan_consent.config import ConsentSettings
from oneplan_kit import ServiceSettings, create_app
from oneplan_kit.cli import main
from oneplan_kit.nats import connect_nats
from oneplan_testkit import unique_name

ROOT = Path(__file__).resolve().parents[2]
SERVER_CONFIG = ROOT / "deploy" / "nats" / "nats-server.conf"
FOLLOWER = "follower:consent_disclosures"
CHILD_FACTS = "consumer:consent_child_facts"
DISCLOSURES_ON_CHILDREN = "consent_disclosures_children"
# Only the stream-created advisory can explain a prompt discovery: the periodic look is far off.
SLOW_LOOK = 300.0


@dataclasses.dataclass
class Stack:
    """The two services' settings on the deployment, and their databases."""

    children: ChildrenSettings
    consent: ConsentSettings


@pytest.fixture
async def stack(deployment: Deployment, postgres_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    names = [unique_name("lp_children").lower(), unique_name("lp_consent").lower()]
    database = make_url(postgres_url)
    children_db, consent_db = (
        database.set(database=name).render_as_string(hide_password=False) for name in names
    )
    common: dict[str, Any] = {"dev_signing_key": tmp_path / "signing-key.pem", "var_dir": tmp_path}
    try:
        yield Stack(
            children=ChildrenSettings(
                database_url=children_db, **deployment.nats_settings("children"), **common
            ),
            consent=ConsentSettings(
                database_url=consent_db,
                discovery_interval=SLOW_LOOK,
                **deployment.nats_settings("consent"),
                **common,
            ),
        )
    finally:
        await drop_databases(postgres_url, names)


async def readiness(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    answer = await client.get(f"{url}/readyz")
    body: dict[str, Any] = answer.json()
    body["http"] = answer.status_code
    return body


@asynccontextmanager
async def both_running(stack: Stack, consent_app: FastAPI | None = None) -> AsyncIterator[Services]:
    async with (
        serving(consent_app or create_app(CONSENT, stack.consent)) as consent,
        serving(create_children_app(stack.children)) as children,
    ):
        async with httpx.AsyncClient() as client:
            for url in (consent, children):
                await wait_ready(client, url)
        yield Services(children=children, consent=consent, settings=stack.children)


def failing(body: dict[str, Any]) -> dict[str, Any]:
    """The checks of a /readyz answer that do not pass."""
    return {name: check for name, check in body["checks"].items() if not check["ok"]}


async def test_the_journey_runs_under_the_generated_least_privilege_config(
    deployment: Deployment, stack: Stack, logs: CapturedLogs
) -> None:
    async with (
        httpx.AsyncClient(timeout=10) as client,
        serving(create_app(CONSENT, stack.consent)) as consent,
    ):
        await _consent_says_it_waits_for_children(client, consent)
        # Watched from before children starts, so the delay measured is the discovery's.
        followed = asyncio.create_task(_when_children_is_followed(client, consent))
        async with serving(create_children_app(stack.children)) as children:
            found = await asyncio.wait_for(followed, 10)
            created = await deployment.stream_created("CHILDREN")
            discovery = (found - created).total_seconds()
            print(f"\nconsent followed CHILDREN {discovery:.3f}s after it was created")
            assert discovery < 3.0
            services = Services(children=children, consent=consent, settings=stack.children)
            for url in (consent, children):
                await wait_ready(client, url)
            # Each service is connected as its own user, as in production.
            connected = await deployment.connections()
            assert connected["oneplan-children"] == "children"
            assert connected["oneplan-consent"] == "consent"
            started = time.monotonic()
            await _journey(client, services)
            print(f"journey over HTTP: {time.monotonic() - started:.2f}s")
            for url in (consent, children):
                body = await readiness(client, url)
                assert (body["http"], body["status"]) == (200, "ready"), failing(body)
    assert_no_permission_violations(deployment, logs)


async def _consent_says_it_waits_for_children(client: httpx.AsyncClient, consent: str) -> None:
    """Degraded (200: in service), naming the stream it has not found and why."""
    early = await poll(
        lambda: client.get(f"{consent}/readyz"),
        lambda r: not (r.json()["checks"][CHILD_FACTS]["ok"] or r.json()["checks"][FOLLOWER]["ok"]),
    )
    assert (early.status_code, early.json()["status"]) == (200, "degraded")
    checks = failing(early.json())
    assert checks.keys() == {CHILD_FACTS, FOLLOWER}
    assert checks[CHILD_FACTS]["required"] is False
    assert "waiting for stream CHILDREN to be created" in checks[CHILD_FACTS]["detail"]
    assert checks[FOLLOWER]["required"] is False
    assert "following CONSENT; waiting for CHILDREN" in checks[FOLLOWER]["detail"]


async def _when_children_is_followed(client: httpx.AsyncClient, consent: str) -> datetime:
    """When consent's /readyz first says its disclosures follower follows CHILDREN."""
    while True:
        follower = (await readiness(client, consent))["checks"][FOLLOWER]
        if follower["ok"]:
            assert "following CHILDREN, CONSENT" in follower["detail"]
            assert "stream-created advisory" in follower["detail"]
            return datetime.now(UTC)
        await asyncio.sleep(0.02)


async def _journey(client: httpx.AsyncClient, services: Services) -> None:
    child = await register_child_with_story(client, services)
    assert (await read_story_as_health(client, child)).status_code == 403
    given = await consent_to_health(client, child)
    consent_id = given.json()["consent_id"]
    allowed = await poll(
        lambda: read_story_as_health(client, child), lambda r: r.status_code == 200
    )
    assert "trains" in allowed.text
    read_at = time.monotonic()
    log = await poll(
        lambda: disclosure_log(client, child),
        lambda r: r.status_code == 200 and len(r.json()) >= 1,
        within=5,
    )
    print(f"the read showed in the family's log {time.monotonic() - read_at:.3f}s later")
    [entry] = log.json()
    assert (entry["recipient_agency"], entry["basis"], entry["reference_id"]) == (
        "health",
        "consent",
        consent_id,
    )
    token = await withdraw(client, child, consent_id)
    refused = await read_story_as_health(client, child, token=token)
    assert refused.status_code == 403, refused.text
    assert "trains" not in refused.text


async def test_a_refused_subject_is_logged_and_seen_by_the_server(
    deployment: Deployment, logs: CapturedLogs
) -> None:
    """The two detectors the journey relies on do see a violation: the kit's connection logs
    the server's refusal as an ERROR naming the service, and the server logs it."""
    settings = ServiceSettings(env="development", **deployment.nats_settings("consent"))
    client = await connect_nats(settings, "consent")
    try:
        await client.publish("oneplan.children.child.registered", b"{}")
        await client.flush()
        await poll_until(lambda: bool(logs.permission_violations()))
    finally:
        await client.close()
    [violation] = [r for r in logs.errors() if "permissions violation" in r.getMessage().lower()]
    assert "oneplan-consent" in violation.getMessage()
    assert "./oneplan generate" in violation.getMessage()
    [line] = deployment.server_refusals()
    assert '"ONEPLAN/user:consent" - Publish Violation' in line
    assert "oneplan.children.child.registered" in line


async def test_a_wrong_password_is_refused(deployment: Deployment) -> None:
    settings = ServiceSettings(
        env="development",
        **{**deployment.nats_settings("consent"), "nats_password": "not-the-password"},
        nats_connect_timeout=2.0,
    )
    with pytest.raises(RuntimeError, match="as user consent"):
        await connect_nats(settings, "consent")
    assert any('authentication error - User "consent"' in r for r in deployment.server_refusals())


async def poll_until(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        await asyncio.sleep(0.02)


def consent_with_quick_retries(settings: ConsentSettings) -> FastAPI:
    """The consent service with its disclosures subscription retried 3 times, 0.2 s apart,
    instead of 5 times over a minute (its durables, hence its permissions, are the same)."""
    subscriptions = [
        dataclasses.replace(s, max_deliver=3, backoff=(0.2,)) if s.name == "disclosures" else s
        for s in CONSENT.subscriptions
    ]
    return create_app(dataclasses.replace(CONSENT, subscriptions=subscriptions), settings)


@asynccontextmanager
async def consent_database(settings: ConsentSettings) -> AsyncIterator[asyncpg.Connection]:
    url = make_url(settings.resolved_database_url)
    connection = await asyncpg.connect(
        user=url.username,
        password=url.password,
        host=url.host,
        port=url.port,
        database=url.database,
    )
    try:
        yield connection
    finally:
        await connection.close()


async def oneplan(settings: ConsentSettings, *argv: str) -> str:
    """``./oneplan ARGV`` against the consent database: the CLI's own ``main``, in a thread
    (it runs its own event loop), with the variables an operator's shell would have. In this
    process rather than a subprocess, which takes some 20 s to import on a loaded machine."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ONEPLAN_ENV", "development")
        patch.setenv("CONSENT_DATABASE_URL", settings.resolved_database_url)
        out = io.StringIO()
        code = await asyncio.to_thread(main, list(argv), out)
    assert code == 0, out.getvalue()
    return out.getvalue()


async def test_a_parked_disclosure_is_an_audit_loss_until_it_is_replayed(
    deployment: Deployment, stack: Stack, logs: CapturedLogs
) -> None:
    async with (
        both_running(stack, consent_with_quick_retries(stack.consent)) as services,
        httpx.AsyncClient(timeout=10) as client,
        consent_database(stack.consent) as database,
    ):
        child = await register_child_with_story(client, services)
        await consent_to_health(client, child)
        # The fault: the disclosure log refuses this child's rows (a real constraint).
        await database.execute(
            f"ALTER TABLE disclosures ADD CONSTRAINT e2e_refuse_one_child "
            f"CHECK (child_id <> '{child.child_id}'::uuid)"
        )
        read = await poll(
            lambda: read_story_as_health(client, child), lambda r: r.status_code == 200
        )
        assert "trains" in read.text

        degraded = await poll(
            lambda: client.get(f"{services.consent}/readyz"),
            lambda r: not r.json()["checks"]["dead_letters"]["ok"],
        )
        assert (degraded.status_code, degraded.json()["status"]) == (200, "degraded")
        parked = degraded.json()["checks"]["dead_letters"]
        assert (
            f"1 message(s) parked, {DISCLOSURES_ON_CHILDREN}: 1 (an audit entry"
            in (parked["detail"])
        )
        assert failing(degraded.json()).keys() == {"dead_letters"}

        listing = await oneplan(stack.consent, "deadletters", "list", "consent")
        letter_id, event_id = _letter(listing, DISCLOSURES_ON_CHILDREN)
        assert "e2e_refuse_one_child" in listing  # the reason, kept with the letter
        [error] = [r for r in logs.errors() if getattr(r, "event_id", None) == event_id]
        assert getattr(error, "consumer", None) == DISCLOSURES_ON_CHILDREN
        message = error.getMessage()
        assert f"parked event {event_id} (oneplan.children.disclosure.recorded)" in message
        assert "failed 3 times" in message
        assert "missing until replayed: an audit entry" in message
        # The family cannot see the read: that is the loss.
        assert (await disclosure_log(client, child)).json() == []

        await database.execute("ALTER TABLE disclosures DROP CONSTRAINT e2e_refuse_one_child")
        replay = await oneplan(stack.consent, "deadletters", "replay", "consent", str(letter_id))
        assert "replay requested" in replay
        log = await poll(
            lambda: disclosure_log(client, child),
            lambda r: r.status_code == 200 and len(r.json()) == 1,
        )
        assert log.json()[0]["recipient_agency"] == "health"
        ready = await readiness(client, services.consent)
        assert (ready["http"], ready["status"]) == (200, "ready"), failing(ready)
        assert "replayed" in await oneplan(stack.consent, "deadletters", "list", "consent", "--all")
    assert_no_permission_violations(deployment, logs)


def _letter(listing: str, consumer: str) -> tuple[int, str]:
    """The id and event id of ``consumer``'s one dead letter in ``deadletters list``."""
    [line] = [line for line in listing.splitlines() if f"\t{consumer}\t" in line]
    letter_id, _, _, _, event, *_ = line.split("\t")
    return int(letter_id), event.removeprefix("event ")
