"""Consent and override aggregates: state evolved from their events, and the decisions that
emit new ones. Pure: the time is always an argument."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from oneplan_events.catalogue import Event
from oneplan_events.catalogue.consent import (
    ConsentExpired,
    ConsentGiven,
    ConsentWithdrawn,
    OverrideEnded,
    OverrideRecorded,
    OverrideReviewed,
    StatutoryDutyEnded,
    StatutoryDutyRecorded,
)

__all__ = [
    "AlreadyEnded",
    "ConsentState",
    "ConsentStatus",
    "OverrideState",
    "consent_stream",
    "due_expiries",
    "duty_stream",
    "end_duty",
    "end_override",
    "expire",
    "override_stream",
    "review_override",
    "withdraw",
]


class AlreadyEnded(Exception):
    """The consent or override is no longer in force; the message says since when and why."""


class ConsentStatus(StrEnum):
    GIVEN = "given"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


def consent_stream(consent_id: UUID) -> str:
    """The event-store stream id of a consent."""
    return f"consent/{consent_id}"


def duty_stream(duty_id: UUID) -> str:
    """The event-store stream id of a statutory duty."""
    return f"duty/{duty_id}"


def override_stream(override_id: UUID) -> str:
    """The event-store stream id of a safeguarding override."""
    return f"override/{override_id}"


@dataclass(frozen=True, slots=True)
class ConsentState:
    """A consent as its events left it; `version` is the number of events."""

    given: ConsentGiven
    status: ConsentStatus
    version: int
    ended_at: datetime | None = None

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> ConsentState:
        state: ConsentState | None = None
        for event in events:
            state = _evolve_consent(state, event)
        if state is None:
            raise ValueError("a consent stream starts with oneplan.consent.consent.given")
        return state


def _evolve_consent(state: ConsentState | None, event: Event) -> ConsentState:
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


def withdraw(state: ConsentState, *, by: str, at: datetime, reason: str | None) -> ConsentWithdrawn:
    """Withdraw a consent that is still in force."""
    _require_in_force(state)
    return ConsentWithdrawn(
        consent_id=state.given.consent_id,
        child_id=state.given.child_id,
        withdrawn_at=at,
        withdrawn_by=by,
        reason=reason,
    )


def expire(state: ConsentState, *, now: datetime) -> ConsentExpired:
    """Record that a consent in force reached its end date."""
    _require_in_force(state)
    return ConsentExpired(
        consent_id=state.given.consent_id,
        child_id=state.given.child_id,
        expired_at=state.given.valid_until if state.given.valid_until <= now else now,
    )


def _require_in_force(state: ConsentState) -> None:
    if state.status is not ConsentStatus.GIVEN:
        assert state.ended_at is not None
        raise AlreadyEnded(
            f"consent {state.given.consent_id} was {state.status.value} at "
            f"{state.ended_at.isoformat()}"
        )


def due_expiries(consents: Iterable[tuple[UUID, datetime]], now: datetime) -> list[UUID]:
    """The consents (id, valid_until) still in force whose end date has come by `now`."""
    return [consent_id for consent_id, valid_until in consents if valid_until <= now]


@dataclass(frozen=True, slots=True)
class OverrideState:
    """A safeguarding override as its events left it."""

    recorded: OverrideRecorded
    version: int
    reviews: int = 0
    ended_at: datetime | None = None

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> OverrideState:
        state: OverrideState | None = None
        for event in events:
            state = _evolve_override(state, event)
        if state is None:
            raise ValueError("an override stream starts with oneplan.consent.override.recorded")
        return state


def _evolve_override(state: OverrideState | None, event: Event) -> OverrideState:
    match event:
        case OverrideRecorded():
            return OverrideState(recorded=event, version=1)
        case OverrideReviewed() if state is not None:
            return replace(state, reviews=state.reviews + 1, version=state.version + 1)
        case OverrideEnded() if state is not None:
            return replace(state, ended_at=event.ended_at, version=state.version + 1)
    raise ValueError(f"unexpected {type(event).__name__} in an override stream")


def review_override(
    state: OverrideState, *, by: str, at: datetime, outcome: str
) -> OverrideReviewed:
    """Record a review of an override (reviews of an ended override are refused)."""
    _require_override_active(state)
    return OverrideReviewed(
        override_id=state.recorded.override_id,
        child_id=state.recorded.child_id,
        reviewed_by=by,
        reviewed_at=at,
        outcome=outcome,
    )


def end_override(state: OverrideState, *, by: str, at: datetime, reason: str) -> OverrideEnded:
    """End an override early."""
    _require_override_active(state)
    return OverrideEnded(
        override_id=state.recorded.override_id,
        child_id=state.recorded.child_id,
        ended_by=by,
        ended_at=at,
        reason=reason,
    )


def _require_override_active(state: OverrideState) -> None:
    if state.ended_at is not None:
        raise AlreadyEnded(
            f"override {state.recorded.override_id} was ended at {state.ended_at.isoformat()}"
        )


def end_duty(events: Sequence[Event], *, by: str, at: datetime, reason: str) -> StatutoryDutyEnded:
    """End a recorded statutory duty (AlreadyEnded when it has been ended before)."""
    recorded = events[0]
    if not isinstance(recorded, StatutoryDutyRecorded):
        raise ValueError("a duty stream starts with oneplan.consent.duty.recorded")
    for event in events[1:]:
        if isinstance(event, StatutoryDutyEnded):
            raise AlreadyEnded(f"duty {recorded.duty_id} was ended at {event.ended_at.isoformat()}")
    return StatutoryDutyEnded(
        duty_id=recorded.duty_id,
        child_id=recorded.child_id,
        ended_by=by,
        ended_at=at,
        reason=reason,
    )
