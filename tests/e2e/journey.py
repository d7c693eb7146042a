"""The steps of a partner agency's journey over HTTP, shared by the end-to-end tests: a child
registered with a parent and a story (SEND), the parent's consent to health, health reading
the story, the family reading its disclosure log, and the parent withdrawing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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
HEALTH_CARE = {"purpose": "health_care"}


async def poll(
    request: Callable[[], Awaitable[httpx.Response]],
    done: Callable[[httpx.Response], bool],
    *,
    within: float = 10.0,
    pause: float = 0.02,
    what: str = "",
) -> httpx.Response:
    """Repeat `request()` until `done(response)`; fail after `within` seconds, naming `what`
    did not arrive."""
    deadline = time.monotonic() + within
    while True:
        response = await request()
        if done(response):
            return response
        if time.monotonic() > deadline:
            waited = f" for {what}" if what else ""
            raise AssertionError(
                f"gave up waiting{waited} after {within:g} s; last answer "
                f"{response.status_code}: {response.text[:300]}"
            )
        await asyncio.sleep(pause)


@dataclass(frozen=True)
class Child:
    """A registered child, the parent who holds parental responsibility, and the URLs."""

    services: Services
    child_id: str
    member_id: str

    @property
    def story_url(self) -> str:
        return f"{self.services.children}/v1/children/{self.child_id}/story"

    @property
    def log_url(self) -> str:
        return f"{self.services.consent}/v1/children/{self.child_id}/disclosures"

    def health(self) -> dict[str, str]:
        return self.services.auth("health", ("practitioner",))

    def family(self) -> dict[str, str]:
        """The parent's own token: its sub is their member id (they may withdraw)."""
        return self.services.auth("family", ("parent",), [self.child_id], sub=self.member_id)


async def register_child_with_story(
    client: httpx.AsyncClient,
    services: Services,
    *,
    date_of_birth: date | None = None,
    address: dict[str, Any] | None = None,
) -> Child:
    """SEND registers a child (8 this year unless `date_of_birth` says otherwise; with an
    address when given), adds a parent with parental responsibility, records a story."""
    send = services.auth("send", ("caseworker",))
    born = date_of_birth or date(date.today().year - 8, 5, 4)
    details: dict[str, Any] = {
        "given_name": "Robin",
        "family_name": "Testcase",
        "date_of_birth": born.isoformat(),
    }
    if address is not None:
        details["address"] = address
    child = await client.post(f"{services.children}/v1/children", json=details, headers=send)
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
    return Child(services, child_id, str(parent.json()["member_id"]))


async def consent_to_health(client: httpx.AsyncClient, child: Child) -> httpx.Response:
    """The parent's signed consent to health reading the story, recorded by SEND (retried
    until the consent service has learnt the child and parent from the children service)."""
    body = {
        "given_by": {
            "person_id": child.member_id,
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
    send = child.services.auth("send", ("caseworker",))
    given = await poll(
        lambda: client.post(
            f"{child.services.consent}/v1/children/{child.child_id}/consents",
            json=body,
            headers=send,
        ),
        lambda r: r.status_code == 201 or (r.status_code not in (404, 422)),
    )
    assert given.status_code == 201, given.text
    return given


async def read_story_as_health(
    client: httpx.AsyncClient, child: Child, *, token: str | None = None
) -> httpx.Response:
    """Health reads the story for health care (carrying a consistency token when given)."""
    headers = child.health() | ({"Consistency-Token": token} if token else {})
    return await client.get(child.story_url, params=HEALTH_CARE, headers=headers)


async def disclosure_log(client: httpx.AsyncClient, child: Child) -> httpx.Response:
    """The family's disclosure log of the child, as the parent reads it."""
    return await client.get(child.log_url, headers=child.family())


async def withdraw(client: httpx.AsyncClient, child: Child, consent_id: str) -> str:
    """The parent withdraws the consent; the Consistency-Token its answer carries."""
    withdrawn = await client.post(
        f"{child.services.consent}/v1/consents/{consent_id}/withdrawal",
        json={},
        headers=child.family(),
    )
    assert withdrawn.status_code == 200, withdrawn.text
    return withdrawn.headers["consistency-token"]
