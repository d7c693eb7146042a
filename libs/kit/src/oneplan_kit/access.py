"""Who may call a route, declared in its signature: one vocabulary of roles for every service.

::

    @router.post("/v1/children")
    async def register(body: NewChild, caller: SendStaff, cmd: CommandDep) -> Response: ...

    @router.get("/v1/children/{child_id}/story")
    async def read_story(child_id: UUID, reader: ChildReader, ...) -> Response: ...

Each alias is ``Annotated[Principal, Allow(policy)]``: the request is authenticated (401
otherwise) and the policy decides (403, or 404 for a family asking about a child that is not
theirs, which is not theirs to know about). Policies combine with ``|``. Every route of every
service declares one (or :data:`Public`); a test walks the routes and fails on any that does not.

The rule for reading a child's data (DESIGN.md, "Every read of a child's data needs a known
practitioner role (or a family token for that child)"): a token of any agency other than
``family`` reads only with one of :data:`PRACTITIONER_ROLES`; a token with no role, or only
unknown ones, reads nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final
from uuid import UUID

from fastapi import Depends, Query, Request
from starlette.routing import BaseRoute

from oneplan_events.vocabulary import PRACTITIONER_ROLES, Agency, Purpose, Role
from oneplan_kit.auth import CurrentPrincipal, Principal
from oneplan_kit.errors import BadRequest, Forbidden, NotFound
from oneplan_kit.routing import api_routes, dependency_calls

__all__ = [
    "ADMIN",
    "AGENCY_STAFF",
    "AUTHENTICATED",
    "FAMILY",
    "FAMILY_OF_CHILD",
    "PRACTITIONER",
    "PRACTITIONER_ROLES",
    "SAFEGUARDING_LEAD",
    "SEND_MANAGER",
    "SEND_STAFF",
    "AgencyStaff",
    "Allow",
    "Authenticated",
    "Caller",
    "ChildReader",
    "FamilyOrPractitioner",
    "Policy",
    "Practitioner",
    "Public",
    "PurposeReader",
    "Reader",
    "Refusal",
    "Role",
    "SafeguardingLead",
    "SendManager",
    "SendStaff",
    "declared_access",
    "undeclared_routes",
]


_SEND_STAFF_ROLES: Final = frozenset({Role.CASEWORKER, Role.MANAGER, Role.ADMIN})
_SEND_MANAGER_ROLES: Final = frozenset({Role.MANAGER, Role.ADMIN})


@dataclass(frozen=True)
class Refusal:
    """Why a policy refused: 403 with what is needed, or 404 (not the caller's to know)."""

    detail: str
    not_found: bool = False
    needs: str = ""


class Policy:
    """Decides whether a principal may call a route (``None``: yes; a refusal: no)."""

    def __init__(
        self, name: str, check: Callable[[Principal, Request], Refusal | None], describes: str
    ) -> None:
        self.name = name
        self._check = check
        self.describes = describes

    def refusal(self, principal: Principal, request: Request) -> Refusal | None:
        """Why ``principal`` may not call this request's route (None: it may)."""
        return self._check(principal, request)

    def __or__(self, other: Policy) -> Policy:
        def either(principal: Principal, request: Request) -> Refusal | None:
            first = self.refusal(principal, request)
            if first is None:
                return None
            second = other.refusal(principal, request)
            if second is None:
                return None
            # A family's refusal about someone else's child stays a 404 whatever else failed.
            return (
                first if first.not_found else second if second.not_found else _joined(first, second)
            )

        return Policy(
            f"{self.name} | {other.name}", either, f"{self.describes}, or {other.describes}"
        )

    def __repr__(self) -> str:
        return f"Policy({self.name})"


def _joined(first: Refusal, second: Refusal) -> Refusal:
    needs = " or ".join(part for part in (first.needs, second.needs) if part)
    return Refusal(f"This needs {needs}.", needs=needs)


def _authenticated(principal: Principal, _: Request) -> Refusal | None:
    return None


def _practitioner(principal: Principal, _: Request) -> Refusal | None:
    if not principal.is_family and principal.has_role(*PRACTITIONER_ROLES):
        return None
    return Refusal(
        "This needs a practitioner role: " + ", ".join(sorted(PRACTITIONER_ROLES)) + ".",
        needs="a practitioner role",
    )


def _send_staff(principal: Principal, _: Request) -> Refusal | None:
    if principal.agency == Agency.SEND and principal.has_role(*_SEND_STAFF_ROLES):
        return None
    return Refusal(
        "Only SEND team staff (agency send, role caseworker, manager or admin) may do this.",
        needs="SEND team staff (agency send with role caseworker, manager or admin)",
    )


def _send_manager(principal: Principal, _: Request) -> Refusal | None:
    if principal.agency == Agency.SEND and principal.has_role(*_SEND_MANAGER_ROLES):
        return None
    return Refusal(
        "Only SEND team managers (agency send, role manager or admin) may do this.",
        needs="a SEND team manager (agency send with role manager or admin)",
    )


def _agency_staff(principal: Principal, request: Request) -> Refusal | None:
    owner = request.app.state.definition.owner_agency
    if (
        owner is not None
        and not principal.is_family
        and principal.agency == owner
        and principal.has_role(*PRACTITIONER_ROLES)
    ):
        return None
    agency = f"agency {owner}" if owner else "the service's own agency (it names none)"
    needs = f"a practitioner of {agency} with a known role"
    return Refusal(f"This needs {needs}.", needs=needs)


def _safeguarding_lead(principal: Principal, _: Request) -> Refusal | None:
    if not principal.is_family and principal.has_role(Role.SAFEGUARDING_LEAD):
        return None
    return Refusal(
        "Only the safeguarding_lead role may do this.", needs="the safeguarding_lead role"
    )


def _admin(principal: Principal, _: Request) -> Refusal | None:
    if not principal.is_family and principal.has_role(Role.ADMIN):
        return None
    return Refusal("Only the admin role may do this.", needs="the admin role")


def _family(principal: Principal, _: Request) -> Refusal | None:
    if principal.is_family:
        return None
    return Refusal("This needs a family token.", needs="a family token")


def _family_of_child(principal: Principal, request: Request) -> Refusal | None:
    if not principal.is_family:
        return Refusal("This needs the child's family.", needs="the child's family")
    child_id = _path_child(request)
    if child_id is not None and child_id in principal.children:
        return None
    return Refusal(f"No child {request.path_params.get('child_id')}.", not_found=True)


def _path_child(request: Request) -> UUID | None:
    raw = request.path_params.get("child_id")
    try:
        return UUID(str(raw)) if raw is not None else None
    except ValueError:
        return None


AUTHENTICATED: Final = Policy("authenticated", _authenticated, "any caller with a valid token")
PRACTITIONER: Final = Policy(
    "practitioner", _practitioner, "a practitioner of any agency with a known role"
)
SEND_STAFF: Final = Policy("send_staff", _send_staff, "SEND team staff")
SEND_MANAGER: Final = Policy("send_manager", _send_manager, "a SEND team manager")
AGENCY_STAFF: Final = Policy(
    "agency_staff", _agency_staff, "a practitioner of the agency that owns the service's records"
)
SAFEGUARDING_LEAD: Final = Policy("safeguarding_lead", _safeguarding_lead, "a safeguarding lead")
ADMIN: Final = Policy("admin", _admin, "an administrator")
FAMILY: Final = Policy("family", _family, "a family member or young person")
FAMILY_OF_CHILD: Final = Policy(
    "family_of_child", _family_of_child, "the family of the child in the path"
)


def Allow(policy: Policy) -> Any:
    """The dependency that authenticates the caller and applies ``policy``."""

    async def allowed(request: Request, principal: CurrentPrincipal) -> Principal:
        refusal = policy.refusal(principal, request)
        if refusal is None:
            return principal
        if refusal.not_found:
            raise NotFound(refusal.detail)
        raise Forbidden(refusal.detail, required=refusal.needs or policy.describes)

    allowed.__oneplan_access__ = policy  # type: ignore[attr-defined]
    return Depends(allowed)


async def _public() -> None:
    return None


_public.__oneplan_access__ = None  # type: ignore[attr-defined]

Public = Annotated[None, Depends(_public)]
"""Declares a route that needs no token (the provision matrix, a services directory)."""

Authenticated = Annotated[Principal, Allow(AUTHENTICATED)]
"""Anyone with a valid token (a route that reads nothing of a child's: who am I)."""
Caller = Annotated[Principal, Allow(PRACTITIONER | FAMILY_OF_CHILD)]
"""The child's family, or a practitioner of any agency with a known role."""
Practitioner = Annotated[Principal, Allow(PRACTITIONER)]
FamilyOrPractitioner = Annotated[Principal, Allow(PRACTITIONER | FAMILY)]
"""Any family token (its children checked by the route), or a practitioner with a known role."""
SendStaff = Annotated[Principal, Allow(SEND_STAFF)]
SendManager = Annotated[Principal, Allow(SEND_MANAGER)]
AgencyStaff = Annotated[Principal, Allow(AGENCY_STAFF)]
"""A practitioner (with a known role) of the service's own agency, its definition's
``owner_agency``: who records the agency's data."""
SafeguardingLead = Annotated[Principal, Allow(SAFEGUARDING_LEAD)]


def declared_access(dependency: Callable[..., Any]) -> bool:
    """True when ``dependency`` is an access declaration (``Allow(...)`` or :data:`Public`)."""
    return hasattr(dependency, "__oneplan_access__")


def undeclared_routes(routes: Sequence[BaseRoute]) -> list[str]:
    """The API routes under ``routes`` whose signature declares no caller."""
    return [
        f"{','.join(sorted(route.methods))} {route.path}"
        for route in api_routes(routes)
        if not any(map(declared_access, dependency_calls(route.dependant)))
    ]


@dataclass(frozen=True, slots=True)
class Reader:
    """Who reads a child's data, and why: ``purpose`` is None for the owning agency's staff
    and the child's family, who need no permit; another agency states one."""

    principal: Principal
    purpose: Purpose | None

    @property
    def needs_permit(self) -> bool:
        """True when the consent decision point decides what this reader sees."""
        return self.purpose is not None


async def _reader(
    request: Request,
    principal: Annotated[Principal, Allow(PRACTITIONER | FAMILY_OF_CHILD)],
    purpose: Annotated[
        Purpose | None,
        Query(description="Why another agency reads the child's data (required for them)."),
    ] = None,
) -> Reader:
    owner = request.app.state.definition.owner_agency
    if principal.is_family or principal.agency == owner:
        return Reader(principal, None)
    if purpose is None:
        raise BadRequest(
            "Another agency must state why it reads this child's data: add ?purpose=<purpose>.",
            purposes=[p.value for p in Purpose],
        )
    return Reader(principal, purpose)


_reader.__oneplan_access__ = PRACTITIONER | FAMILY_OF_CHILD  # type: ignore[attr-defined]

ChildReader = Annotated[Reader, Depends(_reader)]
"""A reader of the child in the path: their family, the owning agency's practitioners, or
another agency's practitioner stating a ``purpose`` (the consent decision point decides)."""


async def _purpose_reader(
    principal: Annotated[Principal, Allow(PRACTITIONER | FAMILY_OF_CHILD)],
    purpose: Annotated[
        Purpose | None,
        Query(description="Why the practitioner reads the child's data (required for them)."),
    ] = None,
) -> Reader:
    if principal.is_family:
        return Reader(principal, None)
    if purpose is None:
        raise BadRequest(
            "This holds several agencies' data, each released by consent: state why you read "
            "it with ?purpose=<purpose>.",
            purposes=[p.value for p in Purpose],
        )
    return Reader(principal, purpose)


_purpose_reader.__oneplan_access__ = PRACTITIONER | FAMILY_OF_CHILD  # type: ignore[attr-defined]

PurposeReader = Annotated[Reader, Depends(_purpose_reader)]
"""A reader of data several agencies own (the shared plan): the child's family, or any
practitioner stating a ``purpose``, also of the service's own agency; each item is then
decided for its owning agency (its own agency's items need no permit)."""
