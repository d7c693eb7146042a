"""What callers ask the consent service to do: one command per change, with what it needs.

Commands carry everything the deciders decide on (the child's facts, the known agencies, who
is acting), so the deciders stay pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from oneplan_consent.domain.who_may_consent import ChildFacts, ConsentRequest
from oneplan_consent.events import LawfulBasis
from oneplan_events.vocabulary import DataClass, Purpose

__all__ = [
    "Actor",
    "ConsentCommand",
    "DutyCommand",
    "EndDuty",
    "EndOverride",
    "ExpireConsent",
    "GiveConsent",
    "OverrideCommand",
    "RecordDuty",
    "RecordOverride",
    "RecordRefusal",
    "ReviewOverride",
    "WithdrawConsent",
]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: the token's subject and agency."""

    sub: str
    agency: str


@dataclass(frozen=True, slots=True)
class GiveConsent:
    """Record a consent for ``child``, if the rules accept it."""

    consent_id: UUID
    child: ChildFacts
    request: ConsentRequest
    actor: Actor
    known_agencies: frozenset[str]


@dataclass(frozen=True, slots=True)
class WithdrawConsent:
    """Withdraw a consent in force."""

    actor: Actor
    reason: str | None


@dataclass(frozen=True, slots=True)
class ExpireConsent:
    """Record that a consent in force reached its end date."""


@dataclass(frozen=True, slots=True)
class RecordOverride:
    """Record sharing without consent (a safeguarding lead's decision)."""

    override_id: UUID
    child_id: UUID
    reason: str
    lawful_basis: LawfulBasis
    recipient_agencies: tuple[str, ...]
    data_classes: tuple[DataClass, ...]
    ends_at: datetime | None
    hide_from_family: bool
    actor: Actor
    known_agencies: frozenset[str]


@dataclass(frozen=True, slots=True)
class ReviewOverride:
    """Record the review of an active override."""

    actor: Actor
    outcome: str


@dataclass(frozen=True, slots=True)
class EndOverride:
    """End an active override now."""

    actor: Actor
    reason: str


@dataclass(frozen=True, slots=True)
class RecordDuty:
    """Record a statutory duty to share."""

    duty_id: UUID
    child_id: UUID
    lawful_basis: LawfulBasis
    description: str
    owner_agencies: tuple[str, ...]
    recipient_agencies: tuple[str, ...]
    data_classes: tuple[DataClass, ...]
    purposes: tuple[Purpose, ...]
    valid_from: datetime | None
    valid_until: datetime | None
    actor: Actor
    known_agencies: frozenset[str]


@dataclass(frozen=True, slots=True)
class EndDuty:
    """End a recorded statutory duty now."""

    actor: Actor
    reason: str


@dataclass(frozen=True, slots=True)
class RecordRefusal:
    """Record a decision not to share, with its reason."""

    refusal_id: UUID
    child_id: UUID
    owner_agency: str
    recipient_agency: str
    data_classes: tuple[DataClass, ...]
    purpose: Purpose
    reason: str
    actor: Actor
    known_agencies: frozenset[str]


ConsentCommand = GiveConsent | WithdrawConsent | ExpireConsent
OverrideCommand = RecordOverride | ReviewOverride | EndOverride
DutyCommand = RecordDuty | EndDuty
