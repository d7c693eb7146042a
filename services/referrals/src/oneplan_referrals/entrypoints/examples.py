"""The request-body examples the OpenAPI document gives, one complete request per operation.

Complete: every field the body may hold is set, so an integrator sees each one filled in, and
the contract tests build every hostile request from them. Synthetic data only: the ids of the
synthetic directory shipped with the service, invented names.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi.openapi.models import Example

__all__ = [
    "ADVICE_REUSE",
    "ADVICE_SUBMISSION",
    "APPOINTMENT",
    "CANCELLATION",
    "DISCHARGE",
    "NEW_REFERRAL",
    "RETIREMENT",
    "SERVICE",
    "TRIAGE",
]

RISE: Final = "3f2b8a10-4c1e-4f7a-9b61-0c5d2e7a1001"
SALT: Final = "3f2b8a10-4c1e-4f7a-9b61-0c5d2e7a1003"
OT: Final = "3f2b8a10-4c1e-4f7a-9b61-0c5d2e7a1004"
_AUTHOR: Final = {"name": "Dr Ada Example", "role": "community paediatrician"}
_COMMISSIONER: Final = {"name": "Sam Example", "organisation": "Example Integrated Care Board"}


def _complete(summary: str, value: dict[str, Any]) -> dict[str, Example]:
    return {"complete": Example(summary=summary, value=value)}


NEW_REFERRAL: Final = _complete(
    "A school's referral to Rise, recorded by health",
    {
        "child_id": "0b6f3c1e-8d55-4a57-9d55-1f3f7b1f0c11",
        "service_id": RISE,
        "reason": "Low mood and school refusal since January.",
        "urgency": "routine",
        "received_on": "2026-01-05",
        "referrer_agency": "school",
    },
)
TRIAGE: Final = _complete(
    "Declined, signposting to occupational therapy (to_service_id is for a redirection)",
    {
        "decision": "declined",
        "on": "2026-01-09",
        "to_service_id": SALT,
        "signposted_to": [OT],
        "note": "Needs are sensory rather than emotional.",
    },
)
APPOINTMENT: Final = _complete(
    "A first appointment", {"booked_on": "2026-01-12", "appointment_on": "2026-02-02"}
)
CANCELLATION: Final = _complete("Cancelled by the family", {"by": "family", "on": "2026-01-30"})
DISCHARGE: Final = _complete(
    "Discharged after treatment",
    {"on": "2026-05-01", "outcome": "treatment_completed", "note": "Mood much improved."},
)
ADVICE_SUBMISSION: Final = _complete(
    "Health advice: needs (section C) and provision agreed by the commissioner (section G)",
    {
        "author": _AUTHOR,
        "health_needs": "Needs support with sensory regulation.",
        "health_provision": "Occupational therapy review each term.",
        "outcomes": ["Takes part in PE with adjustments"],
        "commissioner": _COMMISSIONER,
        "submitted_on": "2026-05-29",
    },
)
ADVICE_REUSE: Final = _complete(
    "The child's earlier advice, reused with everyone's agreement",
    {
        "earlier_advice_request_id": "5e000000-0000-4000-8000-000000000001",
        "author": _AUTHOR,
        "commissioner": _COMMISSIONER,
        "family_agreed": True,
        "submitted_on": "2026-05-29",
    },
)
SERVICE: Final = _complete(
    "A service of the directory, as its editors describe it",
    {
        "code": "sensory-clinic",
        "name": "Sensory clinic",
        "organisation_id": "6a0e5b2c-1d3f-4e8a-a9b7-2c4d6e8f0001",
        "organisation": "Example Children's Health NHS Trust",
        "description": "Assessment and advice for children with sensory processing needs.",
        "min_age": 4,
        "max_age": 16,
        "referral_criteria": "Sensory needs affecting learning or daily life.",
        "email": "sensory@example.org",
        "phone": "01632 960009",
        "url": "https://example.org/sensory",
        "categories": ["occupational_therapy", "sensory"],
    },
)
RETIREMENT: Final = _complete(
    "Retired: merged into occupational therapy",
    {"on": "2026-05-29", "reason": "Merged into the occupational therapy service."},
)
