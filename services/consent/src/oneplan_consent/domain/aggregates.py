"""The consent service's records as deciders: consents, safeguarding overrides, statutory
duties and refusals. Pure: the time is always an argument, nothing here does I/O.

Each decider's state is ``None`` until its first event; ``decide`` refuses with a domain error
(:class:`ConsentRefused` naming every broken rule, :class:`AlreadyEnded`, :class:`NotRecorded`,
:class:`AlreadyRecorded`) or returns the events that carry the command out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import assert_never
from uuid import UUID

from oneplan_consent.domain.commands import (
    ConsentCommand,
    DutyCommand,
    EndDuty,
    EndOverride,
    ExpireConsent,
    GiveConsent,
    OverrideCommand,
    RecordDuty,
    RecordOverride,
    RecordRefusal,
    ReviewOverride,
    WithdrawConsent,
)
from oneplan_consent.domain.who_may_consent import Issue, check_consent_request
from oneplan_consent.events import (
    ConsentExpired,
    ConsentGiven,
    ConsentWithdrawn,
    OverrideEnded,
    OverrideRecorded,
    OverrideReviewed,
    RefusalRecorded,
    StatutoryDutyEnded,
    StatutoryDutyRecorded,
)
from oneplan_events.catalogue import Event
from oneplan_events.clock import local_date

__all__ = [
    "CONSENT",
    "DEFAULT_OVERRIDE_DAYS",
    "DUTY",
    "OVERRIDE",
    "OVERRIDE_REVIEW_DAYS",
    "REFUSAL",
    "AlreadyEnded",
    "AlreadyRecorded",
    "ConsentRefused",
    "ConsentState",
    "ConsentStatus",
    "DutyState",
    "NotRecorded",
    "OverrideState",
    "due_expiries",
]

DEFAULT_OVERRIDE_DAYS = 30
OVERRIDE_REVIEW_DAYS = 7


class AlreadyEnded(Exception):
    """The consent, override or duty is no longer in force; the message says since when."""


class AlreadyRecorded(Exception):
    """The record exists already (a repeated id)."""


class NotRecorded(LookupError):
    """No consent, override or duty with that id."""


class ConsentRefused(ValueError):
    """The request cannot be accepted; ``issues`` say exactly why, field by field."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(f"{i.field}: {i.message}" for i in issues))
        self.issues = issues


class ConsentStatus(StrEnum):
    GIVEN = "given"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


# -- consents ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsentState:
    """A consent as its events left it; ``version`` is the number of events."""

    given: ConsentGiven
    status: ConsentStatus
    version: int
    ended_at: datetime | None = None

    def require_in_force(self) -> None:
        """Raise :class:`AlreadyEnded` unless the consent is still given."""
        if self.status is not ConsentStatus.GIVEN:
            assert self.ended_at is not None
            raise AlreadyEnded(
                f"consent {self.given.consent_id} was {self.status.value} at "
                f"{self.ended_at.isoformat()}"
            )


class ConsentDecider:
    """A consent: given once, then withdrawn or expired (streams ``consent/<id>``)."""

    stream_prefix = "consent"

    def initial_state(self) -> ConsentState | None:
        return None

    def decide(
        self, state: ConsentState | None, command: ConsentCommand, now: datetime
    ) -> Sequence[Event]:
        match command:
            case GiveConsent():
                if state is not None:
                    raise AlreadyRecorded(f"consent {command.consent_id} exists already")
                return [_given(command, now)]
            case WithdrawConsent():
                current = _consent(state)
                current.require_in_force()
                return [
                    ConsentWithdrawn(
                        consent_id=current.given.consent_id,
                        child_id=current.given.child_id,
                        withdrawn_at=now,
                        withdrawn_by=command.actor.sub,
                        reason=command.reason,
                    )
                ]
            case ExpireConsent():
                current = _consent(state)
                current.require_in_force()
                until = current.given.valid_until
                return [
                    ConsentExpired(
                        consent_id=current.given.consent_id,
                        child_id=current.given.child_id,
                        expired_at=until if until <= now else now,
                    )
                ]
            case _:
                assert_never(command)

    def evolve(self, state: ConsentState | None, event: Event) -> ConsentState | None:
        match event:
            case ConsentGiven():
                return ConsentState(given=event, status=ConsentStatus.GIVEN, version=1)
            case ConsentWithdrawn() if state is not None:
                return replace(
                    state,
                    status=ConsentStatus.WITHDRAWN,
                    ended_at=event.withdrawn_at,
                    version=state.version + 1,
                )
            case ConsentExpired() if state is not None:
                return replace(
                    state,
                    status=ConsentStatus.EXPIRED,
                    ended_at=event.expired_at,
                    version=state.version + 1,
                )
        raise ValueError(f"unexpected {type(event).__name__} in a consent stream")


