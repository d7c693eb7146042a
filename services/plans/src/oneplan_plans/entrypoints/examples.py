"""The request-body examples the OpenAPI document gives, one complete request per operation.

Complete: every field the body may hold is set, so an integrator sees each one filled in, and
the contract tests build every hostile request from them. The ids are placeholders; the names
are invented.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi.openapi.models import Example

__all__ = [
    "ADVICE_RECEIVED",
    "ADVICE_REQUEST",
    "ADVICE_REUSE",
    "AMENDMENT",
    "ASSESSMENT",
    "COMMENTS",
    "DECISION",
    "DRAFT",
    "EXCEPTION",
    "FINAL_PLAN",
    "LEAD_PROFESSIONAL",
    "MEDIATION",
    "NOT_TO_ISSUE",
    "REVIEW",
]

_SETTING: Final = {"name": "Example Primary School", "urn": "100001", "type": "mainstream"}


def _complete(summary: str, value: Any) -> dict[str, Example]:
    return {"complete": Example(summary=summary, value=value)}


ASSESSMENT: Final = _complete(
    "A parent's request, with the child's own words",
    {
        "child_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "received_on": "2026-03-02",
        "requested_by": "parent",
        "requester_name": "Alex Example",
        "child_views": "I want to stay at my school with my friends.",
        "views_helped_by": "Her key worker, Sam Sample",
    },
)
DECISION: Final = _complete(
    "A decision not to assess, with its letter",
    {
        "outcome": "decline",
        "decided_on": "2026-04-10",
        "reasons": "The school's SEN support has not yet been reviewed.",
        "letter_sent_on": "2026-04-10",
    },
)
MEDIATION: Final = _complete("A mediation certificate", {"issued_on": "2026-05-20"})
ADVICE_REQUEST: Final = _complete(
    "Health advice",
    {
        "agency": "health",
        "advice_type": "health",
        "requested_on": "2026-04-13",
        "question": "What are her speech and language needs?",
    },
)
ADVICE_REUSE: Final = _complete(
    "An educational psychologist's recent report, reused",
    {
        "agency": "educational_psychology",
        "advice_type": "educational_psychology",
        "given_on": "2025-11-01",
        "author": "Dr A. Example",
        "description": "EP report for the SEN support review",
        "agreed_by_authority": True,
        "agreed_by_author": True,
        "agreed_by_family": True,
        "reused_on": "2026-04-14",
    },
)
ADVICE_RECEIVED: Final = _complete("Advice that arrived", {"received_on": "2026-05-22"})
EXCEPTION: Final = _complete(
    "Exceptional personal circumstances",
    {
        "kind": "exceptional_personal_circumstances",
        "starts_on": "2026-05-01",
        "ends_on": "2026-05-14",
        "evidence": "A bereavement in the family; letter from the GP on file.",
    },
)
NOT_TO_ISSUE: Final = _complete(
    "A decision not to issue a plan",
    {
        "decided_on": "2026-06-10",
        "letter_sent_on": "2026-06-11",
        "reasons": "Her needs can be met from the school's resources with the advice given.",
    },
)
DRAFT: Final = _complete(
    "A draft plan",
    {
        "issued_on": "2026-06-15",
        "sections": {
            "A": "I like drawing and want to be a vet.",
            "B": "Speech, language and communication needs.",
            "E": "By July 2027 she says sentences of 5 words in class.",
            "F": "Speech and language therapy weekly in school.",
        },
    },
)
COMMENTS: Final = _complete(
    "The family's comments and the school they ask for",
    {
        "received_on": "2026-06-22",
        "comments": "We agree with the plan.",
        "setting_requested": _SETTING,
    },
)
FINAL_PLAN: Final = _complete(
    "The final plan, naming the school",
    {
        "issued_on": "2026-07-13",
        "setting": _SETTING,
        "start_date": "2026-09-01",
        "sections": {
            "B": "Speech, language and communication needs.",
            "E": "By July 2027 she says sentences of 5 words in class.",
            "F": "Speech and language therapy weekly in school.",
        },
    },
)
AMENDMENT: Final = _complete(
    "A new placement",
    {
        "amended_on": "2026-08-20",
        "changed_sections": ["I"],
        "setting": {
            "name": "Example Secondary Resource Base",
            "urn": "100004",
            "type": "resourced_provision",
        },
        "start_date": "2026-09-01",
        "notice_on": "2026-07-30",
    },
)
REVIEW: Final = _complete(
    "An annual review: the plan is amended",
    {
        "meeting_on": "2026-08-25",
        "decided_on": "2026-08-28",
        "outcome": "amend",
        "preparing_for_adulthood": True,
        "reasons": "She is ready for more independence at lunchtimes.",
    },
)

LEAD_PROFESSIONAL: Final = _complete(
    "The early help worker coordinates the team around the child",
    {
        "name": "Sam Example",
        "role": "Early help family support worker",
        "agency": "social_care",
        "contact": "01234 567890",
        "named_on": "2026-05-04",
    },
)
