"""Who is shown a child's consent records over HTTP (issue 10, item 7; the rule in
docs/consent-rules.md, cell by cell in tests/unit/test_record_visibility.py).

One child, with a consent from the SEND team to health, a statutory duty from health to
the SEND team, a refusal, and an enquiry override by children's social care that hides its
disclosures from the family; two disclosures logged, one under the override. Each reader
lists every kind of record, and reads the consent and the override's review queue.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest
from nats.js import JetStreamContext

from ..consent_testing import (
    CHILD_CSA_END,
    CHILD_DOB,
    ChildMaker,
    Tokens,
    consent_body,
    disclosure,
    disclosure_envelope,
    publish,
)

KINDS = ("consents", "duties", "refusals", "disclosures")


@dataclass
class Child:
    child_id: UUID
    consent_id: str
    override_id: str
    open_disclosure: str
    hidden_disclosure: str


@pytest.fixture
async def child(
    client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker, js: JetStreamContext
) -> Child:
    child_id, parent_id = await make_child(CHILD_DOB, CHILD_CSA_END)
    send = auth("send", ("caseworker",))
    consent = await client.post(
        f"/v1/children/{child_id}/consents", json=consent_body(parent_id), headers=send
    )
    assert consent.status_code == 201, consent.text
    duty = await client.post(
        f"/v1/children/{child_id}/duties",
        json={
            "lawful_basis": "children_and_families_act_2014_s23",
            "description": "health tells the authority of likely SEN",
            "owner_agencies": ["health"],
            "recipient_agencies": ["send"],
            "data_classes": ["health"],
            "purposes": ["ehc_assessment"],
        },
        headers=auth("send", ("safeguarding_lead",)),
    )
    assert duty.status_code == 201, duty.text
    refusal = await client.post(
        f"/v1/children/{child_id}/refusals",
        json={
            "owner_agency": "send",
            "recipient_agency": "health",
            "data_classes": ["story"],
            "purpose": "health_care",
            "reason": "not needed",
        },
        headers=send,
    )
    assert refusal.status_code == 201, refusal.text
    override = await client.post(
        f"/v1/children/{child_id}/overrides",
        json={
            "reason": "section 47 enquiry",
            "lawful_basis": "children_act_1989_s47",
            "recipient_agencies": ["social_care"],
            "data_classes": ["story"],
            "hide_from_family": True,
        },
        headers=auth("social_care", ("safeguarding_lead",)),
    )
    assert override.status_code == 201, override.text
    override_id = override.json()["override_id"]
    shown = disclosure(child_id)
    hidden = disclosure(
        child_id,
        recipient_agency="social_care",
        recipient="sw-1",
        purpose="early_help",
        basis="override",
        reference_id=UUID(override_id),
    )
    await publish(js, disclosure_envelope("children", shown))
    await publish(js, disclosure_envelope("children", hidden))
    lead = auth("social_care", ("safeguarding_lead",))
    for _ in range(200):
        log = await client.get(f"/v1/children/{child_id}/disclosures", headers=lead)
        if len(log.json()) == 2:
            break
        await asyncio.sleep(0.05)
    assert len(log.json()) == 2
    return Child(
        child_id,
        consent.json()["consent_id"],
        override_id,
        str(shown.disclosure_id),
        str(hidden.disclosure_id),
    )


def headers_of(auth: Tokens, child: Child, reader: str) -> dict[str, str]:
    tokens = {
        "family": lambda: auth("family", ("parent",), [child.child_id]),
        "other family": lambda: auth("family", ("parent",), []),
        "no known role": lambda: auth("health", ("viewer",)),
        "social care lead": lambda: auth("social_care", ("safeguarding_lead",)),
        "send caseworker": lambda: auth("send", ("caseworker",)),
        "health practitioner": lambda: auth("health", ("practitioner",)),
        "transport caseworker": lambda: auth("transport", ("caseworker",)),
    }
    return tokens[reader]()


# status, and for a 200 how many entries, per kind: consents, duties, refusals, disclosures
EXPECTED: dict[str, tuple[Any, Any, Any, Any]] = {
    "family": (1, 403, 403, 1),
    "other family": (404, 404, 404, 404),
    "no known role": (403, 403, 403, 403),
    "social care lead": (1, 1, 1, 2),
    "send caseworker": (1, 1, 1, 1),
    "health practitioner": (1, 1, 1, 1),
    "transport caseworker": (403, 403, 403, 403),
}


@pytest.mark.parametrize("reader", sorted(EXPECTED))
async def test_each_reader_lists_what_the_rule_shows_it(
    client: httpx.AsyncClient, auth: Tokens, child: Child, reader: str
) -> None:
    headers = headers_of(auth, child, reader)
    for kind, expected in zip(KINDS, EXPECTED[reader], strict=True):
        response = await client.get(f"/v1/children/{child.child_id}/{kind}", headers=headers)
        if isinstance(expected, int) and expected >= 400:
            assert response.status_code == expected, (kind, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert "section 47" not in response.text
        else:
            assert response.status_code == 200, (kind, response.text)
            assert len(response.json()) == expected, (kind, response.json())
            if kind == "disclosures" and expected == 1:
                assert response.json()[0]["disclosure_id"] == child.open_disclosure


@pytest.mark.parametrize(
    ("reader", "status"),
    [
        ("family", 200),
        ("other family", 404),
        ("no known role", 403),
        ("health practitioner", 200),
        ("transport caseworker", 404),
    ],
)
async def test_a_consent_read_by_id_is_not_found_for_whoever_may_not_see_it(
    client: httpx.AsyncClient, auth: Tokens, child: Child, reader: str, status: int
) -> None:
    response = await client.get(
        f"/v1/consents/{child.consent_id}", headers=headers_of(auth, child, reader)
    )
    assert response.status_code == status, response.text


async def test_the_override_queue_shows_a_lead_only_the_overrides_it_may_see(
    client: httpx.AsyncClient, auth: Tokens, child: Child
) -> None:
    queue = "/v1/overrides?needs_review=true"
    social_care = await client.get(queue, headers=auth("social_care", ("safeguarding_lead",)))
    assert [o["override_id"] for o in social_care.json()] == [child.override_id]
    # a school's designated lead has no part in this child: the enquiry is not its to know
    school = await client.get(queue, headers=auth("school", ("safeguarding_lead",)))
    assert school.status_code == 200
    assert school.json() == []
    # the SEND team's lead sees the child's records, but not a hiding override it is not party to
    send = await client.get(queue, headers=auth("send", ("safeguarding_lead",)))
    assert send.json() == []


async def test_acting_on_a_record_the_caller_is_not_shown_is_not_found_and_writes_nothing(
    client: httpx.AsyncClient, auth: Tokens, child: Child
) -> None:
    """A write answers with the record: it may not show what a read would hide."""
    outsider = auth("transport", ("caseworker",))
    withdrawn = await client.post(
        f"/v1/consents/{child.consent_id}/withdrawal", json={}, headers=outsider
    )
    assert withdrawn.status_code == 404, withdrawn.text
    assert "Alex Example" not in withdrawn.text
    school_lead = auth("school", ("safeguarding_lead",))
    for action, body in (("review", {"outcome": "continue"}), ("end", {"reason": "done"})):
        acted = await client.post(
            f"/v1/overrides/{child.override_id}/{action}", json=body, headers=school_lead
        )
        assert acted.status_code == 404, acted.text
        assert "section 47" not in acted.text
    # nothing was written: the consent still permits, the override still awaits review
    consent = await client.get(f"/v1/consents/{child.consent_id}", headers=auth())
    assert consent.json()["status"] == "given"
    lead = auth("social_care", ("safeguarding_lead",))
    queue = await client.get("/v1/overrides?needs_review=true", headers=lead)
    assert [o["override_id"] for o in queue.json()] == [child.override_id]
