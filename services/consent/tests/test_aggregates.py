"""Consent and override aggregates, and finding the consents due to expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from oneplan_consent.domain.aggregates import (
    AlreadyEnded,
    ConsentState,
    ConsentStatus,
    OverrideState,
    due_expiries,
    end_override,
    expire,
    review_override,
    withdraw,
)
from oneplan_events.catalogue import DataClass
from oneplan_events.catalogue.consent import (
    CaptureMethod,
    ConsentCapacity,
    ConsentGiven,
    ConsentGiver,
    LawfulBasis,
    OverrideRecorded,
    Purpose,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def given(until: datetime = NOW + timedelta(days=1)) -> ConsentGiven:
    return ConsentGiven(
        consent_id=uuid4(),
        child_id=uuid4(),
        given_by=ConsentGiver(name="Alex", capacity=ConsentCapacity.PARENT_WITH_PR),
        owner_agencies=("send",),
        recipient_agencies=("health",),
        data_classes=(DataClass.STORY,),
        purposes=(Purpose.HEALTH_CARE,),
        valid_from=NOW - timedelta(days=1),
        valid_until=until,
        capture_method=CaptureMethod.PORTAL,
        recorded_by="u",
        recorded_by_agency="send",
    )


def test_withdrawal_ends_a_consent_once() -> None:
    state = ConsentState.from_events([given()])
    withdrawn = withdraw(state, by="parent", at=NOW, reason=None)
    after = ConsentState.from_events([state.given, withdrawn])
    assert (after.status, after.version, after.ended_at) == (ConsentStatus.WITHDRAWN, 2, NOW)
    with pytest.raises(AlreadyEnded, match="withdrawn"):
        withdraw(after, by="parent", at=NOW, reason=None)
    with pytest.raises(AlreadyEnded):
        expire(after, now=NOW)


def test_expiry_is_stamped_with_the_end_date() -> None:
    consent = given(until=NOW - timedelta(minutes=5))
    expired = expire(ConsentState.from_events([consent]), now=NOW)
    assert expired.expired_at == consent.valid_until


def test_due_expiries_are_those_ended_by_now() -> None:
    a, b, c = uuid4(), uuid4(), uuid4()
    candidates = [(a, NOW - timedelta(seconds=1)), (b, NOW), (c, NOW + timedelta(seconds=1))]
    assert due_expiries(candidates, NOW) == [a, b]


def test_override_reviews_and_ends_once() -> None:
    recorded = OverrideRecorded(
        override_id=uuid4(),
        child_id=uuid4(),
        reason="s47",
        lawful_basis=LawfulBasis.CHILDREN_ACT_1989_S47,
        recipient_agencies=("social_care",),
        data_classes=(DataClass.HEALTH,),
        starts_at=NOW,
        ends_at=NOW + timedelta(days=30),
        hide_from_family=True,
        review_due_on=(NOW + timedelta(days=7)).date(),
        recorded_by="lead",
        recorded_by_agency="social_care",
    )
    state = OverrideState.from_events([recorded])
    reviewed = review_override(state, by="lead", at=NOW, outcome="continue")
    ended = end_override(state, by="lead", at=NOW, reason="closed")
    final = OverrideState.from_events([recorded, reviewed, ended])
    assert (final.reviews, final.version, final.ended_at) == (1, 3, NOW)
    with pytest.raises(AlreadyEnded):
        end_override(final, by="lead", at=NOW, reason="again")


def test_a_stream_must_start_with_its_creation_event() -> None:
    consent = given()
    withdrawn = withdraw(ConsentState.from_events([consent]), by="p", at=NOW, reason=None)
    with pytest.raises(ValueError, match="unexpected"):
        ConsentState.from_events([withdrawn])
