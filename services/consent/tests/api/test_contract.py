"""The consent service answers as its OpenAPI document says, and refuses hostile input.

The fuzzer (schemathesis) draws requests from the document and every answer is held to it;
the sweep sends hostile values to every string the document lets a caller send. Both run on
SQLite and PostgreSQL. What the document cannot say is bound here: a token of the SEND team's
safeguarding lead (with role admin, to ask the decision point about anything), a child the
service knows and a parent of it with parental responsibility, records that exist (a fresh one
where the request ends it), the deployment's agencies, and a period that is open now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from oneplan_kit import issue_dev_token
from oneplan_testkit.contract import CONTROL_CHARACTERS, Call, fuzz, string_inputs, sweep

from ..consent_testing import (
    CHILD_CSA_END,
    CHILD_DOB,
    ChildMaker,
    Tokens,
    consent_body,
    stored_events,
)

# Slow: about 2 minutes for this module on SQLite and PostgreSQL on a shared 2-core machine.
pytestmark = pytest.mark.slow

FUZZ_EXAMPLES = 15
_AGENCIES = ("send", "school", "health", "social_care", "transport")
_RECORDS = {
    "consent_id": ("/v1/children/{child}/consents", "consent"),
    "override_id": ("/v1/children/{child}/overrides", "override"),
    "duty_id": ("/v1/children/{child}/duties", "duty"),
}


class ConsentState:
    """Binds calls to a child the service knows, its parent, and records that exist."""

    def __init__(self, client: httpx.AsyncClient, auth: Tokens, child: UUID, parent: UUID) -> None:
        self.client = client
        self.headers = auth("send", ("caseworker", "safeguarding_lead", "admin"))
        self.child = str(child)
        self.parent = str(parent)
        self.kept: dict[str, str] = {}

    async def create(self, name: str) -> str:
        path, kind = _RECORDS[name]
        now = datetime.now(UTC)
        bodies: dict[str, dict[str, Any]] = {
            "consent": consent_body(UUID(self.parent)),
            "override": {
                "reason": "Enquiry.",
                "lawful_basis": "children_act_1989_s47",
                "recipient_agencies": ["health"],
                "data_classes": ["story"],
            },
            "duty": {
                "lawful_basis": "children_and_families_act_2014_s23",
                "description": "Duty.",
                "owner_agencies": ["health"],
                "recipient_agencies": ["send"],
                "data_classes": ["health"],
                "purposes": ["ehc_assessment"],
                "valid_from": (now - timedelta(days=1)).isoformat(),
            },
        }
        created = await self.client.post(
            path.format(child=self.child), json=bodies[kind], headers=self.headers
        )
        assert created.status_code == 201, created.text
        return str(created.json()[name])

    async def bind(self, call: Call, honest: bool) -> None:
        call.headers["Authorization"] = self.headers["Authorization"]
        # A drawn token names a CONSENT sequence that never comes: the read would wait its
        # full 2 s for a 503 (test_consistency.py holds that path).
        call.headers.pop("Consistency-Token", None)
        if not honest:
            return
        if "child_id" in call.path_parameters:
            call.path_parameters["child_id"] = self.child
        if "child_id" in call.query:
            call.query["child_id"] = self.child
        for name in _RECORDS:
            if name in call.path_parameters:
                call.path_parameters[name] = await self._record(call, name)
        for item in call.body if isinstance(call.body, list) else [call.body]:
            if isinstance(item, dict):
                self._bind_body(item)

    async def _record(self, call: Call, name: str) -> str:
        """A fresh record for a request that ends it (a second ending is a 409); else one
        kept for the run."""
        if call.method != "GET" and not call.path.endswith("/review"):
            return await self.create(name)
        if name not in self.kept:
            self.kept[name] = await self.create(name)
        return self.kept[name]

    def _bind_body(self, body: dict[str, Any]) -> None:
        now = datetime.now(UTC)
        if "child_id" in body:
            body["child_id"] = self.child
        if isinstance(body.get("given_by"), dict):
            body["given_by"].update(person_id=self.parent, capacity="parent_with_pr")
        for name, value in body.items():
            if name.endswith("_agencies") and isinstance(value, list):
                body[name] = [_known(name, index) for index in range(len(value))]
            elif name.endswith("_agency") and isinstance(value, str):
                body[name] = _known(name, 0)
        # The period must be open now, and a parent's consent ends with compulsory school age.
        if "valid_until" in body:
            body["valid_from"] = (now - timedelta(minutes=1)).isoformat()
            body["valid_until"] = (now + timedelta(days=90)).isoformat()
        if "ends_at" in body:
            body["ends_at"] = (now + timedelta(days=10)).isoformat()


def _known(field: str, index: int) -> str:
    """A deployment's agency in place of a drawn one; owners and recipients never meet (an
    agency needs no consent to see its own data)."""
    offset = 0 if field.startswith("owner") else 2
    return _AGENCIES[(index % 2) + offset]


async def _state(client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker) -> ConsentState:
    child, parent = await make_child(CHILD_DOB, CHILD_CSA_END)
    return ConsentState(client, auth, child, parent)


async def test_every_answer_is_the_documented_one(
    app: FastAPI, client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker
) -> None:
    state = await _state(client, auth, make_child)
    report = await fuzz(app.openapi(), client, state, max_examples=FUZZ_EXAMPLES)
    print(report.summary())
    assert report.failures() == [], "\n\n".join(report.failures())
    assert report.writes_without_success() == []


async def test_every_string_input_refuses_hostile_values(
    app: FastAPI, client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker
) -> None:
    state = await _state(client, auth, make_child)
    operations = string_inputs(app.openapi())

    async def count() -> int:
        return await stored_events(app)

    report = await sweep(operations, client, state, count)
    print(f"{len(report.inputs)} string inputs, {report.requests} requests")
    assert report.faults == [], "\n".join(report.faults)
    assert report.control_characters == set(CONTROL_CHARACTERS)
    covered = {(item.operation, item.location) for item in report.inputs}
    assert {
        ("POST /v1/children/{child_id}/consents", ("body", "given_by", "name")),
        ("POST /v1/children/{child_id}/consents", ("body", "witness_name")),
        ("POST /v1/children/{child_id}/refusals", ("body", "reason")),
        ("POST /v1/decisions", ("body", 0, "owner_agency")),
    } <= covered


async def test_a_token_sub_with_nul_is_a_401_naming_the_claim(
    app: FastAPI, client: httpx.AsyncClient, auth: Tokens
) -> None:
    token = issue_dev_token(app.state.runtime.settings, "send", ["caseworker"], sub="user\x00one")
    answer = await client.get("/v1/overrides", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401
    assert answer.json()["claim"] == "sub"
