"""Who is shown a child's consent records and disclosure entries (itself a kind of sharing).

Pure: no I/O, no clock (the moment of the read is an argument). The rule, as a table, is in
`docs/consent-rules.md` ("Who sees consent records and disclosure entries").

- Every reader needs a known practitioner role (`PRACTITIONER_ROLES`), or a family token.
- The safeguarding lead (role `safeguarding_lead` in an agency of
  `SAFEGUARDING_LEAD_AGENCIES`: the local authority's children's social care, which leads
  safeguarding enquiries) sees every record of every child.
- The SEND team (agency `send`, any known practitioner role) sees every record of every child,
  except entries hidden from the family under an override it is not party to.
- Any other agency sees a child's records only if it has a part in the child (see
  `Involvement.has_part`), with the same exception for hidden entries.
- The family (a family token listing the child) sees, as before, the child's consents and its
  disclosure log minus the entries hidden from it; duties, refusals and overrides are
  practitioners' records.

A hidden entry is an override that hides its disclosures from the family while it is in force
(`OverrideParties.hides`), or a disclosure made under one. It is shown only to the safeguarding
lead and to the agencies party to that override (its recipients and the agency that recorded
it). A disclosure under an override the service does not know is treated as hidden with no
parties (so is one without a reference): whether it hides cannot be told, so only the
safeguarding lead is shown it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, StrEnum
from typing import Final, Protocol
from uuid import UUID

from oneplan_events.vocabulary import PRACTITIONER_ROLES, Role

__all__ = [
    "BASIS_OVERRIDE",
    "FAMILY_KINDS",
    "PRACTITIONER_ROLES",
    "SAFEGUARDING_LEAD",
    "SAFEGUARDING_LEAD_AGENCIES",
    "SEND_TEAM_AGENCY",
    "ChildAccess",
    "Entry",
    "Involvement",
    "OverrideParties",
    "Reader",
    "RecordKind",
    "child_access",
    "has_practitioner_role",
    "is_safeguarding_lead",
    "is_send_team",
    "may_see",
]

SAFEGUARDING_LEAD: Final = Role.SAFEGUARDING_LEAD.value
#: Whose `safeguarding_lead` is "the safeguarding lead": the local authority's children's
#: social care. Another agency's safeguarding lead is one of that agency's practitioners.
SAFEGUARDING_LEAD_AGENCIES: Final = frozenset({"social_care"})
#: The local authority's SEND casework team.
SEND_TEAM_AGENCY: Final = "send"
#: A disclosure entry's basis when it was made under a safeguarding override.
BASIS_OVERRIDE: Final = "override"


class RecordKind(StrEnum):
    """The kinds of record the consent service lists about a child."""

    CONSENT = "consent"
    DUTY = "duty"
    REFUSAL = "refusal"
    OVERRIDE = "override"
    DISCLOSURE = "disclosure"


#: What a family lists about its own child (as before): consents and the disclosure log.
FAMILY_KINDS: Final = frozenset({RecordKind.CONSENT, RecordKind.DISCLOSURE})


class Reader(Protocol):
    """The caller, as its token says (`oneplan_kit.Principal` is one)."""

    @property
    def agency(self) -> str: ...

    @property
    def roles(self) -> frozenset[str]: ...

    @property
    def children(self) -> frozenset[UUID]: ...

    @property
    def is_family(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class OverrideParties:
    """One safeguarding override about the child: who is party to it, and whether it hides."""

    recipient_agencies: frozenset[str]
    recorded_by_agency: str
    hide_from_family: bool
    ends_at: datetime
    ended: bool = False  # ended early (`override.ended`)

    @property
    def parties(self) -> frozenset[str]:
        """Its recipients and the agency that recorded it."""
        return self.recipient_agencies | {self.recorded_by_agency}

    def hides(self, now: datetime) -> bool:
        """True while it hides its disclosures from the family: not ended, not past its end."""
        return self.hide_from_family and not self.ended and now < self.ends_at


@dataclass(frozen=True, slots=True)
class Involvement:
    """What the consent service knows of which agencies have a part in one child.

    `sharing_parties`: the owners and recipients of every consent and statutory duty about
    the child, in force or not (withdrawn, expired, ended: the agency still took part).
    `recorders`: the `owner_agency` of every disclosure entry about the child (the agency that
    recorded the data disclosed). `overrides`: every safeguarding override about the child, by
    id. A refusal makes nobody a party: any practitioner may record one, so it cannot be a way
    into a child's records.
    """

    child_id: UUID
    sharing_parties: frozenset[str] = frozenset()
    recorders: frozenset[str] = frozenset()
    overrides: Mapping[UUID, OverrideParties] = field(default_factory=dict)

    def has_part(self, agency: str) -> bool:
        """True if `agency` is owner or recipient of a consent or duty, recipient or recorder
        of an override, or the owner of a disclosed record, about the child."""
        return (
            agency in self.sharing_parties
            or agency in self.recorders
            or any(agency in o.parties for o in self.overrides.values())
        )


@dataclass(frozen=True, slots=True)
class Entry:
    """One record to show or not: its kind and, for a disclosure, its basis and reference.

    For an override, `reference_id` is its own id; for a disclosure, the record its basis
    rests on (with basis `override`: the override it was made under).
    """

    kind: RecordKind
    basis: str | None = None
    reference_id: UUID | None = None

    @property
    def under_override(self) -> bool:
        """An override itself, or a disclosure made under one."""
        return self.kind is RecordKind.OVERRIDE or (
            self.kind is RecordKind.DISCLOSURE and self.basis == BASIS_OVERRIDE
        )

    @classmethod
    def consent(cls) -> Entry:
        return cls(RecordKind.CONSENT)

    @classmethod
    def duty(cls) -> Entry:
        return cls(RecordKind.DUTY)

    @classmethod
    def refusal(cls) -> Entry:
        return cls(RecordKind.REFUSAL)

    @classmethod
    def override(cls, override_id: UUID) -> Entry:
        return cls(RecordKind.OVERRIDE, BASIS_OVERRIDE, override_id)

    @classmethod
    def disclosure(cls, basis: str, reference_id: UUID | None) -> Entry:
        return cls(RecordKind.DISCLOSURE, basis, reference_id)


class ChildAccess(Enum):
    """How a list read of one kind of a child's records is answered."""

    LIST = "list"  # the entries `may_see` lets through, possibly none (never a refusal)
    FORBIDDEN = "forbidden"  # 403: the reader may not see this child's records of this kind
    NOT_FOUND = "not_found"  # 404: a family token for a child not in it (not theirs to know)


