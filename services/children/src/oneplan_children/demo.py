"""Demo step of the children service: synthetic children, their families and their stories.

Everything is synthetic: names are invented, NHS numbers come from the range reserved for
testing (999 ...) and UPNs from an establishment number no school has. Identifiers are random
on each run, so the step can run again against the same database (the repeated names then show
up as possible-duplicate warnings, which is the point of those warnings).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from oneplan_children.domain.identifiers import synthetic_nhs_number, synthetic_upn
from oneplan_kit.demo import DemoContext

__all__ = ["run"]


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
    today = date.today()
    rng = random.Random()
    scenario: list[dict[str, Any]] = []
    for plan in _children(rng, today):
        created = await ctx.client.post(f"{base}/v1/children", json=plan["record"], headers=auth)
        created.raise_for_status()
        child = created.json()
        etag = created.headers["etag"]
        family: list[dict[str, Any]] = []
        for role, member in plan["members"].items():
            added = await ctx.client.post(
                f"{base}/v1/children/{child['child_id']}/family-members",
                json=member,
                headers={**auth, "If-Match": etag},
            )
            added.raise_for_status()
            etag = added.headers["etag"]
            family.append(
                {
                    "member_id": added.json()["member_id"],
                    "role": role,
                    **{k: member[k] for k in ("given_name", "family_name", "relationship")},
                    "parental_responsibility": member["parental_responsibility"],
                }
            )
        told = await ctx.client.put(
            f"{base}/v1/children/{child['child_id']}/story",
            json=plan["story"],
            headers={**auth, "If-Match": etag},
        )
        told.raise_for_status()
        scenario.append(
            {
                "key": plan["key"],
                **{k: child[k] for k in ("child_id", "given_name", "family_name", "date_of_birth")},
                "nhs_number": child["nhs_number"],
                "upn": child["upn"],
                "over_compulsory_school_age": child["over_compulsory_school_age"],
                "etag": told.headers["etag"],
                "family": family,
            }
        )
        ctx.progress(
            f"registered {child['given_name']} {child['family_name']} ({child['child_id']}), "
            f"{len(family)} family members, story told"
        )
    ctx.scenario["children"] = scenario
