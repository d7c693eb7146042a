"""Demo step of the children service: synthetic children, their families and their stories.

Everything is synthetic: names are invented, NHS numbers come from the range reserved for
testing (999 ...) and UPNs from an establishment number no school has. The identifiers are the
same on every run, so a second run finds the children the first registered (searching by NHS
number, as a partner's system would), adds only what is missing and says what was already there.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from oneplan_children.domain.identifiers import synthetic_nhs_number, synthetic_upn
from oneplan_kit.demo import DemoContext

__all__ = ["run"]


# The same synthetic identifiers on every run: what makes a second run find the first's children.
DEMO_SEED = "oneplan-demo"


def _born(today: date, years: int, days: int) -> str:
    return (today - timedelta(days=365 * years + days)).isoformat()


MAYA = ("Maya", "child")
MAYA_MOTHER = ("Priya Testwood", "family")
LEO_FATHER = ("Tom Samplefield", "family")
JORDAN = ("Jordan", "child")


def _children(rng: random.Random, today: date) -> list[dict[str, Any]]:
    def said(text: str, author: tuple[str, str]) -> dict[str, Any]:
        name, role = author
        return {"text": text, "author": {"name": name, "role": role}, "told_on": today.isoformat()}

    return [
        {
            "key": "maya",
            "record": {
                "given_name": "Maya",
                "family_name": "Testwood",
                "date_of_birth": _born(today, 9, 40),
                "sex": "female",
                "nhs_number": synthetic_nhs_number(rng),
                "upn": synthetic_upn(rng),
                "address": {
                    "lines": ["12 Synthetic Lane"],
                    "town": "Exampleton",
                    "postcode": "ZZ99 1AA",
                },
                "setting": {"name": "Exampleton Primary", "type": "mainstream"},
                "languages": ["English", "British Sign Language"],
                "communication_needs": "Uses visual timetables; needs time to process questions.",
            },
            "members": {
                "parent": _member("Priya", "Testwood", "mother", True, [], "text"),
                "grandparent": _member(
                    "June", "Testwood", "grandparent", False, ["carer"], "phone"
                ),
                "advocate": _member("Sam", "Advocate", "other", False, ["advocate"], "email"),
            },
            "story": {
                "like_and_admire": said("I am kind and I make people laugh.", MAYA),
                "important_now": said("My cat, drawing, and knowing what happens next.", MAYA),
                "communication": said("Show me pictures; give me time to answer.", MAYA_MOTHER),
                "what_helps": said("A quiet space at lunchtime.", MAYA_MOTHER),
                "what_does_not_help": said("Sudden changes and loud halls.", MAYA),
                "aspirations": said("I want to be an illustrator.", MAYA),
            },
        },
        {
            "key": "leo",
            "record": {
                "given_name": "Leo",
                "family_name": "Samplefield",
                "date_of_birth": _born(today, 6, 100),
                "sex": "male",
                "nhs_number": synthetic_nhs_number(rng),
                "upn": synthetic_upn(rng, temporary=True),
                "setting": {"name": "Sample Infant School", "type": "mainstream"},
            },
            "members": {
                "parent": _member("Tom", "Samplefield", "father", True, [], "phone"),
                "lead_professional": _member(
                    "Alex", "Keyworker", "professional", False, ["lead_professional"], "email"
                ),
            },
            "story": {
                "like_and_admire": said("Leo is brave and loves dinosaurs.", LEO_FATHER),
                "history": {
                    "entries": [
                        {"occurred_on": _born(today, 3, 0), "what": "Speech and language referral"},
                        {"occurred_on": _born(today, 1, 0), "what": "Started Sample Infant School"},
                    ],
                    "author": {"name": "Alex Keyworker", "role": "professional"},
                    "told_on": today.isoformat(),
                },
            },
        },
        {
            "key": "jordan",
            "record": {
                "given_name": "Jordan",
                "family_name": "Examplehurst",
                "date_of_birth": _born(today, 17, 60),
                "nhs_number": synthetic_nhs_number(rng),
                "setting": {"name": "Example College", "type": "post16_college"},
            },
            "members": {
                "parent": _member("Rowan", "Examplehurst", "mother", True, [], "email"),
            },
            "story": {
                "aspirations": said(
                    "I want a supported internship and to travel to college on my own.", JORDAN
                ),
            },
        },
    ]


def _member(
    given: str, family: str, relationship: str, pr: bool, roles: list[str], contact: str
) -> dict[str, Any]:
    return {
        "given_name": given,
        "family_name": family,
        "relationship": relationship,
        "parental_responsibility": pr,
        "roles": roles,
        "contact": {"phone": "01632 960000", "email": f"{given.lower()}@example.org"},
        "preferred_contact_method": contact,
    }


async def run(ctx: DemoContext) -> None:
    """Register three synthetic children with families and stories.

    Leaves ``ctx.scenario["children"]`` (the shape docs/demo.md documents): a list, in order
    maya (9; mother with parental responsibility, grandparent carer, advocate), leo (6; father
    with parental responsibility, lead professional), jordan (17: over compulsory school age;
    mother with parental responsibility). Each item holds ``key``, ``child_id``, ``given_name``,
    ``family_name``, ``date_of_birth``, ``nhs_number``, ``upn`` (or None),
    ``over_compulsory_school_age``, ``etag`` (the record's current ETag) and ``family``: a list
    of ``{"member_id", "role", "given_name", "family_name", "relationship",
    "parental_responsibility"}`` where ``role`` is ``parent``, ``grandparent``, ``advocate`` or
    ``lead_professional``.
    """
    base = ctx.base_url("children")
    auth = ctx.auth("send", ["caseworker"])
    scenario: list[dict[str, Any]] = []
    for plan in _children(random.Random(DEMO_SEED), date.today()):
        found = await _find(ctx, base, auth, plan["record"]["nhs_number"])
        if found is None:
            created = await ctx.client.post(
                f"{base}/v1/children", json=plan["record"], headers=auth
            )
            created.raise_for_status()
            child, etag = created.json(), created.headers["etag"]
            known: list[dict[str, Any]] = []
        else:
            child, etag = found
            known = child["family"] or []
        family, added, etag = await _family(ctx, base, auth, plan, child, known, etag)
        told, etag = await _story(ctx, base, auth, plan, child, etag)
        scenario.append(
            {
                "key": plan["key"],
                **{k: child[k] for k in ("child_id", "given_name", "family_name", "date_of_birth")},
                "nhs_number": child["nhs_number"],
                "upn": child["upn"],
                "over_compulsory_school_age": child["over_compulsory_school_age"],
                "etag": etag,
                "family": family,
            }
        )
        ctx.progress(_report(child, found is not None, len(family), added, told))
    ctx.scenario["children"] = scenario


async def _find(
    ctx: DemoContext, base: str, auth: dict[str, str], nhs_number: str
) -> tuple[dict[str, Any], str] | None:
    """The record a previous run registered with this NHS number, and its ETag."""
    search = await ctx.client.get(
        f"{base}/v1/children", params={"nhs_number": nhs_number}, headers=auth
    )
    search.raise_for_status()
    items = search.json()["items"]
    if not items:
        return None
    record = await ctx.client.get(f"{base}/v1/children/{items[0]['child_id']}", headers=auth)
    record.raise_for_status()
    return record.json(), record.headers["etag"]


async def _family(
    ctx: DemoContext,
    base: str,
    auth: dict[str, str],
    plan: dict[str, Any],
    child: dict[str, Any],
    known: list[dict[str, Any]],
    etag: str,
) -> tuple[list[dict[str, Any]], int, str]:
    """Each planned member, added unless the record already has them: (family, added, ETag)."""
    family: list[dict[str, Any]] = []
    added = 0
    for role, member in plan["members"].items():
        member_id = next((m["member_id"] for m in known if _same_person(m, member)), None)
        if member_id is None:
            response = await ctx.client.post(
                f"{base}/v1/children/{child['child_id']}/family-members",
                json=member,
                headers={**auth, "If-Match": etag},
            )
            response.raise_for_status()
            member_id, etag = response.json()["member_id"], response.headers["etag"]
            added += 1
        family.append(
            {
                "member_id": member_id,
                "role": role,
                **{k: member[k] for k in ("given_name", "family_name", "relationship")},
                "parental_responsibility": member["parental_responsibility"],
            }
        )
    return family, added, etag


def _same_person(recorded: dict[str, Any], planned: dict[str, Any]) -> bool:
    return all(recorded[k] == planned[k] for k in ("given_name", "family_name", "relationship"))


async def _story(
    ctx: DemoContext,
    base: str,
    auth: dict[str, str],
    plan: dict[str, Any],
    child: dict[str, Any],
    etag: str,
) -> tuple[bool, str]:
    """Tell the story unless it was told already: (told now, ETag)."""
    url = f"{base}/v1/children/{child['child_id']}/story"
    current = await ctx.client.get(url, headers=auth)
    current.raise_for_status()
    if current.json()["story"] is not None:
        return False, etag
    told = await ctx.client.put(url, json=plan["story"], headers={**auth, "If-Match": etag})
    told.raise_for_status()
    return True, told.headers["etag"]


def _report(child: dict[str, Any], existed: bool, members: int, added: int, told: bool) -> str:
    name = f"{child['given_name']} {child['family_name']} ({child['child_id']})"
    people = f"{members} family member{'' if members == 1 else 's'}"
    if not existed:
        return f"registered {name}, {people}, story told"
    new = f"{added} added now" if added else "all already there"
    story = "story told now" if told else "story already told"
    return f"{name} was already registered: {people} ({new}), {story}"
