"""Who may read and change a child's record, and the consent check for other agencies.

- Staff of the owner agency (`send`) with role caseworker, manager or admin read and write.
- A family token reads the children in its `children` claim and tells their story.
- Any other agency sees minimal identity (id, names, date of birth, age facts) and, beyond that,
  only what the consent decision point permits for the `purpose` it states; every release is
  recorded as `oneplan.children.disclosure.recorded`. No replica, no release (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from oneplan_children.service_layer.handlers import Disclosure
from oneplan_events.catalogue import DataClass
from oneplan_kit.auth import Principal
from oneplan_kit.errors import BadRequest, Forbidden, NotFound, ServiceUnavailable
from oneplan_kit.runtime import Runtime
from oneplan_sharing import DecisionRequest, Purpose

__all__ = [
    "OWNER_AGENCY",
    "STAFF_ROLES",
    "Release",
    "ensure_may_read",
    "ensure_may_tell_story",
    "ensure_staff",
    "is_owner_staff",
    "release",
    "required_purpose",
    "withheld_problem",
]

OWNER_AGENCY = "send"
"""The agency that owns every record this service keeps (the local authority's SEND team)."""

STAFF_ROLES = ("caseworker", "manager", "admin")


def is_owner_staff(principal: Principal) -> bool:
    """True for the owner agency's caseworkers, managers and admins."""
    return principal.agency == OWNER_AGENCY and principal.has_role(*STAFF_ROLES)


def ensure_staff(principal: Principal) -> None:
    """Only the owner agency's staff change records and search them."""
    if not is_owner_staff(principal):
        raise Forbidden(
            f"Only {OWNER_AGENCY} staff ({', '.join(STAFF_ROLES)}) may do this.",
            required_agency=OWNER_AGENCY,
            required_roles=list(STAFF_ROLES),
        )


def ensure_may_read(principal: Principal, child_id: UUID) -> None:
    """A family reads only its own children (another child is not theirs to know about); the
    owner agency's users without a staff role read nothing."""
    if principal.is_family and child_id not in principal.children:
        raise NotFound(f"No child {child_id}.")
    if principal.agency == OWNER_AGENCY:
        ensure_staff(principal)


def ensure_may_tell_story(principal: Principal, child_id: UUID) -> None:
    """The owner's staff, or the child's own family, may tell the story."""
    if principal.is_family:
        ensure_may_read(principal, child_id)
        return
    ensure_staff(principal)


def required_purpose(principal: Principal, purpose: Purpose | None) -> Purpose | None:
    """The purpose another agency must state (400 when missing); None for owner and family."""
    if is_owner_staff(principal) or principal.is_family:
        return None
    if purpose is None:
        raise BadRequest(
            "Another agency must state why it reads this record: add ?purpose=<purpose>.",
            purposes=[p.value for p in Purpose],
        )
    return purpose


@dataclass(frozen=True)
class Release:
    """The consent decision point's answer for one data class."""

    data_class: DataClass
    permitted: bool
    disclosure: Disclosure | None
    reason: str | None


def release(
    runtime: Runtime,
    principal: Principal,
    child_id: UUID,
    data_class: DataClass,
    purpose: Purpose,
) -> Release:
    """Ask the replica whether `principal`'s agency may see `data_class` for `purpose` now."""
    if runtime.replica is None:
        raise ServiceUnavailable("The consent decision point is not running; nothing is shared.")
    decision = runtime.replica.decide(
        DecisionRequest(
            child_id=child_id,
            owner_agency=OWNER_AGENCY,
            recipient_agency=principal.agency,
            data_class=data_class,
            purpose=purpose,
            at=datetime.now(UTC),
        )
    )
    if not decision.permit or decision.basis is None:
        return Release(data_class, False, None, decision.reason or "no permit")
    disclosure = Disclosure(
        child_id=child_id,
        recipient_agency=principal.agency,
        recipient=principal.sub,
        data_classes=(data_class,),
        purpose=purpose.value,
        basis=decision.basis,
        reference_id=decision.reference,
    )
    return Release(data_class, True, disclosure, None)


def withheld_problem(refused: Release) -> Forbidden:
    """403 naming the withheld data class and why, without any of its content."""
    return Forbidden(
        f"The {refused.data_class.value} data is withheld: {refused.reason}.",
        withheld=[{"data_class": refused.data_class.value, "reason": refused.reason}],
    )
