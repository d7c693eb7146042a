"""Who may do what in the consent service, beyond the principal each route declares.

Routes declare their callers with the kit's vocabulary (`oneplan_kit.access`); the rules here
need the request's content or the record: a family user records a consent only as themself,
withdraws only what they may, and asks the decision point only about their own children; and
who is shown a child's consent records and disclosure entries
(`domain.record_visibility`, the table in docs/consent-rules.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from oneplan_consent.adapters import repository
from oneplan_consent.domain.record_visibility import (
    ChildAccess,
    Entry,
    Involvement,
    RecordKind,
    child_access,
    has_practitioner_role,
    may_see,
)
from oneplan_consent.domain.who_may_consent import ChildFacts, Issue
from oneplan_consent.events import ConsentCapacity, ConsentGiver
from oneplan_events.vocabulary import PRACTITIONER_ROLES
from oneplan_kit import Forbidden, NotFound, Principal, Role, ValidationProblem

__all__ = [
    "AskedSharing",
    "ensure_family_records_as_themself",
    "ensure_may_ask_about",
    "ensure_may_list",
    "ensure_may_see_record",
    "ensure_may_withdraw",
    "refused",
]


async def ensure_may_list(
    session: AsyncSession, principal: Principal, child_id: UUID, kind: RecordKind
) -> Involvement:
    """May the caller list the child's records of ``kind``? The child's involvement, to filter
    the entries with `record_visibility.may_see`; 403, or 404 for another family's child,
    when not."""
    involvement = await repository.involvement_of(session, child_id)
    match child_access(principal, involvement, kind):
        case ChildAccess.LIST:
            return involvement
        case ChildAccess.NOT_FOUND:
            raise NotFound(f"No child {child_id}.")
        case ChildAccess.FORBIDDEN:
            raise Forbidden(_why_not_listed(principal, child_id, kind))


async def ensure_may_see_record(
    session: AsyncSession,
    principal: Principal,
    child_id: UUID,
    entry: Entry,
    now: datetime,
    record_id: UUID,
) -> None:
    """A single record read by id: 404 unless the caller is shown it (not theirs to know)."""
    involvement = await repository.involvement_of(session, child_id)
    if not may_see(principal, involvement, entry, now):
        raise NotFound(f"No {entry.kind.value} {record_id}.")


def _why_not_listed(principal: Principal, child_id: UUID, kind: RecordKind) -> str:
    if principal.is_family:
        return f"A child's {kind.value} records are practitioners' records."
    if not has_practitioner_role(principal):
        return "This needs a practitioner role: " + ", ".join(sorted(PRACTITIONER_ROLES)) + "."
    return (
        f"Your agency {principal.agency!r} has no part in child {child_id}: its consent "
        "records are shown to the SEND team, the safeguarding lead, and agencies that are "
        "owner or recipient of a consent, duty or override about the child or recorded "
        "something disclosed about it."
    )


def _sub_id(principal: Principal) -> UUID | None:
    """The family user's id: their token's `sub` (a member id, or the young person's child id)."""
    try:
        return UUID(principal.sub)
    except ValueError:
        return None


def ensure_family_records_as_themself(principal: Principal, giver: ConsentGiver) -> None:
    """A family user records a consent only as themself, never for someone else.

    Their token's `sub` is their member id as the children service recorded it (the young
    person's own: the child id), so `given_by.person_id` must equal it; the capacity rules then
    apply to that person. Gillick competence is a practitioner's assessment, so a Gillick
    consent is recorded by a practitioner. Practitioners record for the named person (e.g. from
    a signed form) and are not checked here.
    """
    if not principal.is_family:
        return
    if giver.capacity is ConsentCapacity.GILLICK_COMPETENT_CHILD:
        raise Forbidden(
            "A consent as gillick_competent_child rests on a practitioner's Gillick competence "
            "assessment: a practitioner records it, not a family token.",
            field="given_by.capacity",
        )
    own_id = _sub_id(principal)
    if own_id is None or giver.person_id != own_id:
        raise Forbidden(
            "A family user may record a consent only as themself: given_by.person_id must be "
            f"your own id ({principal.sub}, the token's sub), not {giver.person_id}.",
            field="given_by.person_id",
        )


def ensure_may_withdraw(
    principal: Principal, giver_id: UUID | None, child: ChildFacts | None, today: date
) -> None:
    """Who may withdraw a consent (the caller may already see the child).

    Practitioners record a withdrawal on anyone's behalf. A family user withdraws a consent
    they gave themself (`sub` == `given_by.person_id`); and once the child is over compulsory
    school age, the young person (`sub` == the child id) may withdraw any consent about them,
    a parent's included: from then the decision is theirs, and withdrawing only stops sharing.
    """
    if not principal.is_family:
        return  # a practitioner (declared by the route) records it on anyone's behalf
    own_id = _sub_id(principal)
    if own_id is not None and own_id == giver_id:
        return
    if child is not None and own_id == child.child_id and child.over_compulsory_school_age(today):
        return
    raise Forbidden(
        "A family user may withdraw only a consent they gave themself (given_by.person_id "
        f"{giver_id} is not your id {principal.sub}), or, as a young person over compulsory "
        "school age, any consent about them.",
        given_by=None if giver_id is None else str(giver_id),
    )


@dataclass(frozen=True, slots=True)
class AskedSharing:
    """What one decision request asks about, for the access check."""

    child_id: UUID
    owner_agency: str
    recipient_agency: str


def ensure_may_ask_about(principal: Principal, asked: Sequence[AskedSharing]) -> None:
    """A caller may ask only about sharing that concerns them.

    A family user: only about the children in their token. A practitioner: only where their
    own agency is the owner or the recipient of every request. A non-family token with role
    `admin`: about anything. The 403 names every offending request by its index.
    """
    if principal.is_family:
        offending = [i for i, item in enumerate(asked) if item.child_id not in principal.children]
        if offending:
            first = asked[offending[0]]
            raise Forbidden(
                f"{_which(offending, len(asked))} asks about child {first.child_id}: a family "
                "user may ask only about the children in their token.",
                offending_items=offending,
            )
        return
    if principal.has_role(Role.ADMIN):
        return
    agency = principal.agency
    offending = [
        i
        for i, item in enumerate(asked)
        if agency not in (item.owner_agency, item.recipient_agency)
    ]
    if offending:
        first = asked[offending[0]]
        raise Forbidden(
            f"{_which(offending, len(asked))} asks about {first.owner_agency} -> "
            f"{first.recipient_agency}: your agency {agency!r} may ask only about sharing where "
            f"it is the owner or the recipient (role {Role.ADMIN.value} may ask about any).",
            offending_items=offending,
        )


def _which(offending: list[int], total: int) -> str:
    if total == 1:
        return "The request"
    listed = ", ".join(str(i) for i in offending[:10])
    more = "" if len(offending) <= 10 else f" and {len(offending) - 10} more"
    return f"Item {offending[0]} (offending items: {listed}{more})"


def refused(issues: Iterable[Issue]) -> ValidationProblem:
    """422 listing each rule the request breaks, at the field it concerns."""
    listed = list(issues)
    errors = [
        {"location": ["body", *issue.field.split(".")], "message": issue.message, "type": "rule"}
        for issue in listed
    ]
    return ValidationProblem(errors, detail="; ".join(issue.message for issue in listed))
