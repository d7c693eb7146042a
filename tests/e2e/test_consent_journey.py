"""A partner agency's journey over HTTP: consent opens the child's story to health, the
disclosure shows in the family's log, and withdrawal closes it again at once: at the
consent service as it answers, and at the children service for a read carrying its
consistency token."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from e2e_services import Services

STORY = {
    "like_and_admire": {
        "text": "I am funny and I love trains.",
        "author": {"name": "Robin", "role": "child"},
        "told_on": date.today().isoformat(),
    }
}


async def poll(
    request: Any, done: Any, *, within: float = 10.0, pause: float = 0.02
) -> httpx.Response:
    """Repeat `request()` until `done(response)`; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        response: httpx.Response = await request()
        if done(response):
            return response
        if time.monotonic() > deadline:
            raise AssertionError(
                f"gave up waiting; last answer {response.status_code}: {response.text[:300]}"
            )
        await asyncio.sleep(pause)


async def test_consent_disclosure_and_withdrawal_across_services(services: Services) -> None:
    send = services.auth("send", ("caseworker",))
    health = services.auth("health", ("practitioner",))
    async with httpx.AsyncClient(timeout=10) as client:
        child = await client.post(
            f"{services.children}/v1/children",
            json={
                "given_name": "Robin",
                "family_name": "Testcase",
                "date_of_birth": date(date.today().year - 8, 5, 4).isoformat(),
            },
            headers=send,
        )
        assert child.status_code == 201, child.text
        child_id = child.json()["child_id"]
        parent = await client.post(
            f"{services.children}/v1/children/{child_id}/family-members",
            json={
                "given_name": "Casey",
                "family_name": "Testcase",
                "relationship": "parent",
                "parental_responsibility": True,
            },
            headers={**send, "If-Match": child.headers["etag"]},
        )
        assert parent.status_code == 201, parent.text
        told = await client.put(
            f"{services.children}/v1/children/{child_id}/story",
            json=STORY,
            headers={**send, "If-Match": parent.headers["etag"]},
        )
        assert told.status_code == 200, told.text

        story_url = f"{services.children}/v1/children/{child_id}/story"
        read = {"params": {"purpose": "health_care"}, "headers": health}
        before = await client.get(story_url, **read)
        assert before.status_code == 403

        consent_body = {
            "given_by": {
                "person_id": parent.json()["member_id"],
                "name": "Casey Testcase",
                "capacity": "parent_with_pr",
            },
            "owner_agencies": ["send"],
            "recipient_agencies": ["health"],
            "data_classes": ["story"],
            "purposes": ["health_care"],
            "valid_until": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
            "capture_method": "signed_form",
        }
        given = await poll(
            lambda: client.post(
                f"{services.consent}/v1/children/{child_id}/consents",
                json=consent_body,
                headers=send,
            ),
            lambda r: r.status_code == 201 or (r.status_code not in (404, 422)),
        )
        assert given.status_code == 201, given.text
        consent_id = given.json()["consent_id"]

        allowed = await poll(lambda: client.get(story_url, **read), lambda r: r.status_code == 200)
        assert "trains" in allowed.text

        # The parent's own token: its sub is their member id, so they may withdraw their consent.
        family = services.auth(
            "family", ("parent",), [child_id], sub=str(parent.json()["member_id"])
        )
        log = await poll(
            lambda: client.get(
                f"{services.consent}/v1/children/{child_id}/disclosures", headers=family
            ),
            lambda r: r.status_code == 200 and len(r.json()) >= 1,
        )
        entry = log.json()[0]
        assert (entry["recipient_agency"], entry["basis"], entry["reference_id"]) == (
            "health",
            "consent",
            consent_id,
        )
        assert entry["data_classes"] == ["story"]

        withdrawn = await client.post(
            f"{services.consent}/v1/consents/{consent_id}/withdrawal", json={}, headers=family
        )
        assert withdrawn.status_code == 200, withdrawn.text
        token = withdrawn.headers["consistency-token"]
        assert int(token) > int(given.headers["consistency-token"])
        # The consent service's own decisions reflect the withdrawal as it answers...
        decided = await client.post(
            f"{services.consent}/v1/decisions",
            json={
                "child_id": child_id,
                "owner_agency": "send",
                "recipient_agency": "health",
                "data_class": "story",
                "purpose": "health_care",
            },
            headers=health,
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["permit"] is False
        # ... and a read carrying its token anywhere waits until the withdrawal applies there.
        refused = await client.get(
            story_url, params=read["params"], headers={**health, "Consistency-Token": token}
        )
        assert refused.status_code == 403, refused.text
        assert "trains" not in refused.text
        assert refused.headers["content-type"] == "application/problem+json"
