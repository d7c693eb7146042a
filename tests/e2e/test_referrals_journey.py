"""A child's health referral across services: the children service registers the child, the
referrals service learns it from the CHILDREN stream and takes a school's referral, the family
sees the referral and its wait; the SEND team sees it only once the parent consents to health
sharing its data, and that release reaches the family's disclosure log at the consent service.

(Health advice for an EHC needs assessment, through the plans service to the final plan and
transport, is `test_ehc_journey.py`.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_services import Services, drop_databases, serving, wait_ready
from journey import Child, poll, register_child_with_story
from sqlalchemy.engine import make_url

from oneplan_children.config import ChildrenSettings
from oneplan_children.entrypoints.api import create_app as create_children_app
from oneplan_consent.config import ConsentSettings
from oneplan_consent.entrypoints.api import create_app as create_consent_app
from oneplan_referrals.config import ReferralsSettings
from oneplan_referrals.entrypoints.api import create_app as create_referrals_app
from oneplan_testkit import unique_name

RISE = "3f2b8a10-4c1e-4f7a-9b61-0c5d2e7a1001"


@dataclass(frozen=True)
class WithReferrals:
    services: Services
    referrals: str


@pytest.fixture
async def running(
    postgres_url: str, nats_server_factory: Callable[..., Any], tmp_path: Path
) -> AsyncIterator[WithReferrals]:
    nats_url = nats_server_factory().url
    names = [unique_name(f"e2e_{s}").lower() for s in ("children", "consent", "referrals")]
    database = make_url(postgres_url)
    urls = [database.set(database=n).render_as_string(hide_password=False) for n in names]
    common: dict[str, Any] = {
        "nats_url": nats_url,
        "dev_signing_key": tmp_path / "signing-key.pem",
        "var_dir": tmp_path,
    }
    children_settings = ChildrenSettings(database_url=urls[0], **common)
    consent_settings = ConsentSettings(
        database_url=urls[1], discovery_interval=0.5, expiry_interval=1.0, **common
    )
    referrals_settings = ReferralsSettings(database_url=urls[2], **common)
    try:
        async with (
            serving(create_consent_app(consent_settings)) as consent,
            serving(create_children_app(children_settings)) as children,
            serving(create_referrals_app(referrals_settings)) as referrals,
        ):
            async with httpx.AsyncClient() as client:
                for url in (children, consent, referrals):
                    await wait_ready(client, url)
            yield WithReferrals(Services(children, consent, children_settings), referrals)
    finally:
        await drop_databases(postgres_url, names)


async def _refer(client: httpx.AsyncClient, running: WithReferrals, child: Child) -> httpx.Response:
    school = running.services.auth("school", ("senco",))
    body = {
        "child_id": child.child_id,
        "service_id": RISE,
        "reason": "Anxiety about school since the autumn.",
        "received_on": (date.today() - timedelta(weeks=3)).isoformat(),
    }
    # The referrals service learns the child from the children service's event: retry a moment.
    return await poll(
        lambda: client.post(f"{running.referrals}/v1/referrals", json=body, headers=school),
        lambda r: r.status_code != 422,
    )


async def _consent_health_to_send(client: httpx.AsyncClient, child: Child) -> None:
    body = {
        "given_by": {
            "person_id": child.member_id,
            "name": "Casey Testcase",
            "capacity": "parent_with_pr",
        },
        "owner_agencies": ["health"],
        "recipient_agencies": ["send"],
        "data_classes": ["health"],
        "purposes": ["ehc_assessment"],
        "valid_until": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        "capture_method": "signed_form",
    }
    # Retried until the consent service has learnt the child and its parent.
    given = await poll(
        lambda: client.post(
            f"{child.services.consent}/v1/children/{child.child_id}/consents",
            json=body,
            headers=child.services.auth("send", ("caseworker",)),
        ),
        lambda r: r.status_code not in (404, 422),
    )
    assert given.status_code == 201, given.text


async def test_a_referral_seen_by_the_family_and_by_send_once_consented(
    running: WithReferrals,
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        child = await register_child_with_story(client, running.services)
        made = await _refer(client, running, child)
        assert made.status_code == 201, made.text
        url = f"{running.referrals}/v1/children/{child.child_id}/referrals"
        mine = await client.get(url, headers=child.family())
        [referral] = mine.json()["items"]
        assert (referral["service_name"], referral["wait"]["weeks"]) == ("Rise (CAMHS)", 3)

        send = running.services.auth("send", ("caseworker",))
        purpose = {"purpose": "ehc_assessment"}
        withheld = await client.get(url, params=purpose, headers=send)
        assert withheld.json()["items"] == []
        assert withheld.json()["withheld"][0]["data_class"] == "health"

        await _consent_health_to_send(client, child)
        shown = await poll(
            lambda: client.get(url, params=purpose, headers=send),
            lambda r: r.status_code == 200 and len(r.json()["items"]) == 1,
        )
        assert "Anxiety" not in shown.text  # clinical narrative never leaves health

        log = await poll(
            lambda: client.get(child.log_url, headers=child.family()),
            lambda r: r.status_code == 200 and any(e["owner_agency"] == "health" for e in r.json()),
        )
        [entry] = [e for e in log.json() if e["owner_agency"] == "health"]
        assert (entry["recipient_agency"], entry["data_classes"], entry["basis"]) == (
            "send",
            ["health"],
            "consent",
        )
