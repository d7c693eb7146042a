"""The graduated response's request-body examples, one complete request per operation (every
field set, as `examples.py` does for the EHC routes). The ids are placeholders; the names and
the matrix are invented."""

from __future__ import annotations

from typing import Any, Final

from fastapi.openapi.models import Example

__all__ = [
    "CLOSE",
    "CYCLE",
    "DELIVERY",
    "EHC_OUTCOMES",
    "EHC_PROGRESS",
    "LINE",
    "MATRIX_IMPORT",
    "MATRIX_VERSION",
    "SUPPORT_PLAN",
    "SUPPORT_REVIEW",
]

NEED: Final = "6a0f2b1c-3d4e-4f5a-8b6c-7d8e9f0a1b2c"
OUTCOME: Final = "7b1a3c2d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"
LINE_ID: Final = "8c2b4d3e-5f6a-4b7c-8d8e-9f0a1b2c3d4e"
ENTRY: Final = {
    "entry_id": "CL-T1",
    "area": "cognition_and_learning",
    "tier": "targeted",
    "description": "Structured literacy intervention in a small group",
    "typical_provider": "Trained teaching assistant",
    "frequency": "4 x 20 minutes a week",
}


def _complete(summary: str, value: Any) -> dict[str, Example]:
    return {"complete": Example(summary=summary, value=value)}


MATRIX_VERSION: Final = _complete(
    "A version with one entry",
    {
        "effective_from": "2025-09-01",
        "title": "Exampleshire SEND Provision Matrix",
        "entries": [ENTRY],
    },
)
MATRIX_IMPORT: Final = _complete(
    "A version from CSV",
    {
        "effective_from": "2025-09-01",
        "title": "Exampleshire SEND Provision Matrix",
        "format": "csv",
        "text": "entry_id,area,tier,description,typical_provider,frequency\n"
        "CL-T1,cognition_and_learning,targeted,Structured literacy intervention,"
        "Trained teaching assistant,Weekly\n",
    },
)
SUPPORT_PLAN: Final = _complete(
    "A primary school opens a SEN support plan",
    {
        "child_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "setting_urn": "100001",
        "opened_on": "2025-10-06",
        "plan_type": "sen_support",
    },
)
_LINE: Final = {
    "line_id": LINE_ID,
    "entry_id": "CL-T1",
    "tier": "targeted",
    "provider": "Mrs Example (teaching assistant)",
    "frequency": "4 x 20 minutes a week",
    "duration": "20 minutes",
    "starts_on": "2025-10-13",
    "ends_on": "2025-12-19",
    "cost_pence": 45000,
    "outcome_ids": [OUTCOME],
}
LINE: Final = _complete("A targeted literacy group", _LINE)
CYCLE: Final = _complete(
    "Assess and plan: a need, the views, an outcome and its provision",
    {
        "starts_on": "2025-10-13",
        "needs": [
            {
                "need_id": NEED,
                "area": "cognition_and_learning",
                "description": "Reading and spelling well below what is expected for her age.",
                "expected_tier": "targeted",
            }
        ],
        "outcomes": [
            {
                "outcome_id": OUTCOME,
                "description": "By the spring Maya reads a comic book page on her own.",
                "need_ids": [NEED],
            }
        ],
        "provision": [_LINE],
        "child_views": "I like drawing. Reading makes me tired.",
        "child_views_helped_by": "Her teaching assistant",
        "family_views": "She loves stories read to her but gets upset reading alone.",
        "family_views_given_by": "Priya Example",
    },
)
DELIVERY: Final = _complete(
    "A line not delivered as planned",
    {"recorded_on": "2025-11-03", "delivered_as_planned": False, "note": "TA off sick 2 weeks"},
)
SUPPORT_REVIEW: Final = _complete(
    "A review that continues the plan",
    {
        "reviewed_on": "2026-01-12",
        "progress": [
            {"outcome_id": OUTCOME, "status": "progressing", "evidence": "Reading age up 4 months."}
        ],
        "decision": "continue",
        "reasons": "Progress made; the same provision for another term.",
    },
)
CLOSE: Final = _complete(
    "The child moved school", {"closed_on": "2026-02-02", "reason": "left_setting"}
)
EHC_OUTCOMES: Final = _complete(
    "Section E outcomes recorded for tracking",
    {
        "recorded_on": "2026-08-03",
        "outcomes": [{"outcome_id": OUTCOME, "description": "Travels to school on her own."}],
    },
)
EHC_PROGRESS: Final = _complete(
    "Progress at the annual review",
    {
        "recorded_on": "2026-08-20",
        "progress": [
            {"outcome_id": OUTCOME, "status": "progressing", "evidence": "Half the route alone."}
        ],
    },
)
