"""Command handlers: one use case each, on the caller's unit of work.

Each handler loads what it needs, lets the pure domain decide, appends the resulting event
with the stream's expected version and projects it into the read models in the same
transaction. The caller commits (once, after recording an idempotent response if any).
Refusals raise before anything is appended, so nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID, uuid4

from oneplan_consent.adapters import repository
from oneplan_consent.domain.aggregates import (
    ConsentState,
    OverrideState,
    consent_stream,
    duty_stream,
    end_duty,
    end_override,
    expire,
    override_stream,
    review_override,
    withdraw,
)
from oneplan_consent.domain.who_may_consent import (
    ChildFacts,
    ConsentRequest,
    Issue,
    check_consent_request,
)
from oneplan_events.catalogue import DataClass, Event
from oneplan_events.catalogue.consent import (
    ConsentGiven,
    ConsentWithdrawn,
    LawfulBasis,
    OverrideRecorded,
    Purpose,
    RefusalRecorded,
    StatutoryDutyRecorded,
)
from oneplan_kit.uow import UnitOfWork

__all__ = [
    "DEFAULT_OVERRIDE_DAYS",
    "OVERRIDE_REVIEW_DAYS",
    "Actor",
    "ChildUnknown",
    "ConsentRefused",
    "NotRecorded",
    "OverrideRequest",
    "end_duty_now",
    "end_override_now",
    "expire_consent",
    "give_consent",
    "record_duty",
    "record_override",
    "record_refusal",
    "review_override_now",
    "withdraw_consent",
]

DEFAULT_OVERRIDE_DAYS = 30
OVERRIDE_REVIEW_DAYS = 7


class ChildUnknown(LookupError):
    """The children service has not (yet) told this service about the child."""


class NotRecorded(LookupError):
    """No consent or override with that id."""


class ConsentRefused(ValueError):
    """The consent cannot be accepted; `issues` say exactly why."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(f"{i.field}: {i.message}" for i in issues))
        self.issues = issues


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: the token's subject and agency."""

    sub: str
    agency: str


async def _child(uow: UnitOfWork, child_id: UUID) -> ChildFacts:
    child = await repository.load_child_facts(uow.session, child_id)
    if child is None:
        raise ChildUnknown(f"no child {child_id} is known to the consent service")
    return child


async def _append(uow: UnitOfWork, stream_id: str, version: int, event: Event) -> None:
    await uow.append(stream_id, version, [event])
    await repository.project(uow.session, event, version + 1)


async def give_consent(
    uow: UnitOfWork,
    child_id: UUID,
    request: ConsentRequest,
    *,
    actor: Actor,
    known_agencies: frozenset[str],
    today: date,
) -> ConsentGiven:
    """Record a consent if the rules accept it (see `check_consent_request`)."""
    child = await _child(uow, child_id)
    issues = check_consent_request(request, child, known_agencies, today)
    if issues:
        raise ConsentRefused(issues)
    event = ConsentGiven(
        consent_id=uuid4(),
        child_id=child_id,
        given_by=request.given_by,
        owner_agencies=request.owner_agencies,
        recipient_agencies=request.recipient_agencies,
        data_classes=request.data_classes,
        purposes=request.purposes,
        valid_from=request.valid_from,
        valid_until=request.valid_until,
        capture_method=request.capture_method,
        witness_name=request.witness_name,
        recorded_by=actor.sub,
        recorded_by_agency=actor.agency,
    )
    await _append(uow, consent_stream(event.consent_id), 0, event)
    return event


async def _consent(uow: UnitOfWork, consent_id: UUID) -> ConsentState:
    recorded = await uow.read_stream(consent_stream(consent_id))
    if not recorded:
        raise NotRecorded(f"no consent {consent_id}")
    return ConsentState.from_events(r.event for r in recorded)


async def withdraw_consent(
    uow: UnitOfWork, consent_id: UUID, *, actor: Actor, reason: str | None, now: datetime
) -> ConsentWithdrawn:
    """Withdraw a consent in force (AlreadyEnded when withdrawn or expired already)."""
    state = await _consent(uow, consent_id)
    event = withdraw(state, by=actor.sub, at=now, reason=reason)
    await _append(uow, consent_stream(consent_id), state.version, event)
    return event


