"""The request-body examples the OpenAPI document gives, one complete request per operation.

Complete: every field the body may hold is set, so an integrator sees each one filled in, and
the contract tests build every hostile request from them. Synthetic data only.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi.openapi.models import Example

__all__ = [
    "ARRANGEMENT",
    "CANCELLATION",
    "CHANGE",
    "CONCLUSION",
    "ELIGIBILITY",
    "REFERRAL",
    "REVIEW_REQUEST",
    "RISK_ASSESSMENT",
    "SESSION",
]


def _complete(summary: str, value: dict[str, Any]) -> dict[str, Example]:
    return {"complete": Example(summary=summary, value=value)}


ELIGIBILITY: Final = _complete(
    "Every fact entered",
    {
        "distance_miles": 2.4,
        "school_is_nearest_suitable": True,
        "among_three_nearest_suitable": False,
        "sen_disability_or_mobility_prevents_walking": True,
        "sen_disability_or_mobility_details": "Uses a wheelchair; cannot manage kerbs.",
        "route_unsafe": True,
        "route_unsafe_details": "No footway along the B4090.",
        "low_income": False,
        "discretionary_reason": "Sibling already travels on the same route.",
        "date_of_birth": "2015-03-01",
    },
)
RISK_ASSESSMENT: Final = _complete(
    "Every field set",
    {
        "assessed_on": "2026-09-10",
        "hazards": ["Leaves the seat when anxious", "Busy drop-off lane"],
        "medical_needs": "Epilepsy.",
        "medical_handling": "Buccal midazolam carried by the passenger assistant.",
        "behaviour_support": "Visual timetable of the journey; calm music.",
        "seating_and_equipment": "Five-point harness; wheelchair clamps.",
        "escort_needed": True,
        "reviewer": "Sam Reviewer",
        "review_due_on": "2027-03-10",
    },
)
_ARRANGEMENT: Final = {
    "modes": ["taxi", "passenger_assistant"],
    "operator": "Shire Cars",
    "pick_up_time": "08:05",
    "drop_off_time": "08:40",
    "starts_on": "2026-09-21",
}
ARRANGEMENT: Final = _complete("A taxi with a passenger assistant", _ARRANGEMENT)
CHANGE: Final = _complete(
    "A new operator", {**_ARRANGEMENT, "operator": "County Minibus", "reason": "Contract moved."}
)
CANCELLATION: Final = _complete(
    "The family moved away",
    {"cancelled_from": "2026-12-18", "reason": "The family moves out of the county."},
)
REFERRAL: Final = _complete("A referral", {"goal": "Take the 42 bus to college alone."})
SESSION: Final = _complete(
    "A session",
    {"session_on": "2026-09-14", "trainer": "Alex Trainer", "notes": "Crossed at the lights."},
)
CONCLUSION: Final = _complete(
    "Completed",
    {"outcome": "completed_successfully", "notes": "Travels alone to college since October."},
)
REVIEW_REQUEST: Final = _complete(
    "The family's grounds", {"grounds": "The route crosses the A38 with no crossing."}
)
