"""The referrals service answers as its OpenAPI document says (schemathesis on PostgreSQL),
and refuses hostile input at every string it documents (the sweep, on SQLite): one database
each, to keep the service's suite within its minute; the rest of the suite runs on both.

What the document cannot say is bound here: a health clinician's token, a child the service
knows, services of the directory, referrals in the state each step needs (a fresh one per
call), advice tasks the plans service's requests opened, and dates that make sense against
the service's clock."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from oneplan_referrals.entrypoints.examples import SERVICE
from oneplan_testkit.contract import CONTROL_CHARACTERS, Call, fuzz, string_inputs, sweep

from ..referrals_testing import OT, RISE, SALT, Service
from .test_advice import SUBMISSION, _task_opened

pytestmark = pytest.mark.slow

FUZZ_EXAMPLES = 4
_DATES = {
    "received_on": "2026-01-05",
    "on": "2026-05-01",
    "booked_on": "2026-05-01",
    "appointment_on": "2026-05-10",
    "submitted_on": "2026-05-29",
}


class ReferralsState:
    """Binds calls to records that exist, in the state the call needs."""

    def __init__(self, service: Service, child: UUID, *, reuse: bool = False) -> None:
        self.service = service
        self.child = child
        self.headers = service.auth()
        self.editor = service.auth("health", ("manager",))
        self.kept: dict[str, str] = {}
        # The sweep's hostile requests are refused before any record is read, so one bound
        # record per operation serves them all (only its first, valid call needs it fresh).
        self.reuse = reuse
        self.bound: dict[str, tuple[dict[str, Any], Any]] = {}

    async def referral(self, stage: str) -> dict[str, Any]:
        made = await self.service.refer(self.child)
        referral: dict[str, Any] = made.json()
        url = f"/v1/referrals/{referral['referral_id']}"
        if stage in ("accepted", "booked"):
            await self.service.client.post(
                f"{url}/triage",
                json={"decision": "accepted", "on": "2026-01-12"},
                headers=self.headers,
            )
        if stage == "booked":
            booked = await self.service.client.post(
                f"{url}/appointments",
                json={"booked_on": "2026-01-12", "appointment_on": "2026-02-02"},
                headers=self.headers,
            )
            referral = booked.json()
        return referral

    async def task(self, submitted: bool = False) -> UUID:
        request_id, _ = await self.service.request_advice(self.child)
        await _task_opened(self.service, request_id)
        if submitted:
            await self.service.client.post(
                f"/v1/advice-tasks/{request_id}/submission", json=SUBMISSION, headers=self.headers
            )
        return request_id

    async def directory_service(self) -> str:
        """A new service of the directory (at version 1)."""
        body = {**SERVICE["complete"]["value"], "code": f"svc-{uuid4().hex[:12]}"}
        added = await self.service.client.post("/v1/directory", json=body, headers=self.editor)
        return str(added.json()["id"])

    async def bind(self, call: Call, honest: bool) -> None:
        edits_directory = call.path.startswith("/v1/directory") and call.method != "GET"
        headers = self.editor if edits_directory else self.headers
        call.headers["Authorization"] = headers["Authorization"]
        # A drawn token names a CONSENT sequence that never comes: a 2 s wait for a 503.
        call.headers.pop("Consistency-Token", None)
        if not honest:
            return
        if self.reuse and call.label in self.bound:
            parameters, body = self.bound[call.label]
            call.path_parameters.update(parameters)
            if isinstance(call.body, dict) and isinstance(body, dict):
                call.body.update(body)
            return
        await self._bind_honestly(call)
        if self.reuse:
            self.bound[call.label] = (dict(call.path_parameters), _copy(call.body))

    async def _bind_honestly(self, call: Call) -> None:
        params = call.path_parameters
        if "child_id" in params:
            params["child_id"] = str(self.child)
        if "service_id" in call.query:
            call.query["service_id"] = str(RISE)
        if "referral_id" in params:
            await self._bind_referral(call)
        if "advice_request_id" in params:
            await self._bind_task(call)
        if "service_id" in params:
            # A change or retirement of a service of its own, at the version it names.
            params["service_id"] = (
                str(RISE) if call.method == "GET" else await self.directory_service()
            )
            if call.method != "GET":
                call.headers["If-Match"] = '"1"'
        if isinstance(call.body, dict):
            self._bind_body(call.body)

    async def _bind_referral(self, call: Call) -> None:
        if call.method == "GET":
            if "referral" not in self.kept:
                self.kept["referral"] = (await self.referral("received"))["referral_id"]
            call.path_parameters["referral_id"] = self.kept["referral"]
            return
        stage = "received"
        if call.path.endswith("/appointments") or call.path.endswith("/discharge"):
            stage = "accepted"
        if "appointment_id" in call.path_parameters:
            stage = "booked"
        referral = await self.referral(stage)
        call.path_parameters["referral_id"] = referral["referral_id"]
        if stage == "booked":
            call.path_parameters["appointment_id"] = referral["appointments"][0]["appointment_id"]

    async def _bind_task(self, call: Call) -> None:
        if call.method == "GET":
            if "task" not in self.kept:
                self.kept["task"] = str(await self.task())
            call.path_parameters["advice_request_id"] = self.kept["task"]
            return
        if call.path.endswith("/reuse"):
            earlier = await self.task(submitted=True)
            if isinstance(call.body, dict):
                call.body["earlier_advice_request_id"] = str(earlier)
        call.path_parameters["advice_request_id"] = str(await self.task())

    def _bind_body(self, body: dict[str, Any]) -> None:
        if "child_id" in body:
            body["child_id"] = str(self.child)
        if "organisation_id" in body:
            body["code"] = f"svc-{uuid4().hex[:12]}"  # each service its own code
        if "service_id" in body:
            body["service_id"] = str(RISE)
        if "to_service_id" in body or body.get("decision") == "redirected":
            body["to_service_id"] = str(SALT)
        if "signposted_to" in body:
            body["signposted_to"] = [str(OT)]
        for name, value in _DATES.items():
            if name in body:
                body[name] = value


def _copy(body: Any) -> Any:
    return dict(body) if isinstance(body, dict) else body


async def test_every_answer_is_the_documented_one(pg_service: Service) -> None:
    service = pg_service
    state = ReferralsState(service, await service.known_child())
    report = await fuzz(service.app.openapi(), service.client, state, max_examples=FUZZ_EXAMPLES)
    print(report.summary())
    assert report.failures() == [], "\n\n".join(report.failures())
    assert report.writes_without_success() == []


async def test_every_string_input_refuses_hostile_values(sqlite_service: Service) -> None:
    service = sqlite_service
    state = ReferralsState(service, await service.known_child(), reuse=True)
    operations = string_inputs(service.app.openapi())
    report = await sweep(operations, service.client, state, service.stored_events)
    print(f"{len(report.inputs)} string inputs, {report.requests} requests")
    assert report.faults == [], "\n".join(report.faults)
    assert report.control_characters == set(CONTROL_CHARACTERS)
    covered = {(item.operation, item.location) for item in report.inputs}
    assert {
        ("POST /v1/referrals", ("body", "reason")),
        ("POST /v1/referrals/{referral_id}/triage", ("body", "note")),
        ("POST /v1/advice-tasks/{advice_request_id}/submission", ("body", "author", "name")),
        ("POST /v1/advice-tasks/{advice_request_id}/submission", ("body", "outcomes", 0)),
    } <= covered
