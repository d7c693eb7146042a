"""The demo step drives a child's journey to a final plan through the public API."""

from __future__ import annotations

import io
from collections.abc import Sequence
from uuid import uuid4

from oneplan_kit.auth import issue_dev_token
from oneplan_kit.demo import DemoContext
from oneplan_plans.demo import run

from ..conftest import Service


def demo_context(service: Service, out: io.StringIO) -> DemoContext:
    def mint(agency: str, roles: Sequence[str], children: Sequence[str]) -> str:
        return issue_dev_token(service.settings, agency, roles, children)

    # What the children step leaves (docs/demo.md), for children this service never saw.
    children = [
        {"key": key, "child_id": str(uuid4()), "given_name": key.title()}
        for key in ("maya", "leo", "jordan")
    ]
    return DemoContext(
        client=service.client,
        scenario={"children": children},
        base_urls={"plans": "http://plans"},
        mint=mint,
        out=out,
    )


async def test_the_demo_runs_maya_to_a_final_plan_and_a_second_run_adds_nothing(
    live_service: Service,
) -> None:
    service = live_service
    ctx = demo_context(service, io.StringIO())
    await run(ctx)
    assert set(ctx.scenario["assessments"]) == {"maya", "leo", "jordan"}
    maya = await service.client.get(
        f"/v1/assessments/{ctx.scenario['assessments']['maya']}/clock", headers=service.auth()
    )
    statuses = {c["name"]: c["status"] for c in maya.json()["clocks"]}
    assert statuses["final_plan"] == "met"
    plan = await service.client.get(
        f"/v1/plans/{ctx.scenario['plans']['maya']}", headers=service.auth()
    )
    assert plan.json()["setting"]["type"] == "mainstream"
    overdue = await service.client.get(
        "/v1/clocks", params={"status": "overdue", "agency": "social_care"}, headers=service.auth()
    )
    assert [i["assessment_id"] for i in overdue.json()["items"]] == [
        ctx.scenario["assessments"]["leo"]
    ]

    jordan = ctx.scenario["support_plans"]["jordan"]
    worklist = await service.client.get(
        "/v1/provision-gaps", params={"setting": "100007"}, headers=service.auth()
    )
    assert [(p["plan_id"], [g["kind"] for g in p["gaps"]]) for p in worklist.json()["plans"]] == [
        (jordan, ["provision_not_delivered"])
    ]
    matrix = (await service.client.get("/v1/provision-matrix")).json()
    assert [v["matrix_version"] for v in matrix["versions"]] == [1, 2]
    assert matrix["in_force"]["matrix_version"] == 1

    out = io.StringIO()
    again = demo_context(service, out)
    again.scenario["children"] = ctx.scenario["children"]
    await run(again)
    assert again.scenario["assessments"] == ctx.scenario["assessments"]
    assert out.getvalue().count("already recorded by an earlier run") == 4
    assert "Provision Matrix was published by an earlier run" in out.getvalue()
    assert again.scenario["support_plans"] == ctx.scenario["support_plans"]