def _consent(state: ConsentState | None) -> ConsentState:
    if state is None:
        raise NotRecorded("no such consent")
    return state


def _given(command: GiveConsent, now: datetime) -> ConsentGiven:
    request = command.request
    issues = check_consent_request(request, command.child, command.known_agencies, local_date(now))
    if issues:
        raise ConsentRefused(issues)
    return ConsentGiven(
        consent_id=command.consent_id,
        child_id=command.child.child_id,
        given_by=request.given_by,
        owner_agencies=request.owner_agencies,
        recipient_agencies=request.recipient_agencies,
        data_classes=request.data_classes,
        purposes=request.purposes,
        valid_from=request.valid_from,
        valid_until=request.valid_until,
        capture_method=request.capture_method,
        witness_name=request.witness_name,
        recorded_by=command.actor.sub,
        recorded_by_agency=command.actor.agency,
    )


def due_expiries(consents: Iterable[tuple[UUID, datetime]], now: datetime) -> list[UUID]:
    """The consents (id, valid_until) still in force whose end date has come by ``now``."""
    return [consent_id for consent_id, valid_until in consents if valid_until <= now]


# -- overrides -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OverrideState:
    """A safeguarding override as its events left it."""

    recorded: OverrideRecorded
    version: int
    reviews: int = 0
    ended_at: datetime | None = None

    def require_active(self) -> None:
        """Raise :class:`AlreadyEnded` once the override was ended."""
        if self.ended_at is not None:
            raise AlreadyEnded(
                f"override {self.recorded.override_id} was ended at {self.ended_at.isoformat()}"
            )


class OverrideDecider:
    """A safeguarding override: recorded, reviewed, ended (streams ``override/<id>``)."""

    stream_prefix = "override"

    def initial_state(self) -> OverrideState | None:
        return None

    def decide(
        self, state: OverrideState | None, command: OverrideCommand, now: datetime
    ) -> Sequence[Event]:
        match command:
            case RecordOverride():
                if state is not None:
                    raise AlreadyRecorded(f"override {command.override_id} exists already")
                return [_override(command, now)]
            case ReviewOverride():
                current = _active(state)
                return [
                    OverrideReviewed(
                        override_id=current.recorded.override_id,
                        child_id=current.recorded.child_id,
                        reviewed_by=command.actor.sub,
                        reviewed_at=now,
                        outcome=command.outcome,
                    )
                ]
            case EndOverride():
                current = _active(state)
                return [
                    OverrideEnded(
                        override_id=current.recorded.override_id,
                        child_id=current.recorded.child_id,
                        ended_by=command.actor.sub,
                        ended_at=now,
                        reason=command.reason,
                    )
                ]
            case _:
                assert_never(command)

    def evolve(self, state: OverrideState | None, event: Event) -> OverrideState | None:
        match event:
            case OverrideRecorded():
                return OverrideState(recorded=event, version=1)
            case OverrideReviewed() if state is not None:
                return replace(state, reviews=state.reviews + 1, version=state.version + 1)
            case OverrideEnded() if state is not None:
                return replace(state, ended_at=event.ended_at, version=state.version + 1)
        raise ValueError(f"unexpected {type(event).__name__} in an override stream")


def _active(state: OverrideState | None) -> OverrideState:
    if state is None:
        raise NotRecorded("no such override")
    state.require_active()
    return state


def _override(command: RecordOverride, now: datetime) -> OverrideRecorded:
    ends_at = command.ends_at or now + timedelta(days=DEFAULT_OVERRIDE_DAYS)
    issues = _unknown_agencies(
        command.known_agencies, recipient_agencies=command.recipient_agencies
    )
    if ends_at <= now:
        issues.append(Issue("ends_at", "an override must end in the future"))
    if issues:
        raise ConsentRefused(issues)
    return OverrideRecorded(
        override_id=command.override_id,
        child_id=command.child_id,
        reason=command.reason,
        lawful_basis=command.lawful_basis,
        recipient_agencies=command.recipient_agencies,
        data_classes=command.data_classes,
        starts_at=now,
        ends_at=ends_at,
        hide_from_family=command.hide_from_family,
        review_due_on=local_date(now + timedelta(days=OVERRIDE_REVIEW_DAYS)),
        recorded_by=command.actor.sub,
        recorded_by_agency=command.actor.agency,
    )


