"""A consent write takes effect at the consent service as it answers, and gives a token that
makes any later read wait for it (issue 10, item 4)."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import UUID

import httpx

from ..consent_testing import (
    CHILD_CSA_END,
    CHILD_DOB,
    ChildMaker,
    Tokens,
    consent_body,
    decision_body,
)

TOKEN = "Consistency-Token"


async def decided_now(
    client: httpx.AsyncClient, auth: Tokens, child_id: UUID, **headers: str
) -> dict[str, Any]:
    """One decision, asked once (no polling: it must already be right)."""
    response = await client.post(
        "/v1/decisions", json=decision_body(child_id), headers={**auth("health"), **headers}
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_give_and_withdraw_are_decided_as_they_answer(
    client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker
) -> None:
    child_id, parent_id = await make_child(CHILD_DOB, CHILD_CSA_END)
    tokens: list[int] = []
    for _ in range(10):
        given = await client.post(
            f"/v1/children/{child_id}/consents", json=consent_body(parent_id), headers=auth()
        )
        assert given.status_code == 201, given.text
        tokens.append(int(given.headers[TOKEN]))
        permit = await decided_now(client, auth, child_id)
        assert permit["permit"] is True
        assert permit["reference"] == given.json()["consent_id"]

        withdrawn = await client.post(
            f"/v1/consents/{given.json()['consent_id']}/withdrawal",
            json={"reason": "changed my mind"},
            headers=auth.family(child_id, parent_id),
        )
        assert withdrawn.status_code == 200, withdrawn.text
        tokens.append(int(withdrawn.headers[TOKEN]))
        assert (await decided_now(client, auth, child_id))["permit"] is False
    assert tokens == sorted(tokens)
    assert len(set(tokens)) == len(tokens)


async def test_concurrent_decisions_after_a_withdrawal_all_deny(
    client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker
) -> None:
    """Reads made all at once right after the 200 deny, every one."""
    child_id, parent_id = await make_child(CHILD_DOB, CHILD_CSA_END)
    given = await client.post(
        f"/v1/children/{child_id}/consents", json=consent_body(parent_id), headers=auth()
    )
    assert given.status_code == 201, given.text
    withdrawn = await client.post(
        f"/v1/consents/{given.json()['consent_id']}/withdrawal",
        json={},
        headers=auth.family(child_id, parent_id),
    )
    assert withdrawn.status_code == 200
    answers = await asyncio.gather(*(decided_now(client, auth, child_id) for _ in range(20)))
    assert [a["permit"] for a in answers] == [False] * 20


async def test_a_token_the_replica_has_not_reached_is_a_503_after_the_bound(
    client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker
) -> None:
    child_id, _ = await make_child(CHILD_DOB, CHILD_CSA_END)
    started = time.monotonic()
    response = await client.post(
        "/v1/decisions",
        json=decision_body(child_id),
        headers={**auth("health"), TOKEN: "999999999"},
    )
    waited = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "999999999" in response.json()["detail"]
    assert 1.9 < waited < 4.0


async def test_a_token_already_applied_is_answered_at_once(
    client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker
) -> None:
    child_id, parent_id = await make_child(CHILD_DOB, CHILD_CSA_END)
    given = await client.post(
        f"/v1/children/{child_id}/consents", json=consent_body(parent_id), headers=auth()
    )
    started = time.monotonic()
    answer = await decided_now(client, auth, child_id, **{TOKEN: given.headers[TOKEN]})
    assert answer["permit"] is True
    assert time.monotonic() - started < 0.5


async def test_a_malformed_token_is_refused_naming_the_header(
    client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker
) -> None:
    child_id, _ = await make_child(CHILD_DOB, CHILD_CSA_END)
    for bad in ("abc", "-1", "1" * 19, "12 3"):
        response = await client.post(
            "/v1/decisions", json=decision_body(child_id), headers={**auth("health"), TOKEN: bad}
        )
        assert response.status_code == 422, (bad, response.text)
        locations = [e["location"] for e in response.json()["errors"]]
        assert ["header", TOKEN] in locations


async def test_every_consent_write_documents_its_token(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    writes = [
        (path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method == "post" and path != "/v1/decisions"
    ]
    assert len(writes) >= 6
    for path, operation in writes:
        answered = [r for code, r in operation["responses"].items() if code.startswith("2")]
        assert all(TOKEN in r.get("headers", {}) for r in answered), path
