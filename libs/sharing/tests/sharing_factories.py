"""Builders of consent events for the sharing tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from oneplan_events.catalogue import DataClass
from oneplan_events.catalogue.consent import (
    CaptureMethod,
    ConsentCapacity,
    ConsentGiven,
    ConsentGiver,
    LawfulBasis,
    OverrideRecorded,
    Purpose,
    StatutoryDutyRecorded,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


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
) -> ConsentGiven:
    return ConsentGiven(
        consent_id=consent_id or uuid4(),
        child_id=child_id,
        given_by=ConsentGiver(
            person_id=uuid4(), name="Parent Example", capacity=ConsentCapacity.PARENT_WITH_PR
        ),
        owner_agencies=owners,
        recipient_agencies=recipients,
        data_classes=data_classes,
        purposes=purposes,
        valid_from=valid_from,
        valid_until=valid_until,
        capture_method=CaptureMethod.SIGNED_FORM,
        recorded_by="caseworker-1",
        recorded_by_agency="send",
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
) -> OverrideRecorded:
    return OverrideRecorded(
        override_id=override_id or uuid4(),
        child_id=child_id,
        reason="section 47 enquiry",
        lawful_basis=LawfulBasis.CHILDREN_ACT_1989_S47,
        recipient_agencies=recipients,
        data_classes=data_classes,
        starts_at=starts_at,
        ends_at=ends_at,
        hide_from_family=hide_from_family,
        review_due_on=(starts_at + timedelta(days=7)).date(),
        recorded_by="lead-1",
        recorded_by_agency="social_care",
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
) -> StatutoryDutyRecorded:
    return StatutoryDutyRecorded(
        duty_id=duty_id or uuid4(),
        child_id=child_id,
        lawful_basis=LawfulBasis.CHILDREN_AND_FAMILIES_ACT_2014_S23,
        description="health body informs the local authority of likely SEN",
        owner_agencies=owners,
        recipient_agencies=recipients,
        data_classes=data_classes,
        purposes=purposes,
        valid_from=valid_from,
        valid_until=valid_until,
        recorded_by="lead-1",
        recorded_by_agency="send",
    )
