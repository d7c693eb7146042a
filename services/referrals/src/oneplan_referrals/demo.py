"""Demo step of the referrals service: referrals for the demo children and their waits.

Uses `ctx.scenario["children"]` from the children step (maya, leo, jordan). Leaves
`ctx.scenario["referrals"]` (`{"maya": id, "leo": id}`). Maya's school referred her to Rise
(CAMHS) 20 weeks ago: accepted, a missed appointment, then seen within 18 weeks; Leo was referred
to Rise 15 weeks ago and redirected to speech and language therapy, where he still waits (flagged:
his breach date is near and nothing is booked). All data is synthetic; the directory is the
synthetic one shipped with the service.

A second run finds the referrals the first one made (the child's referral list) and adds
nothing.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import httpx

from oneplan_kit.demo import DemoContext, DemoError

__all__ = ["run"]

RISE = "3f2b8a10-4c1e-4f7a-9b61-0c5d2e7a1001"
SALT = "3f2b8a10-4c1e-4f7a-9b61-0c5d2e7a1003"

# The referrals service learns children from the children service's events: allow it a moment.
_LEARN_CHILD_ATTEMPTS = 50
_LEARN_CHILD_PAUSE = 0.2


def _child(ctx: DemoContext, key: str) -> dict[str, Any]:
    for child in ctx.scenario.get("children", []):
        if child["key"] == key:
            return dict(child)
    raise DemoError(f"the children demo step left no child {key!r}; run it first")


def _not_learned_yet(response: httpx.Response) -> bool:
    if response.status_code != 422:
        return False
    return ["body", "child_id"] in [e["location"] for e in response.json().get("errors", [])]


async def _refer(
    ctx: DemoContext, child: dict[str, Any], body: dict[str, Any], headers: dict[str, str]
) -> tuple[dict[str, Any], bool]:
    """The child's referral: one an earlier run made, or a new one (True: new)."""
    url = ctx.base_url("referrals")
    listed = await ctx.client.get(
        f"{url}/v1/children/{child['child_id']}/referrals",
        headers=ctx.auth("health", ["clinician"]),
    )
    listed.raise_for_status()
    if listed.json()["items"]:
        return dict(listed.json()["items"][0]), False
    for _ in range(_LEARN_CHILD_ATTEMPTS):
        response = await ctx.client.post(f"{url}/v1/referrals", json=body, headers=headers)
        if not _not_learned_yet(response):
            response.raise_for_status()
            return dict(response.json()), True
        await asyncio.sleep(_LEARN_CHILD_PAUSE)
    raise DemoError(
        f"the referrals service never learned child {child['child_id']} from the children "
        "service's events: is the children service publishing to NATS?"
    )


async def _post(ctx: DemoContext, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await ctx.client.post(
        f"{ctx.base_url('referrals')}{path}", json=body, headers=ctx.auth("health", ["clinician"])
    )
    response.raise_for_status()
    return dict(response.json())


async def _maya(ctx: DemoContext, today: date) -> str:
    maya = _child(ctx, "maya")
    received = today - timedelta(weeks=20)
    body = {
        "child_id": maya["child_id"],
        "service_id": RISE,
        "reason": "Low mood and anxiety about school since the spring term.",
        "urgency": "routine",
        "received_on": received.isoformat(),
    }
    referral, new = await _refer(ctx, maya, body, ctx.auth("school", ["senco"]))
    rid = referral["referral_id"]
    if not new:
        ctx.progress(f"Maya's referral to Rise ({rid}, already made by an earlier run)")
        return str(rid)
    path = f"/v1/referrals/{rid}"
    on = (received + timedelta(weeks=1)).isoformat()
    await _post(ctx, f"{path}/triage", {"decision": "accepted", "on": on})
    first = received + timedelta(weeks=6)
    booked = await _post(
        ctx, f"{path}/appointments", {"booked_on": on, "appointment_on": first.isoformat()}
    )
    await _post(
        ctx, f"{path}/appointments/{booked['appointments'][0]['appointment_id']}/did-not-attend"
    )
    second = received + timedelta(weeks=9)
    booked = await _post(
        ctx,
        f"{path}/appointments",
        {"booked_on": first.isoformat(), "appointment_on": second.isoformat()},
    )
    seen = await _post(
        ctx, f"{path}/appointments/{booked['appointments'][1]['appointment_id']}/attended"
    )
    ctx.progress(
        f"Maya referred to Rise by her school, missed one appointment, seen after "
        f"{seen['wait']['weeks']} weeks ({rid})"
    )
    return str(rid)


async def _leo(ctx: DemoContext, today: date) -> str:
    leo = _child(ctx, "leo")
    received = today - timedelta(weeks=15)
    body = {
        "child_id": leo["child_id"],
        "service_id": RISE,
        "reason": "Frustration and withdrawal; few words at home and at school.",
        "urgency": "routine",
        "received_on": received.isoformat(),
        "referrer_agency": "school",
    }
    referral, new = await _refer(ctx, leo, body, ctx.auth("health", ["clinician"]))
    rid = referral["referral_id"]
    if not new:
        ctx.progress(f"Leo's referral ({rid}, already made by an earlier run)")
        return str(rid)
    on = (received + timedelta(weeks=2)).isoformat()
    moved = await _post(
        ctx,
        f"/v1/referrals/{rid}/triage",
        {"decision": "redirected", "on": on, "to_service_id": SALT},
    )
    ctx.progress(
        f"Leo redirected from Rise to speech and language therapy, still waiting after "
        f"{moved['wait']['weeks']} weeks ({moved['wait']['status']}) ({rid})"
    )
    return str(rid)


async def run(ctx: DemoContext) -> None:
    """Two referrals: one seen within 18 weeks after a missed appointment, one waiting."""
    today = date.today()
    ctx.scenario["referrals"] = {"maya": await _maya(ctx, today), "leo": await _leo(ctx, today)}