async def expire_consent(uow: UnitOfWork, consent_id: UUID, *, now: datetime) -> None:
    """Record the expiry of a consent that reached its end date."""
    state = await _consent(uow, consent_id)
    event = expire(state, now=now)
    await _append(uow, consent_stream(consent_id), state.version, event)


@dataclass(frozen=True, slots=True)
class OverrideRequest:
    """A safeguarding override as asked for."""

    reason: str
    lawful_basis: LawfulBasis
    recipient_agencies: tuple[str, ...]
    data_classes: tuple[DataClass, ...]
    ends_at: datetime | None
    hide_from_family: bool


async def record_override(
    uow: UnitOfWork, child_id: UUID, request: OverrideRequest, *, actor: Actor, now: datetime
) -> OverrideRecorded:
    """Record sharing without consent (the caller has checked the safeguarding_lead role)."""
    await _child(uow, child_id)
    ends_at = request.ends_at or now + timedelta(days=DEFAULT_OVERRIDE_DAYS)
    if ends_at <= now:
        raise ConsentRefused([Issue("ends_at", "an override must end in the future")])
    event = OverrideRecorded(
        override_id=uuid4(),
        child_id=child_id,
        reason=request.reason,
        lawful_basis=request.lawful_basis,
        recipient_agencies=request.recipient_agencies,
        data_classes=request.data_classes,
        starts_at=now,
        ends_at=ends_at,
        hide_from_family=request.hide_from_family,
        review_due_on=(now + timedelta(days=OVERRIDE_REVIEW_DAYS)).date(),
        recorded_by=actor.sub,
        recorded_by_agency=actor.agency,
    )
    await _append(uow, override_stream(event.override_id), 0, event)
    return event


async def _override(uow: UnitOfWork, override_id: UUID) -> OverrideState:
    recorded = await uow.read_stream(override_stream(override_id))
    if not recorded:
        raise NotRecorded(f"no override {override_id}")
    return OverrideState.from_events(r.event for r in recorded)


async def review_override_now(
    uow: UnitOfWork, override_id: UUID, *, actor: Actor, outcome: str, now: datetime
) -> None:
    """Record a review of an active override."""
    state = await _override(uow, override_id)
    event = review_override(state, by=actor.sub, at=now, outcome=outcome)
    await _append(uow, override_stream(override_id), state.version, event)


async def end_override_now(
    uow: UnitOfWork, override_id: UUID, *, actor: Actor, reason: str, now: datetime
) -> None:
    """End an active override at once."""
    state = await _override(uow, override_id)
    event = end_override(state, by=actor.sub, at=now, reason=reason)
    await _append(uow, override_stream(override_id), state.version, event)


async def record_refusal(
    uow: UnitOfWork,
    child_id: UUID,
    *,
    owner_agency: str,
    recipient_agency: str,
    data_classes: tuple[DataClass, ...],
    purpose: Purpose,
    reason: str,
    actor: Actor,
    now: datetime,
) -> RefusalRecorded:
    """Record a decision not to share, with its reason."""
    await _child(uow, child_id)
    event = RefusalRecorded(
        refusal_id=uuid4(),
        child_id=child_id,
        owner_agency=owner_agency,
        recipient_agency=recipient_agency,
        data_classes=data_classes,
        purpose=purpose,
        reason=reason,
        recorded_by=actor.sub,
        recorded_by_agency=actor.agency,
        recorded_at=now,
    )
    await _append(uow, f"refusal/{event.refusal_id}", 0, event)
    return event


async def record_duty(uow: UnitOfWork, event: StatutoryDutyRecorded) -> StatutoryDutyRecorded:
    """Record a statutory duty to share for a known child."""
    await _child(uow, event.child_id)
    await _append(uow, duty_stream(event.duty_id), 0, event)
    return event


async def end_duty_now(
    uow: UnitOfWork, duty_id: UUID, *, actor: Actor, reason: str, now: datetime
) -> None:
    """End a recorded statutory duty at once."""
    recorded = await uow.read_stream(duty_stream(duty_id))
    if not recorded:
        raise NotRecorded(f"no duty {duty_id}")
    event = end_duty([r.event for r in recorded], by=actor.sub, at=now, reason=reason)
    await _append(uow, duty_stream(duty_id), len(recorded), event)
