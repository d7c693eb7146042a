"""The plans service answers as its OpenAPI document says, and refuses hostile input.

The fuzzer (schemathesis) draws requests from the document and holds every answer to it; the
sweep sends hostile values to every string a caller may send. What the document cannot say is
bound here: a SEND manager's token (every route's caller) and an assessment that exists.
"""

from __future__ import annotations

import copy
from datetime import date
from importlib.resources import files
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import func, select

from oneplan_events.schema import event_store
from oneplan_plans.entrypoints import examples, support_examples
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
        self.support = SupportBinder(service, self)

    async def bind(self, call: Call, honest: bool) -> None:
        call.headers["Authorization"] = self.headers["Authorization"]
        call.headers.pop("Consistency-Token", None)
        call.headers.pop("If-Match", None)
        if call.path.endswith(("/plan", "/plan.html")):
            # A practitioner reads the shared plan for a stated purpose (the sweep's hostile
            # purpose replaces this one).
            call.query.setdefault("purpose", "plan_delivery")
        if self.support.handles(call):
            await self.support.bind(call, honest)
            return
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


class SupportBinder:
    """The graduated response's routes: the matrix published once, a SEN support plan staged
    at the step each route needs (run by a school's token), fresh ids where the example's
    would repeat, and an EHC plan with tracked outcomes."""

    _PATHS = ("/v1/support-plans", "/v1/provision-matrix", "/outcomes", "/outcome-progress")

    def __init__(self, service: Service, plans: PlansState) -> None:
        self.service = service
        self.plans = plans
        self.school = service.auth("school", ("senco",))
        self.published = False
        self.next_effective = 0
        self.staged: dict[str, tuple[dict[str, str], str]] = {}

    def handles(self, call: Call) -> bool:
        return any(part in call.path for part in self._PATHS)

    async def bind(self, call: Call, honest: bool) -> None:
        if call.path.startswith("/v1/support-plans"):
            call.headers["Authorization"] = self.school["Authorization"]
        if not honest:
            return
        await self._matrix()
        body = call.body if isinstance(call.body, dict) else None
        if "/provision-matrix/" in call.path and body is not None:
            if "format" in body:
                body.update(support_examples.MATRIX_IMPORT["complete"]["value"])
            if "entries" in body:
                body["entries"] = [dict(support_examples.ENTRY)]
            # A later version takes effect after today and after the latest one.
            self.next_effective += 1
            effective = date(2030, 1, 1).toordinal() + self.next_effective
            body["effective_from"] = date.fromordinal(effective).isoformat()
            return
        if call.path == "/v1/support-plans" and body is not None:
            body.update(opened_on="2025-10-06", setting_urn="100001", plan_type="sen_support")
            return
        if call.path.startswith("/v1/plans/"):
            await self._ehc(call, body)
            return
        stage = "open" if call.path.endswith(("/cycles", "/close")) else "cycle"
        ids = await self._plan(stage)
        for name in call.path_parameters:
            call.path_parameters[name] = ids[name]
        if body is None:
            return
        if call.path.endswith("/cycles"):
            cycle = copy.deepcopy(support_examples.CYCLE["complete"]["value"])
            need, outcome = str(uuid4()), str(uuid4())
            cycle["needs"][0]["need_id"] = need
            cycle["outcomes"][0].update(outcome_id=outcome, need_ids=[need])
            cycle["provision"][0].update(line_id=str(uuid4()), outcome_ids=[outcome])
            for name in ("needs", "outcomes", "provision", "starts_on"):
                body[name] = cycle[name]
        elif call.path.endswith("/provision"):
            body.update(
                line_id=str(uuid4()),
                entry_id="CL-T1",
                tier="targeted",
                starts_on="2025-10-13",
                ends_on="2025-12-19",
                outcome_ids=[ids["outcome_id"]],
            )
        elif call.path.endswith("/delivery"):
            body["recorded_on"] = "2025-11-03"
        elif call.path.endswith("/reviews"):
            body.update(reviewed_on="2026-01-12", decision="continue")
            progress = body.get("progress") or [{}]
            item = progress[0] if isinstance(progress, list) and progress else {}
            body["progress"] = [
                {
                    "outcome_id": ids["outcome_id"],
                    "status": "progressing",
                    "evidence": item.get("evidence") or "Reading age up.",
                }
            ]
        elif call.path.endswith("/close"):
            body.update(closed_on="2026-02-02", reason="left_setting")

    async def _matrix(self) -> None:
        if self.published:
            return
        body = {"effective_from": "2025-09-01", "title": "Matrix", "format": "yaml"}
        body["text"] = (files("oneplan_plans") / "data/provision_matrix.yaml").read_text()
        answer = await self.service.client.post(
            "/v1/provision-matrix/imports", json=body, headers=self.plans.headers
        )
        assert answer.status_code in (201, 422), answer.text  # 422: published already
        self.published = True

    async def _plan(self, stage: str) -> dict[str, str]:
        known = self.staged.get(stage)
        if known is not None:
            ids, etag = known
            read = await self.service.client.get(
                f"/v1/support-plans/{ids['plan_id']}", headers=self.school
            )
            if read.headers.get("etag") == etag:
                return ids
        body = copy.deepcopy(support_examples.SUPPORT_PLAN["complete"]["value"])
        body["child_id"] = str(uuid4())
        opened = await self.service.client.post("/v1/support-plans", json=body, headers=self.school)
        assert opened.status_code == 201, opened.text
        ids = {"plan_id": opened.json()["plan_id"]}
        etag = opened.headers["etag"]
        if stage == "cycle":
            cycle = copy.deepcopy(support_examples.CYCLE["complete"]["value"])
            outcome, line = str(uuid4()), str(uuid4())
            cycle["needs"][0]["need_id"] = need = str(uuid4())
            cycle["outcomes"][0].update(outcome_id=outcome, need_ids=[need])
            cycle["provision"][0].update(line_id=line, outcome_ids=[outcome])
            started = await self.service.client.post(
                f"/v1/support-plans/{ids['plan_id']}/cycles", json=cycle, headers=self.school
            )
            assert started.status_code == 201, started.text
            ids.update(outcome_id=outcome, line_id=line)
            etag = started.headers["etag"]
        self.staged[stage] = (ids, etag)
        return ids

    async def _ehc(self, call: Call, body: dict[str, Any] | None) -> None:
        ids = await self.plans._record("planned")
        call.path_parameters["plan_id"] = ids["plan_id"]
        if body is None:
            return
        if call.path.endswith("/outcomes"):
            body["recorded_on"] = "2026-08-03"
            body["outcomes"] = [{"outcome_id": str(uuid4()), "description": "Travels alone."}]
            return
        outcome = ids.get("ehc_outcome_id")
        if outcome is None:
            outcome = str(uuid4())
            recorded = await self.service.client.post(
                f"/v1/plans/{ids['plan_id']}/outcomes",
                json={
                    "recorded_on": "2026-08-03",
                    "outcomes": [{"outcome_id": outcome, "description": "Travels alone."}],
                },
                headers=self.plans.headers,
            )
            assert recorded.status_code == 201, recorded.text
            ids["ehc_outcome_id"] = outcome
        body["recorded_on"] = "2026-08-20"
        body["progress"] = [
            {"outcome_id": outcome, "status": "progressing", "evidence": "Half the route."}
        ]


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