# -- statutory duties ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DutyState:
    """A statutory duty to share as its events left it."""

    recorded: StatutoryDutyRecorded
    version: int
    ended_at: datetime | None = None


class DutyDecider:
    """A statutory duty to share: recorded, then ended (streams ``duty/<id>``)."""

    stream_prefix = "duty"

    def initial_state(self) -> DutyState | None:
        return None

    def decide(
        self, state: DutyState | None, command: DutyCommand, now: datetime
    ) -> Sequence[Event]:
        match command:
            case RecordDuty():
                if state is not None:
                    raise AlreadyRecorded(f"duty {command.duty_id} exists already")
                return [_duty(command, now)]
            case EndDuty():
                if state is None:
                    raise NotRecorded("no such duty")
                if state.ended_at is not None:
                    raise AlreadyEnded(
                        f"duty {state.recorded.duty_id} was ended at {state.ended_at.isoformat()}"
                    )
                return [
                    StatutoryDutyEnded(
                        duty_id=state.recorded.duty_id,
                        child_id=state.recorded.child_id,
                        ended_by=command.actor.sub,
                        ended_at=now,
                        reason=command.reason,
                    )
                ]
            case _:
                assert_never(command)

    def evolve(self, state: DutyState | None, event: Event) -> DutyState | None:
        match event:
            case StatutoryDutyRecorded():
                return DutyState(recorded=event, version=1)
            case StatutoryDutyEnded() if state is not None:
                return replace(state, ended_at=event.ended_at, version=state.version + 1)
        raise ValueError(f"unexpected {type(event).__name__} in a duty stream")


def _duty(command: RecordDuty, now: datetime) -> StatutoryDutyRecorded:
    valid_from = command.valid_from or now
    issues = _unknown_agencies(
        command.known_agencies,
        owner_agencies=command.owner_agencies,
        recipient_agencies=command.recipient_agencies,
    )
    if command.valid_until is not None and command.valid_until <= valid_from:
        issues.append(Issue("valid_until", "the period must end after it starts"))
    if issues:
        raise ConsentRefused(issues)
    return StatutoryDutyRecorded(
        duty_id=command.duty_id,
        child_id=command.child_id,
        lawful_basis=command.lawful_basis,
        description=command.description,
        owner_agencies=command.owner_agencies,
        recipient_agencies=command.recipient_agencies,
        data_classes=command.data_classes,
        purposes=command.purposes,
        valid_from=valid_from,
        valid_until=command.valid_until,
        recorded_by=command.actor.sub,
        recorded_by_agency=command.actor.agency,
    )


# -- refusals ------------------------------------------------------------------------------


class RefusalDecider:
    """A recorded decision not to share: one event (streams ``refusal/<id>``)."""

    stream_prefix = "refusal"

    def initial_state(self) -> RefusalRecorded | None:
        return None

    def decide(
        self, state: RefusalRecorded | None, command: RecordRefusal, now: datetime
    ) -> Sequence[Event]:
        if state is not None:
            raise AlreadyRecorded(f"refusal {command.refusal_id} exists already")
        issues = _unknown_agencies(
            command.known_agencies,
            owner_agency=(command.owner_agency,),
            recipient_agency=(command.recipient_agency,),
        )
        if issues:
            raise ConsentRefused(issues)
        return [
            RefusalRecorded(
                refusal_id=command.refusal_id,
                child_id=command.child_id,
                owner_agency=command.owner_agency,
                recipient_agency=command.recipient_agency,
                data_classes=command.data_classes,
                purpose=command.purpose,
                reason=command.reason,
                recorded_by=command.actor.sub,
                recorded_by_agency=command.actor.agency,
                recorded_at=now,
            )
        ]

    def evolve(self, state: RefusalRecorded | None, event: Event) -> RefusalRecorded | None:
        if isinstance(event, RefusalRecorded):
            return event
        raise ValueError(f"unexpected {type(event).__name__} in a refusal stream")


def _unknown_agencies(known: frozenset[str], **fields: Iterable[str]) -> list[Issue]:
    return [
        Issue(name, f"unknown agency {agency!r}; known: {', '.join(sorted(known))}")
        for name, agencies in fields.items()
        for agency in agencies
        if agency not in known
    ]


CONSENT = ConsentDecider()
OVERRIDE = OverrideDecider()
DUTY = DutyDecider()
REFUSAL = RefusalDecider()
