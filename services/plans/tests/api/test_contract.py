"""The plans service answers as its OpenAPI document says, and refuses hostile input.

The fuzzer (schemathesis) draws requests from the document and holds every answer to it; the
sweep sends hostile values to every string a caller may send. What the document cannot say is
bound here: a SEND manager's token (every route's caller) and an assessment that exists.
"""

from __future__ import annotations

import copy
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import func, select

from oneplan_events.schema import event_store
from oneplan_plans.entrypoints import examples
from oneplan_testkit.contract import CONTROL_CHARACTERS, Call, fuzz, string_inputs, sweep

from ..conftest import Service

pytestmark = pytest.mark.slow

FUZZ_EXAMPLES = 3


# The rule-bearing fields of each operation's documented example: an honest call keeps the
# drawn free text and takes these, so that it is valid for the record the binder staged.
_RULED = ("kind", "outcome", "sections", "changed_sections", "setting", "advice_type")
_EXAMPLES = {
    "/decision": examples.DECISION,
    "/mediation-certificate": examples.MEDIATION,
    "/advice-requests": examples.ADVICE_REQUEST,
    "/advice-reuse": examples.ADVICE_REUSE,
    "/received": examples.ADVICE_RECEIVED,
    "/exceptions": examples.EXCEPTION,
    "/decision-not-to-issue": examples.NOT_TO_ISSUE,
    "/draft-plan": examples.DRAFT,
    "/comments": examples.COMMENTS,
    "/final-plan": examples.FINAL_PLAN,
    "/amendments": examples.AMENDMENT,
    "/reviews": examples.REVIEW,
}
# The stage each step needs (the steps that lead there, in order).
_STAGES = {
    "/decision": "requested",
    "/mediation-certificate": "declined",
    "/received": "advice_asked",
    "/draft-plan": "advised",
    "/comments": "draft_issued",
    "/final-plan": "commented",
    "/amendments": "planned",
    "/reviews": "planned",
}


def _example(path: str) -> dict[str, Any]:
    for suffix, example in _EXAMPLES.items():
        if path.endswith(suffix):
            return copy.deepcopy(dict(example["complete"]["value"]))
    return {}


class PlansState:
    """Binds honest calls to a record staged where the step is in order, with the example's
    dates and rule-bearing fields: the rest of the drawn request is the fuzzer's."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.headers = service.manager()
        self.staged: dict[str, dict[str, str]] = {}

    async def bind(self, call: Call, honest: bool) -> None:
        call.headers["Authorization"] = self.headers["Authorization"]
        call.headers.pop("Consistency-Token", None)
        call.headers.pop("If-Match", None)
        if "/plan" in call.path:
            # A practitioner reads the shared plan for a stated purpose (the sweep's hostile
            # purpose replaces this one).
            call.query.setdefault("purpose", "plan_delivery")
        if not honest:
            return
        stage = next(
            (s for suffix, s in _STAGES.items() if call.path.endswith(suffix)), "assessing"
        )
        if call.path_parameters:
            ids = await self._record(stage)
            for name in call.path_parameters:
                call.path_parameters[name] = ids.get(name, ids["assessment_id"])
        if isinstance(call.body, dict):
            for name, value in _example(call.path).items():
                if (
                    name.endswith(("_on", "_date"))
                    or name.startswith("agreed_by")
                    or name in _RULED
                ):
                    call.body[name] = value
            call.body.pop("letter_sent_on", None) if call.body.get("outcome") == "agree" else None

    async def _record(self, stage: str) -> dict[str, str]:
        ids = self.staged.get(stage)
        if ids is not None and await self._still(stage, ids):
            return ids
        ids = await self._stage(stage)
        self.staged[stage] = ids
        return ids

    async def _still(self, stage: str, ids: dict[str, str]) -> bool:
        read = await self.service.client.get(
            f"/v1/assessments/{ids['assessment_id']}", headers=self.headers
        )
        wanted = {"declined": "declined", "requested": "requested", "planned": "completed"}
        found = read.json()["stage"]
        if stage in ("draft_issued", "commented"):
            return found == "draft_issued"
        return found == wanted.get(stage, "assessing")

    async def _post(self, path: str, example: dict[str, Any], **changes: Any) -> dict[str, Any]:
        body = {**copy.deepcopy(dict(example["complete"]["value"])), **changes}
        answer = await self.service.client.post(path, json=body, headers=self.headers)
        assert answer.status_code in (200, 201), answer.text
        return dict(answer.json())

    async def _stage(self, stage: str) -> dict[str, str]:
        child = str(uuid4())
        created = await self._post("/v1/assessments", examples.ASSESSMENT, child_id=child)
        ids = {"assessment_id": created["assessment_id"], "child_id": child}
        url = f"/v1/assessments/{created['assessment_id']}"
        if stage == "requested":
            return ids
        if stage == "declined":
            await self._post(f"{url}/decision", examples.DECISION)
            return ids
        await self._post(f"{url}/decision", examples.DECISION, outcome="agree", letter_sent_on=None)
        if stage == "assessing":
            return ids
        asked = await self._post(f"{url}/advice-requests", examples.ADVICE_REQUEST)
        ids["advice_request_id"] = asked["advice"][0]["advice_request_id"]
        if stage == "advice_asked":
            return ids
        await self._post(
            f"{url}/advice-requests/{ids['advice_request_id']}/received", examples.ADVICE_RECEIVED
        )
        if stage == "advised":
            return ids
        await self._post(f"{url}/draft-plan", examples.DRAFT)
        if stage == "draft_issued":
            return ids
        await self._post(f"{url}/draft-plan/comments", examples.COMMENTS)
        if stage == "commented":
            return ids
        plan = await self._post(f"{url}/final-plan", examples.FINAL_PLAN)
        ids["plan_id"] = plan["plan_id"]
        return ids


async def stored_events(service: Service) -> int:
    async with service.app.state.runtime.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(event_store))).scalar_one())


async def test_every_answer_is_the_documented_one(service_pg: Service) -> None:
    service_on = service_pg
    document = service_on.app.openapi()
    report = await fuzz(
        document, service_on.client, PlansState(service_on), max_examples=FUZZ_EXAMPLES
    )
    print(report.summary())
    assert report.failures() == []
    assert report.writes_without_success() == []


async def test_every_string_input_refuses_hostile_values(service: Service) -> None:
    operations = string_inputs(service.app.openapi())

    async def count() -> int:
        return await stored_events(service)

    report = await sweep(operations, service.client, PlansState(service), count)
    assert report.faults == [], "\n".join(report.faults)
    assert report.control_characters == set(CONTROL_CHARACTERS)
    covered = {(item.operation, item.location) for item in report.inputs}
    assert {
        ("POST /v1/assessments", ("body", "child_views")),
        ("POST /v1/assessments/{assessment_id}/exceptions", ("body", "evidence")),
    } <= covered
