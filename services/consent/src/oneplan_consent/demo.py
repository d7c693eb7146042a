"""Demo step of the consent service: consents for the demo children, an override, a withdrawal.

Uses `ctx.scenario["children"]` from the children step (maya 9, leo 6, jordan 17). Leaves
`ctx.scenario["consents"]` (`{"maya": id, "leo": id, "jordan": id}`; leo's is withdrawn) and
`ctx.scenario["overrides"]` (`{"maya": id}`). All data is synthetic.

Consents and the withdrawal are recorded by the SEND caseworker on the family's behalf: a
family token may record or withdraw only as the person it belongs to (its `sub` is the
member's id), and the demo's token minter cannot set `sub`.

A second run (the children step finds the same children) gives, overrides and withdraws
nothing again: it finds what the first run recorded and says so.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from oneplan_kit.demo import DemoContext, DemoError

__all__ = ["run"]

# The consent service learns children from the children service's events: allow it a moment.
_LEARN_CHILD_ATTEMPTS = 50
_LEARN_CHILD_PAUSE = 0.2


def _child(ctx: DemoContext, key: str) -> dict[str, Any]:
    for child in ctx.scenario.get("children", []):
        if child["key"] == key:
            return dict(child)
    raise DemoError(f"the children demo step left no child {key!r}; run it first")


def _parent(child: dict[str, Any]) -> dict[str, Any]:
    for member in child["family"]:
        if member["role"] == "parent" and member["parental_responsibility"]:
            return dict(member)
    raise DemoError(f"{child['given_name']} has no parent with parental responsibility")


def _parent_giver(child: dict[str, Any]) -> dict[str, Any]:
    parent = _parent(child)
    return {
        "person_id": parent["member_id"],
        "name": f"{parent['given_name']} {parent['family_name']}",
        "capacity": "parent_with_pr",
    }


async def _give(
    ctx: DemoContext,
    child: dict[str, Any],
    body: dict[str, Any],
    headers: dict[str, str],
    said: str,
) -> str:
    """Give the consent, or find the one an earlier run gave; report ``said`` either way."""
    url = f"{ctx.base_url('consent')}/v1/children/{child['child_id']}/consents"
    if earlier := await _earlier_consent(ctx, url, body, headers):
        ctx.progress(f"{said} ({earlier}, already recorded by an earlier run)")
        return earlier
    for _ in range(_LEARN_CHILD_ATTEMPTS):
        response = await ctx.client.post(url, json=body, headers=headers)
        if not _not_learned_yet(response):
            response.raise_for_status()
            consent_id = str(response.json()["consent_id"])
            ctx.progress(f"{said} ({consent_id})")
            return consent_id
        await asyncio.sleep(_LEARN_CHILD_PAUSE)
    raise DemoError(
        f"the consent service never learned child {child['child_id']} (or its parent) from "
        "the children service's events: is the children service publishing to NATS?"
    )


async def _earlier_consent(
    ctx: DemoContext, url: str, body: dict[str, Any], headers: dict[str, str]
) -> str | None:
    """The consent an earlier run gave: the same giver, recipients and data classes."""
    response = await ctx.client.get(url, headers=headers)
    if response.status_code == 404:  # the consent service has not learned the child yet
        return None
    response.raise_for_status()
    keys = ("recipient_agencies", "data_classes")
    for consent in response.json():
        record = consent["record"]
        if record["given_by"]["person_id"] == body["given_by"]["person_id"] and all(
            record[k] == body[k] for k in keys
        ):
            return str(consent["consent_id"])
    return None


def _not_learned_yet(response: httpx.Response) -> bool:
    # 404: the child is not known yet; 422 on person_id: the parent not yet either.
    if response.status_code == 404:
        return True
    if response.status_code != 422:
        return False
    locations = [error["location"] for error in response.json().get("errors", [])]
    return ["body", "given_by", "person_id"] in locations


async def run(ctx: DemoContext) -> None:
    """Give three consents (one by a young person), record an override, withdraw one."""
    caseworker = ctx.auth("send", ["caseworker"])
    now = datetime.now(UTC)
    maya, leo, jordan = (_child(ctx, key) for key in ("maya", "leo", "jordan"))
    consents: dict[str, str] = {}
    consents["maya"] = await _give(
        ctx,
        maya,
        {
            "given_by": _parent_giver(maya),
            "owner_agencies": ["send"],
            "recipient_agencies": ["health", "school"],
            "data_classes": ["identity", "story", "education"],
            "purposes": ["ehc_assessment", "health_care", "plan_delivery"],
            "valid_until": (now + timedelta(days=365)).isoformat(),
            "capture_method": "signed_form",
        },
        caseworker,
        "Maya's mother consented: send -> health, school",
    )
    consents["leo"] = await _give(
        ctx,
        leo,
        {
            "given_by": _parent_giver(leo),
            "owner_agencies": ["send"],
            "recipient_agencies": ["health"],
            "data_classes": ["story"],
            "purposes": ["health_care"],
            "valid_until": (now + timedelta(days=180)).isoformat(),
            "capture_method": "signed_form",
        },
        caseworker,
        "Leo's father consented on a signed form",
    )
    consents["jordan"] = await _give(
        ctx,
        jordan,
        {
            "given_by": {
                "person_id": jordan["child_id"],
                "name": f"{jordan['given_name']} {jordan['family_name']}",
                "capacity": "young_person",
            },
            "owner_agencies": ["send"],
            "recipient_agencies": ["transport"],
            "data_classes": ["identity", "story", "transport"],
            "purposes": ["transport_planning"],
            "valid_until": (now + timedelta(days=365)).isoformat(),
            "capture_method": "verbal_with_witness",
            "witness_name": "Chris Witness",
        },
        caseworker,
        "Jordan (17) consented for themself: send -> transport",
    )
    ctx.scenario["overrides"] = {"maya": await _override(ctx, maya)}
    await _withdraw(ctx, leo, consents["leo"])
    ctx.scenario["consents"] = consents


async def _override(ctx: DemoContext, child: dict[str, Any]) -> str:
    lead = ctx.auth("social_care", ["safeguarding_lead"])
    basis = "children_act_1989_s47"
    earlier = await ctx.client.get(
        f"{ctx.base_url('consent')}/v1/overrides",
        params={"child_id": child["child_id"]},
        headers=lead,
    )
    earlier.raise_for_status()
    for found in earlier.json():
        if found["active"] and found["record"]["lawful_basis"] == basis:
            override_id = str(found["override_id"])
            ctx.progress(f"safeguarding override for Maya already recorded ({override_id})")
            return override_id
    response = await ctx.client.post(
        f"{ctx.base_url('consent')}/v1/children/{child['child_id']}/overrides",
        json={
            "reason": "Section 47 enquiry: health information needed by the social worker",
            "lawful_basis": basis,
            "recipient_agencies": ["social_care"],
            "data_classes": ["health", "story"],
            "hide_from_family": True,
        },
        headers=lead,
    )
    response.raise_for_status()
    override_id = str(response.json()["override_id"])
    ctx.progress(f"safeguarding override for Maya recorded, flagged for review ({override_id})")
    return override_id


async def _withdraw(ctx: DemoContext, child: dict[str, Any], consent_id: str) -> None:
    consent = await ctx.client.get(
        f"{ctx.base_url('consent')}/v1/consents/{consent_id}",
        headers=ctx.auth("send", ["caseworker"]),
    )
    consent.raise_for_status()
    if consent.json()["status"] == "withdrawn":
        ctx.progress(f"Leo's father had already withdrawn consent {consent_id}")
        return
    response = await ctx.client.post(
        f"{ctx.base_url('consent')}/v1/consents/{consent_id}/withdrawal",
        json={"reason": "Leo's father: we would rather talk to the clinic ourselves."},
        headers=ctx.auth("send", ["caseworker"]),
    )
    response.raise_for_status()
    ctx.progress(
        f"Leo's father withdrew consent {consent_id} (recorded by the caseworker): health no "
        "longer sees the story"
    )