def has_practitioner_role(reader: Reader) -> bool:
    """A non-family token holding a known practitioner role."""
    return not reader.is_family and not reader.roles.isdisjoint(PRACTITIONER_ROLES)


def is_safeguarding_lead(reader: Reader) -> bool:
    """Role `safeguarding_lead` in one of `SAFEGUARDING_LEAD_AGENCIES`."""
    return (
        has_practitioner_role(reader)
        and SAFEGUARDING_LEAD in reader.roles
        and reader.agency in SAFEGUARDING_LEAD_AGENCIES
    )


def is_send_team(reader: Reader) -> bool:
    """Agency `send` with a known practitioner role."""
    return has_practitioner_role(reader) and reader.agency == SEND_TEAM_AGENCY


def child_access(reader: Reader, involvement: Involvement, kind: RecordKind) -> ChildAccess:
    """May `reader` list this child's records of `kind` at all (then filter with `may_see`)?"""
    if reader.is_family:
        if involvement.child_id not in reader.children:
            return ChildAccess.NOT_FOUND
        return ChildAccess.LIST if kind in FAMILY_KINDS else ChildAccess.FORBIDDEN
    if not has_practitioner_role(reader):
        return ChildAccess.FORBIDDEN
    if is_safeguarding_lead(reader) or is_send_team(reader) or involvement.has_part(reader.agency):
        return ChildAccess.LIST
    return ChildAccess.FORBIDDEN


def may_see(reader: Reader, involvement: Involvement, entry: Entry, now: datetime) -> bool:
    """Is `entry`, one of the child's records, shown to `reader` at `now`?

    False whenever `child_access` refuses the kind; for a single record read by id that is a
    404 (not the reader's to know about).
    """
    if child_access(reader, involvement, entry.kind) is not ChildAccess.LIST:
        return False
    if not entry.under_override:
        return True
    ref = entry.reference_id
    override = None if ref is None else involvement.overrides.get(ref)
    if override is not None and not override.hides(now):
        return True
    # hidden from the family: only the safeguarding lead and the override's parties
    if reader.is_family:
        return False
    if is_safeguarding_lead(reader):
        return True
    return override is not None and reader.agency in override.parties
