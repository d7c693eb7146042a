"""Demo step of the plans service: EHC needs assessments for the demo children.

Uses `ctx.scenario["children"]` from the children step (maya 9, leo 6, jordan 17). Maya's
request goes all the way to a final plan issued in week 17 (health advice asked and
received, an educational psychologist's report reused with everyone's agreement, a draft,
the family's comments naming the school); Leo's assessment is in week 14 with social care's
advice overdue (it shows on the worklist); Jordan asked himself and was declined, with his
appeal deadline, and is on SEN support at his college (`demo_support.py`: the SEND
Provision Matrix published, two cycles, a session not delivered on the worklist). Maya's lead
professional is named (the shared plan's team). Leaves `ctx.scenario["assessments"]`
(`{"maya": id, "leo": id, "jordan": id}`), `ctx.scenario["plans"]` (`{"maya": plan_id}`) and
`ctx.scenario["support_plans"]` (`{"jordan": plan_id}`). All data is synthetic; the dates
count back from today, so every step is in the past.

A second run finds each child's assessment and adds nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from oneplan_events.types import LOCAL_ZONE
from oneplan_kit.demo import DemoContext, DemoError
from oneplan_plans.demo_support import run_graduated_response

__all__ = ["run"]

_SCHOOL = {"name": "Example Primary School", "urn": "100001", "type": "mainstream"}


def _child(ctx: DemoContext, key: str) -> dict[str, Any]:
    for child in ctx.scenario.get("children", []):
        if child["key"] == key:
            return dict(child)
    raise DemoError(f"the children demo step left no child {key!r}; run it first")


def _weeks(start: date, weeks: int, days: int = 0) -> str:
    return (start + timedelta(weeks=weeks, days=days)).isoformat()


class _Journey:
    def __init__(self, ctx: DemoContext) -> None:
        self.ctx = ctx
        self.url = ctx.base_url("plans")
        self.staff = ctx.auth("send", ["caseworker"])
        self.manager = ctx.auth("send", ["manager"])

    async def post(self, path: str, body: dict[str, Any], *, manager: bool = False) -> Any:
        headers = self.manager if manager else self.staff
        response = await self.ctx.client.post(f"{self.url}{path}", json=body, headers=headers)
        response.raise_for_status()
        return response.json()

    async def earlier(self, child: dict[str, Any]) -> str | None:
        url = f"{self.url}/v1/children/{child['child_id']}/assessments"
        response = await self.ctx.client.get(url, headers=self.staff)
        response.raise_for_status()
        found = response.json()["assessments"]
        return str(found[0]["assessment_id"]) if found else None

    async def request(self, child: dict[str, Any], received: date, **body: Any) -> str:
        created = await self.post(
            "/v1/assessments",
            {"child_id": child["child_id"], "received_on": received.isoformat(), **body},
        )
        return str(created["assessment_id"])


async def _maya(journey: _Journey, child: dict[str, Any], today: date) -> str:
    received = today - timedelta(weeks=22)
    assessment_id = await journey.request(
        child,
        received,
        requested_by="parent",
        requester_name="Priya Example",
        child_views="I like drawing. I want help with reading so I can read comics.",
        views_helped_by="Her teaching assistant",
    )
    url = f"/v1/assessments/{assessment_id}"
    await journey.post(
        f"{url}/decision",
        {
            "outcome": "agree",
            "decided_on": _weeks(received, 5),
            "reasons": "Two cycles of SEN support without the progress hoped for.",
        },
        manager=True,
    )
    asked = await journey.post(
        f"{url}/advice-requests",
        {
            "agency": "health",
            "advice_type": "health",
            "requested_on": _weeks(received, 5, 1),
            "question": "Vision and hearing, and any health needs affecting learning.",
        },
    )
    request_id = asked["advice"][0]["advice_request_id"]
    await journey.post(
        f"{url}/advice-reuse",
        {
            "agency": "educational_psychology",
            "advice_type": "educational_psychology",
            "given_on": _weeks(received, -8),
            "author": "Dr Ellis Example",
            "description": "Educational psychology report for the SEN support review",
            "agreed_by_authority": True,
            "agreed_by_author": True,
            "agreed_by_family": True,
            "reused_on": _weeks(received, 5, 1),
        },
    )
    await journey.post(
        f"{url}/advice-requests/{request_id}/received", {"received_on": _weeks(received, 10)}
    )
    await journey.post(
        f"{url}/draft-plan",
        {
            "issued_on": _weeks(received, 14),
            "sections": {
                "B": "Specific learning difficulty: reading and spelling well below her age.",
                "E": "By the end of Year 5 Maya reads a comic book page on her own.",
                "F": "Daily structured literacy sessions of 20 minutes with a trained adult.",
            },
        },
    )
    await journey.post(
        f"{url}/draft-plan/comments",
        {
            "received_on": _weeks(received, 15),
            "comments": "We agree and would like her to stay at her school.",
            "setting_requested": _SCHOOL,
        },
    )
    plan = await journey.post(
        f"{url}/final-plan",
        {"issued_on": _weeks(received, 17), "setting": _SCHOOL, "start_date": _weeks(received, 18)},
        manager=True,
    )
    journey.ctx.progress(
        f"Maya: request received {received.isoformat()}, final plan issued in week 17 "
        f"({plan['plan_id']}), first review due {plan['next_review_due_on']}"
    )
    journey.ctx.scenario.setdefault("plans", {})["maya"] = plan["plan_id"]
    return assessment_id


async def _leo(journey: _Journey, child: dict[str, Any], today: date) -> str:
    received = today - timedelta(weeks=14)
    assessment_id = await journey.request(
        child, received, requested_by="school", requester_name="Example Infant School SENCo"
    )
    url = f"/v1/assessments/{assessment_id}"
    await journey.post(
        f"{url}/decision",
        {
            "outcome": "agree",
            "decided_on": _weeks(received, 5),
            "reasons": "Needs in communication and interaction.",
        },
        manager=True,
    )
    await journey.post(
        f"{url}/advice-requests",
        {
            "agency": "social_care",
            "advice_type": "social_care",
            "requested_on": _weeks(received, 5, 1),
        },
    )
    journey.ctx.progress(
        f"Leo: week 14 of his assessment; social care's advice was due {_weeks(received, 11, 1)} "
        "(overdue: on the worklist)"
    )
    return assessment_id


async def _jordan(journey: _Journey, child: dict[str, Any], today: date) -> str:
    received = today - timedelta(weeks=7)
    assessment_id = await journey.request(
        child, received, requested_by="young_person", child_views="I want support to go to college."
    )
    declined = await journey.post(
        f"/v1/assessments/{assessment_id}/decision",
        {
            "outcome": "decline",
            "decided_on": _weeks(received, 6),
            "letter_sent_on": _weeks(received, 6),
            "reasons": "His needs can be met by the college's own support.",
        },
        manager=True,
    )
    journey.ctx.progress(f"Jordan: declined; he may appeal until {declined['appeal_by']}")
    return assessment_id


async def run(ctx: DemoContext) -> None:
    """Maya's plan, Leo's assessment under way, Jordan's decline and his SEN support."""
    journey = _Journey(ctx)
    today = datetime.now(LOCAL_ZONE).date()
    assessments: dict[str, str] = ctx.scenario.setdefault("assessments", {})
    for key, step in (("maya", _maya), ("leo", _leo), ("jordan", _jordan)):
        child = _child(ctx, key)
        if earlier := await journey.earlier(child):
            ctx.progress(
                f"{child['given_name']}: assessment {earlier} already recorded by an earlier run"
            )
            assessments[key] = earlier
            continue
        assessments[key] = await step(journey, child, today)
    await run_graduated_response(ctx, _child(ctx, "jordan"), today)
    await _lead_professional(journey, _child(ctx, "maya"), today)


async def _lead_professional(journey: _Journey, child: dict[str, Any], today: date) -> None:
    """Maya's family learns whom to call: the SEND caseworker coordinates her plan. The
    shared plan (every agency's lines, as each reader may see them) is then at
    `/v1/children/<id>/plan` and, printable, `/plan.html`."""
    url = f"{journey.url}/v1/children/{child['child_id']}/lead-professional"
    body = {
        "name": "Jo Example",
        "role": "SEND caseworker",
        "agency": "send",
        "contact": "send-team@example.invalid",
        "named_on": today.isoformat(),
    }
    named = await journey.ctx.client.put(url, json=body, headers=journey.staff)
    if named.status_code == 409:
        journey.ctx.progress("Maya: lead professional already named by an earlier run")
    else:
        named.raise_for_status()
        journey.ctx.progress("Maya: Jo Example (SEND caseworker) named as lead professional")
    plan = f"{journey.url}/v1/children/{child['child_id']}/plan.html"
    journey.ctx.progress(f"Maya's shared plan, printable, for her family: {plan}")
