"""Builders of consent facts (what a replica reads of the consent service's events) for the
sharing tests. The library knows no service: these are the shared facts models, and the
envelopes carry their data as the consent service's events would (which add fields the
replica ignores)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from oneplan_events.catalogue import Event
from oneplan_events.envelope import Envelope, dataschema_for
from oneplan_events.vocabulary import DataClass, Purpose
from oneplan_sharing.facts import ConsentGrant, DutyGrant, OverrideGrant

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def envelope_of(event: Event, stream_id: str = "consent/x") -> Envelope:
    """The envelope the consent service would publish for ``event``'s facts."""
    return Envelope(
        id=str(uuid.uuid4()),
        source="/oneplan/consent",
        type=type(event).type,
        time=datetime.now(UTC),
        data={**event.model_dump(mode="json"), "recorded_by": "caseworker-1"},
        subject=stream_id,
        dataschema=dataschema_for(type(event).type, 1),
        dataclass="consent",
    )


def consent_given(
    child_id: UUID,
    *,
    owners: tuple[str, ...] = ("send",),
    recipients: tuple[str, ...] = ("health",),
    data_classes: tuple[DataClass, ...] = (DataClass.STORY,),
    purposes: tuple[Purpose, ...] = (Purpose.HEALTH_CARE,),
    valid_from: datetime = T0,
    valid_until: datetime = T0 + timedelta(days=365),
    consent_id: UUID | None = None,
) -> ConsentGrant:
    return ConsentGrant(
        consent_id=consent_id or uuid4(),
        child_id=child_id,
        owner_agencies=owners,
        recipient_agencies=recipients,
        data_classes=data_classes,
        purposes=purposes,
        valid_from=valid_from,
        valid_until=valid_until,
    )


def override_recorded(
    child_id: UUID,
    *,
    recipients: tuple[str, ...] = ("social_care",),
    data_classes: tuple[DataClass, ...] = (DataClass.HEALTH,),
    starts_at: datetime = T0,
    ends_at: datetime = T0 + timedelta(days=30),
    override_id: UUID | None = None,
    hide_from_family: bool = False,
) -> OverrideGrant:
    return OverrideGrant(
        override_id=override_id or uuid4(),
        child_id=child_id,
        recipient_agencies=recipients,
        data_classes=data_classes,
        starts_at=starts_at,
        ends_at=ends_at,
        hide_from_family=hide_from_family,
    )


def duty_recorded(
    child_id: UUID,
    *,
    owners: tuple[str, ...] = ("health",),
    recipients: tuple[str, ...] = ("send",),
    data_classes: tuple[DataClass, ...] = (DataClass.HEALTH,),
    purposes: tuple[Purpose, ...] = (Purpose.EHC_ASSESSMENT,),
    valid_from: datetime = T0,
    valid_until: datetime | None = None,
    duty_id: UUID | None = None,
) -> DutyGrant:
    return DutyGrant(
        duty_id=duty_id or uuid4(),
        child_id=child_id,
        owner_agencies=owners,
        recipient_agencies=recipients,
        data_classes=data_classes,
        purposes=purposes,
        valid_from=valid_from,
        valid_until=valid_until,
    )
