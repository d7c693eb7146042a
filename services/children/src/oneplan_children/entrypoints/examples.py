"""The request-body examples the OpenAPI document gives, one complete request per operation.

Complete: every field the body may hold is set, so an integrator sees each one filled in, and
the contract tests build every hostile request from them (a field missing here is a field
they cannot cover, and they fail). Synthetic data only: NHS numbers from the range reserved
for testing, a UPN of an establishment number never allocated, invented names.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi.openapi.models import Example

__all__ = ["DETAILS_PATCH", "MEMBER", "MERGE", "NEW_CHILD", "STORY"]


def _complete(summary: str, value: dict[str, Any]) -> dict[str, Example]:
    return {"complete": Example(summary=summary, value=value)}


_ADDRESS: Final = {
    "lines": ["1 Example Street", "Flat 2"],
    "town": "Exampleton",
    "postcode": "EX1 2AB",
}

NEW_CHILD: Final = _complete(
    "Every field set",
    {
        "given_name": "Ada",
        "family_name": "Example",
        "preferred_name": "Addy",
        "date_of_birth": "2015-03-01",
        "sex": "female",
        "gender": "girl",
        "nhs_number": "999 000 0018",
        "upn": "b801200005001",
        "address": _ADDRESS,
        "setting": {"name": "Example Primary School", "urn": "100000", "type": "mainstream"},
        "languages": ["English", "British Sign Language"],
        "communication_needs": "Uses a visual timetable; give her extra time to answer.",
    },
)

DETAILS_PATCH: Final = _complete(
    "Every field changed (send only those that change; null clears an optional one)",
    {
        "given_name": "Adaline",
        "family_name": "Example-Smith",
        "preferred_name": "Ada",
        "date_of_birth": "2015-03-02",
        "sex": "female",
        "gender": "girl",
        "nhs_number": "9990000026",
        "upn": "B801200005001",
        "address": {"lines": ["3 Sample Road"], "town": "Exampleton", "postcode": "EX2 3CD"},
        "setting": {"name": "Example Academy", "urn": "100001", "type": "resourced_provision"},
        "languages": ["English"],
        "communication_needs": "Prefers written questions.",
    },
)

MEMBER: Final = _complete(
    "A parent with parental responsibility",
    {
        "given_name": "Alex",
        "family_name": "Example",
        "relationship": "mother",
        "parental_responsibility": True,
        "roles": ["carer", "emergency_contact"],
        "contact": {
            "phone": "+44 20 7946 0000",
            "email": "alex@example.org",
            "address": _ADDRESS,
        },
        "preferred_contact_method": "email",
    },
)


def _part(text: str, author: str, role: str) -> dict[str, Any]:
    return {"text": text, "author": {"name": author, "role": role}, "told_on": "2024-09-10"}


STORY: Final = _complete(
    "Every part told",
    {
        "like_and_admire": _part("Ada is kind and funny.", "Alex Example", "family"),
        "important_now": _part("Seeing my friends at lunch.", "Ada Example", "child"),
        "important_future": _part("Going to college.", "Ada Example", "child"),
        "communication": _part("Show me, then tell me.", "Sam Sample", "professional"),
        "what_helps": _part("A quiet space when it is loud.", "Alex Example", "family"),
        "what_does_not_help": _part("Sudden changes.", "Ada Example", "child"),
        "history": {
            "entries": [{"occurred_on": "2019-09-04", "what": "Started at nursery."}],
            "author": {"name": "Alex Example", "role": "family"},
            "told_on": "2024-09-10",
        },
        "aspirations": _part("To work with animals.", "Ada Example", "child"),
    },
)

MERGE: Final = _complete(
    "Retire a duplicate",
    {
        "duplicate_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "reason": "Registered twice: same child, same school.",
    },
)
