"""The request-body examples the OpenAPI document gives, one complete request per operation.

Complete: every field the body may hold is set, so an integrator sees each one filled in, and
the contract tests build every hostile request from them (a field missing here is a field
they cannot cover, and they fail). The ids are placeholders: a real request names a child,
person or record that exists. Invented names only.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi.openapi.models import Example

__all__ = [
    "CONSENT",
    "DECISION",
    "DUTY",
    "ENDING",
    "OVERRIDE",
    "REFUSAL",
    "REVIEW",
    "WITHDRAWAL",
]

_CHILD: Final = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
_PARENT: Final = "0d6f1c8e-2b1a-4a44-9f7e-6c1b2d3e4f50"


def _complete(summary: str, value: Any) -> dict[str, Example]:
    return {"complete": Example(summary=summary, value=value)}


CONSENT: Final = _complete(
    "A parent's signed consent to share the story with health",
    {
        "given_by": {
            "person_id": _PARENT,
            "name": "Alex Example",
            "capacity": "parent_with_pr",
            "mca_assessment_reference": "MCA-2024-0001",
            "gillick_assessment_reference": "GIL-2024-0001",
        },
        "owner_agencies": ["send"],
        "recipient_agencies": ["health"],
        "data_classes": ["story"],
        "purposes": ["health_care"],
        "valid_from": "2025-01-06T09:00:00Z",
        "valid_until": "2026-01-06T09:00:00Z",
        "capture_method": "verbal_with_witness",
        "witness_name": "Sam Sample",
    },
)

WITHDRAWAL: Final = _complete("Why", {"reason": "The family asked to stop sharing."})

OVERRIDE: Final = _complete(
    "Sharing without consent during a safeguarding enquiry",
    {
        "reason": "Section 47 enquiry: health must see the story to assess risk.",
        "lawful_basis": "children_act_1989_s47",
        "recipient_agencies": ["health"],
        "data_classes": ["story", "identity"],
        "ends_at": "2025-02-05T09:00:00Z",
        "hide_from_family": True,
    },
)

REVIEW: Final = _complete("The review's outcome", {"outcome": "Enquiry continues; still needed."})

ENDING: Final = _complete("Why it ends now", {"reason": "The enquiry has closed."})

REFUSAL: Final = _complete(
    "A decision not to share, and why",
    {
        "owner_agency": "send",
        "recipient_agency": "transport",
        "data_classes": ["story"],
        "purpose": "transport_planning",
        "reason": "Transport needs the address, not the story.",
    },
)

DUTY: Final = _complete(
    "A statutory duty to share",
    {
        "lawful_basis": "children_and_families_act_2014_s23",
        "description": "Health must tell the local authority of a child who may have SEN.",
        "owner_agencies": ["health"],
        "recipient_agencies": ["send"],
        "data_classes": ["health"],
        "purposes": ["ehc_assessment"],
        "valid_from": "2025-01-06T09:00:00Z",
        "valid_until": "2026-01-06T09:00:00Z",
    },
)

DECISION: Final = _complete(
    "May health see the SEND team's story for health care? (send a JSON array for a batch)",
    {
        "child_id": _CHILD,
        "owner_agency": "send",
        "recipient_agency": "health",
        "data_class": "story",
        "purpose": "health_care",
        "at": "2025-01-06T09:00:00Z",
    },
)
