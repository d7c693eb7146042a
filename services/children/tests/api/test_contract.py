"""The children service answers as its OpenAPI document says, and refuses hostile input.

The fuzzer (schemathesis) draws requests from the document and every answer is held to it;
the sweep sends hostile values to every string the document lets a caller send. Both run on
SQLite and PostgreSQL. What the document cannot say is bound here: a SEND caseworker's token,
the record addressed (one that exists) and its current ETag, a live family member, and a
fresh duplicate to merge.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import func, select

from oneplan_children.domain.identifiers import synthetic_nhs_number, synthetic_upn
from oneplan_events.schema import event_store
from oneplan_testkit.contract import (
    CONTROL_CHARACTERS,
    Call,
    fuzz,
    string_inputs,
    sweep,
)

from ..conftest import Service

# Slow: about 2 minutes for this module on SQLite and PostgreSQL on a shared 2-core machine.
pytestmark = pytest.mark.slow

FUZZ_EXAMPLES = 15


class ChildrenState:
    """Binds calls to records that exist: a child to change, a survivor to merge into."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.headers = service.auth()
        self.child: str | None = None
        self.survivor: str | None = None
        self.rng = random.Random(20)

    async def register(self, **fields: Any) -> dict[str, Any]:
        response = await self.service.register(**fields)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def etag(self, child_id: str) -> str:
        response = await self.service.client.get(f"/v1/children/{child_id}", headers=self.headers)
        assert response.status_code == 200, response.text
        return response.headers["ETag"]

    async def member_of(self, child_id: str) -> str:
        """A family member of the child now (one is added when none is left)."""
        record = await self.service.client.get(f"/v1/children/{child_id}", headers=self.headers)
        family = record.json()["family"]
        if family:
            return str(family[-1]["member_id"])
        added = await self.service.client.post(
            f"/v1/children/{child_id}/family-members",
            json={
                "given_name": "Alex",
                "family_name": "Example",
                "relationship": "parent",
                "parental_responsibility": True,
            },
            headers={**self.headers, "If-Match": record.headers["ETag"]},
        )
        assert added.status_code == 201, added.text
        return str(added.json()["member_id"])

    async def bind(self, call: Call, honest: bool) -> None:
        call.headers["Authorization"] = self.headers["Authorization"]
        # A drawn token names a CONSENT sequence that never comes: the read would wait its
        # full 2 s for a 503 (libs/kit/tests/test_consistency.py holds that path).
        call.headers.pop("Consistency-Token", None)
        if not honest:
            return
        if "child_id" in call.path_parameters:
            child_id = await self._target(call)
            call.path_parameters["child_id"] = child_id
            if "member_id" in call.path_parameters:
                call.path_parameters["member_id"] = await self.member_of(child_id)
            if "If-Match" in call.headers:
                call.headers["If-Match"] = await self.etag(child_id)
        if isinstance(call.body, dict):
            # One child, one record: a drawn identifier another record holds is a 409.
            for name, fresh in (("nhs_number", synthetic_nhs_number), ("upn", synthetic_upn)):
                if isinstance(call.body.get(name), str):
                    call.body[name] = fresh(self.rng)
        if call.path.endswith("/merge") and isinstance(call.body, dict):
            duplicate = await self.register(nhs_number=synthetic_nhs_number(self.rng))
            call.body["duplicate_id"] = duplicate["child_id"]

    async def _target(self, call: Call) -> str:
        if call.path.endswith("/merge"):
            if self.survivor is None:
                self.survivor = (await self.register())["child_id"]
            return self.survivor
        if self.child is None:
            self.child = (await self.register())["child_id"]
        return self.child


async def stored_events(service: Service) -> int:
    async with service.app.state.runtime.engine.connect() as conn:
        count = await conn.execute(select(func.count()).select_from(event_store))
        return int(count.scalar_one())


async def test_every_answer_is_the_documented_one(service_on: Service) -> None:
    document = service_on.app.openapi()
    report = await fuzz(
        document, service_on.client, ChildrenState(service_on), max_examples=FUZZ_EXAMPLES
    )
    print(report.summary())
    assert report.failures() == []
    assert report.writes_without_success() == []


async def test_every_string_input_refuses_hostile_values(service_on: Service) -> None:
    operations = string_inputs(service_on.app.openapi())

    async def count() -> int:
        return await stored_events(service_on)

    report = await sweep(operations, service_on.client, ChildrenState(service_on), count)
    print(f"{len(report.inputs)} string inputs, {report.requests} requests")
    assert report.faults == [], "\n".join(report.faults)
    assert report.control_characters == set(CONTROL_CHARACTERS)
    covered = {(item.operation, item.location) for item in report.inputs}
    # The sweep found the inputs in the document; these are a few it must have found.
    assert {
        ("POST /v1/children", ("body", "address", "lines", 0)),
        ("PUT /v1/children/{child_id}/story", ("body", "history", "entries", 0, "what")),
        ("GET /v1/children", ("query", "family_name")),
        ("DELETE /v1/children/{child_id}/family-members/{member_id}", ("query", "reason")),
    } <= covered


async def test_a_token_sub_with_nul_is_a_401_naming_the_claim(service_on: Service) -> None:
    from oneplan_kit.auth import issue_dev_token

    token = issue_dev_token(service_on.settings, "send", ["caseworker"], sub="user\x00one")
    answer = await service_on.client.get(
        "/v1/children",
        params={"family_name": "Example"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 401
    assert answer.json()["claim"] == "sub"
