"""The graduated response in `./oneplan demo` (called by `demo.run`): the SEND Provision Matrix
published (the synthetic one shipped, in force for two years, and a second version from next
month), and Jordan on SEN support at Example College, whose needs the authority decided the
college can meet: a reviewed first cycle, a second under way with a session not delivered as
planned (on the college's worklist). Leaves `ctx.scenario["support_plans"]` (`{"jordan":
plan_id}`). A second run finds the matrix and the plan and adds nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from importlib.resources import files
from typing import Any
from uuid import uuid4

import yaml

from oneplan_kit.demo import DemoContext

__all__ = ["run_graduated_response"]

COLLEGE_URN = "100007"


def _day(today: date, weeks: int) -> str:
    return (today - timedelta(weeks=weeks)).isoformat()


async def _post(ctx: DemoContext, url: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = await ctx.client.post(url, json=body, headers=headers)
    response.raise_for_status()
    return response.json()


async def _matrix(ctx: DemoContext, base: str, today: date) -> None:
    current = await ctx.client.get(f"{base}/v1/provision-matrix")
    current.raise_for_status()
    if current.json()["versions"]:
        ctx.progress("the SEND Provision Matrix was published by an earlier run")
        return
    manager = ctx.auth("send", ["manager"])
    text = files("oneplan_plans").joinpath("data/provision_matrix.yaml").read_text()
    body = {"effective_from": _day(today, 104), "title": "Exampleshire SEND Provision Matrix"}
    await _post(
        ctx,
        f"{base}/v1/provision-matrix/imports",
        {**body, "format": "yaml", "text": text},
        manager,
    )
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    entry = {
        "entry_id": "SEMH-T3",
        "area": "social_emotional_mental_health",
        "tier": "targeted",
        "description": "Anxiety-management group (new this year)",
        "typical_provider": "Trained pastoral lead",
        "frequency": "Weekly for a term",
    }
    entries = [*yaml.safe_load(text)["entries"], entry]
    second = await _post(
        ctx,
        f"{base}/v1/provision-matrix/versions",
        {
            "effective_from": next_month.isoformat(),
            "title": "Exampleshire SEND Provision Matrix, revised",
            "entries": entries,
        },
        manager,
    )
    ctx.progress(
        f"SEND Provision Matrix published: version 1 in force, version "
        f"{second['matrix_version']} from {second['effective_from']}"
    )


def _cycle(today: date, starts: int, need: str, outcome: str, views: str) -> dict[str, Any]:
    return {
        "starts_on": _day(today, starts),
        "needs": [
            {
                "need_id": need,
                "area": "social_emotional_mental_health",
                "description": "High anxiety in busy spaces; leaves lessons when overwhelmed.",
                "expected_tier": "targeted",
            }
        ],
        "outcomes": [
            {
                "outcome_id": outcome,
                "description": "Jordan stays in his practical lessons for the whole session.",
                "need_ids": [need],
            }
        ],
        "provision": [
            {
                "entry_id": "SEMH-T1",
                "provider": "College wellbeing mentor",
                "duration": "30 minutes",
                "starts_on": _day(today, starts),
                "cost_pence": 60000,
                "outcome_ids": [outcome],
            },
            {
                "entry_id": "SEMH-U2",
                "duration": "as needed",
                "starts_on": _day(today, starts),
                "outcome_ids": [outcome],
            },
        ],
        "child_views": views,
        "child_views_helped_by": "His wellbeing mentor",
        "family_views": "He is calmer at home since the mentor sessions started.",
        "family_views_given_by": "Sam Example",
    }


async def run_graduated_response(ctx: DemoContext, jordan: dict[str, Any], today: date) -> None:
    """The matrix, and Jordan's SEN support plan at the college."""
    base = ctx.base_url("plans")
    await _matrix(ctx, base, today)
    staff = ctx.auth("send", ["caseworker"])
    found = await ctx.client.get(
        f"{base}/v1/children/{jordan['child_id']}/provision-map", headers=staff
    )
    found.raise_for_status()
    plans: dict[str, str] = ctx.scenario.setdefault("support_plans", {})
    if found.json()["plans"]:
        plans["jordan"] = found.json()["plans"][0]["plan_id"]
        ctx.progress(
            f"Jordan: SEN support plan {plans['jordan']} already recorded by an earlier run"
        )
        return
    college = ctx.auth("school", ["senco"])
    opened = await _post(
        ctx,
        f"{base}/v1/support-plans",
        {"child_id": jordan["child_id"], "setting_urn": COLLEGE_URN, "opened_on": _day(today, 30)},
        college,
    )
    url = f"{base}/v1/support-plans/{opened['plan_id']}"
    need, outcome = str(uuid4()), str(uuid4())
    first = await _post(
        ctx,
        f"{url}/cycles",
        _cycle(today, 29, need, outcome, "Crowded workshops make my heart race."),
        college,
    )
    for line in first["cycles"][0]["provision"]:
        delivery = {"recorded_on": _day(today, 24), "delivered_as_planned": True}
        await _post(ctx, f"{url}/provision/{line['line_id']}/delivery", delivery, college)
    review = {
        "reviewed_on": _day(today, 17),
        "progress": [
            {
                "outcome_id": outcome,
                "status": "progressing",
                "evidence": "Left 2 of 10 workshop sessions this half-term (was 7 of 10).",
            }
        ],
        "decision": "continue",
        "reasons": "Good progress with the mentor; keep the same support.",
    }
    await _post(ctx, f"{url}/reviews", review, college)
    second = await _post(
        ctx,
        f"{url}/cycles",
        _cycle(today, 16, need, outcome, "The mentor helps. I want to try the busy canteen."),
        college,
    )
    mentor = second["cycles"][1]["provision"][0]["line_id"]
    missed = {
        "recorded_on": _day(today, 4),
        "delivered_as_planned": False,
        "note": "Mentor post vacant for three weeks",
    }
    await _post(ctx, f"{url}/provision/{mentor}/delivery", missed, college)
    plans["jordan"] = opened["plan_id"]
    ctx.progress(
        f"Jordan: SEN support at Example College ({opened['plan_id']}), cycle 2 under way; "
        f"a mentor session not delivered as planned is on the college's worklist "
        f"(GET /v1/provision-gaps?setting={COLLEGE_URN})"
    )
