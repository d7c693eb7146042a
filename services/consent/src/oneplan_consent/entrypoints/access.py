"""Who may do what in the consent service, and the mapping of domain refusals to problems."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final
from uuid import UUID

from oneplan_consent.domain.who_may_consent import Issue
from oneplan_kit import Forbidden, NotFound, Principal, ValidationProblem

__all__ = [
    "PRACTITIONER_ROLES",
    "SAFEGUARDING_LEAD",
    "ensure_known_agencies",
    "ensure_may_see_child",
    "ensure_practitioner",
    "ensure_safeguarding_lead",
    "refused",
]

SAFEGUARDING_LEAD: Final = "safeguarding_lead"
PRACTITIONER_ROLES: Final = (
    "caseworker",
    "manager",
    "practitioner",
    SAFEGUARDING_LEAD,
    "data_protection_officer",
)


def ensure_practitioner(principal: Principal) -> None:
    """Practitioners of any agency: a family token or a token without a role is refused."""
    if principal.is_family or not principal.has_role(*PRACTITIONER_ROLES):
        raise Forbidden(
            f"This needs a practitioner role: {', '.join(PRACTITIONER_ROLES)}.",
            required_roles=list(PRACTITIONER_ROLES),
        )


def ensure_may_see_child(principal: Principal, child_id: UUID) -> None:
    """The child's own family, or a practitioner; another family's child is not theirs to see."""
    if principal.is_family:
        if child_id not in principal.children:
            raise NotFound(f"No child {child_id}.")
        return
    ensure_practitioner(principal)


def ensure_safeguarding_lead(principal: Principal) -> None:
    """Overrides and statutory duties are recorded by a safeguarding lead only."""
    if principal.is_family or not principal.has_role(SAFEGUARDING_LEAD):
        raise Forbidden(
            f"Only the {SAFEGUARDING_LEAD} role may record, review or end sharing without consent.",
            required_roles=[SAFEGUARDING_LEAD],
        )


def refused(issues: Iterable[Issue]) -> ValidationProblem:
    """422 listing each rule the request breaks, at the field it concerns."""
    listed = list(issues)
    errors = [
        {"location": ["body", *issue.field.split(".")], "message": issue.message, "type": "rule"}
        for issue in listed
    ]
    return ValidationProblem(errors, detail="; ".join(issue.message for issue in listed))


def ensure_known_agencies(known: frozenset[str], **fields: Iterable[str]) -> None:
    """422 naming every unknown agency, by field."""
    issues = [
        Issue(name, f"unknown agency {agency!r}; known: {', '.join(sorted(known))}")
        for name, agencies in fields.items()
        for agency in agencies
        if agency not in known
    ]
    if issues:
        raise refused(issues)
