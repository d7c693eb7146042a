"""A partner agency's journey over HTTP: consent opens the child's story to health, the
disclosure shows in the family's log, and withdrawal closes it again at once: at the
consent service as it answers, and at the children service for a read carrying its
consistency token."""

from __future__ import annotations

import httpx
from e2e_services import Services
from journey import (
    consent_to_health,
    disclosure_log,
    poll,
    read_story_as_health,
    register_child_with_story,
    withdraw,
)


async def test_consent_disclosure_and_withdrawal_across_services(services: Services) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        child = await register_child_with_story(client, services)
        before = await read_story_as_health(client, child)
        assert before.status_code == 403

        given = await consent_to_health(client, child)
        consent_id = given.json()["consent_id"]

        allowed = await poll(
            lambda: read_story_as_health(client, child), lambda r: r.status_code == 200
        )
        assert "trains" in allowed.text

        log = await poll(
            lambda: disclosure_log(client, child),
            lambda r: r.status_code == 200 and len(r.json()) >= 1,
        )
        entry = log.json()[0]
        assert (entry["recipient_agency"], entry["basis"], entry["reference_id"]) == (
            "health",
            "consent",
            consent_id,
        )
        assert entry["data_classes"] == ["story"]

        token = await withdraw(client, child, consent_id)
        assert int(token) > int(given.headers["consistency-token"])
        # The consent service's own decisions reflect the withdrawal as it answers...
        decided = await client.post(
            f"{services.consent}/v1/decisions",
            json={
                "child_id": child.child_id,
                "owner_agency": "send",
                "recipient_agency": "health",
                "data_class": "story",
                "purpose": "health_care",
            },
            headers=child.health(),
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["permit"] is False
        # ... and a read carrying its token anywhere waits until the withdrawal applies there.
        refused = await read_story_as_health(client, child, token=token)
        assert refused.status_code == 403, refused.text
        assert "trains" not in refused.text
        assert refused.headers["content-type"] == "application/problem+json"
