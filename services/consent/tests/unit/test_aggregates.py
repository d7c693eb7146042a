"""The consent service's deciders (consents, overrides, duties, refusals), given events, when a
command, then events; and finding the consents due to expire. No I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from oneplan_consent.domain.aggregates import (
    CONSENT,
    DUTY,
    OVERRIDE,
    REFUSAL,
    AlreadyEnded,
    AlreadyRecorded,
    ConsentRefused,
    ConsentStatus,
    NotRecorded,
    due_expiries,
)
from oneplan_consent.domain.commands import (
    Actor,
    EndDuty,
    EndOverride,
    ExpireConsent,
    GiveConsent,
    RecordDuty,
    RecordOverride,
    RecordRefusal,
    ReviewOverride,
    WithdrawConsent,
)
from oneplan_consent.domain.who_may_consent import ChildFacts, ConsentRequest, FamilyMember
from oneplan_consent.events import (
    CaptureMethod,
    ConsentCapacity,
    ConsentExpired,
    ConsentGiven,
    ConsentGiver,
    ConsentWithdrawn,
    LawfulBasis,
    OverrideEnded,
    OverrideRecorded,
    OverrideReviewed,
    RefusalRecorded,
    StatutoryDutyEnded,
    StatutoryDutyRecorded,
)
from oneplan_events.vocabulary import KNOWN_AGENCIES, DataClass, Purpose
from oneplan_testkit.deciders import DeciderSpec

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
CHILD = uuid4()
PARENT = uuid4()
FACTS = ChildFacts(
    child_id=CHILD,
    date_of_birth=date(2016, 3, 1),
    compulsory_school_age_ends_on=date(2032, 6, 25),
    members={PARENT: FamilyMember(PARENT, "mother", parental_responsibility=True)},
)
CASEWORKER = Actor(sub="send-user-1", agency="send")
PARENT_ACTOR = Actor(sub=str(PARENT), agency="family")
LEAD = Actor(sub="lead-1", agency="social_care")
AGENCIES = frozenset(KNOWN_AGENCIES)


def consent_request(**changes: object) -> ConsentRequest:
    fields: dict[str, object] = {
        "given_by": ConsentGiver(
            person_id=PARENT, name="Alex Example", capacity=ConsentCapacity.PARENT_WITH_PR
        ),
        "owner_agencies": ("send",),
        "recipient_agencies": ("health",),
        "data_classes": (DataClass.STORY,),
        "purposes": (Purpose.HEALTH_CARE,),
        "valid_from": NOW - timedelta(days=1),
        "valid_until": NOW + timedelta(days=1),
        "capture_method": CaptureMethod.PORTAL,
    }
    fields.update(changes)
    return ConsentRequest(**fields)  # type: ignore[arg-type]


def give(consent_id: UUID, **changes: object) -> GiveConsent:
    return GiveConsent(consent_id, FACTS, consent_request(**changes), CASEWORKER, AGENCIES)


def given(consent_id: UUID, until: datetime = NOW + timedelta(days=1)) -> ConsentGiven:
    [event] = DeciderSpec(CONSENT).when(give(consent_id, valid_until=until), NOW).events
    assert isinstance(event, ConsentGiven)
    return event


# -- consents ------------------------------------------------------------------------------


def test_a_consent_is_given_once_with_who_recorded_it() -> None:
    consent_id = uuid4()
    decision = DeciderSpec(CONSENT).when(give(consent_id), NOW)
    decision.then(
        ConsentGiven(
            consent_id=consent_id,
            child_id=CHILD,
            given_by=ConsentGiver(
                person_id=PARENT, name="Alex Example", capacity=ConsentCapacity.PARENT_WITH_PR
            ),
            owner_agencies=("send",),
            recipient_agencies=("health",),
            data_classes=(DataClass.STORY,),
            purposes=(Purpose.HEALTH_CARE,),
            valid_from=NOW - timedelta(days=1),
            valid_until=NOW + timedelta(days=1),
            capture_method=CaptureMethod.PORTAL,
            recorded_by="send-user-1",
            recorded_by_agency="send",
        )
    )
    state = decision.then_state()
    assert state is not None
    assert (state.status, state.version, state.ended_at) == (ConsentStatus.GIVEN, 1, None)
    again = DeciderSpec(CONSENT).given(*decision.events).when(give(consent_id), NOW)
    again.then_raises(AlreadyRecorded)


def test_a_consent_the_rules_refuse_names_every_issue() -> None:
    refused = (
        DeciderSpec(CONSENT)
        .when(
            give(
                uuid4(),
                recipient_agencies=("ministry_of_magic",),
                valid_until=NOW - timedelta(days=2),
            ),
            NOW,
        )
        .then_raises(ConsentRefused)
    )
    assert isinstance(refused, ConsentRefused)
    assert [issue.field for issue in refused.issues] == ["recipient_agencies", "valid_until"]


def test_the_rules_are_applied_on_the_date_in_england() -> None:
    # 23:30 UTC on 25 June 2032 is 26 June in England: compulsory school age has ended, so a
    # parent consenting as parent_with_pr is refused (the young person decides now).
    late = datetime(2032, 6, 25, 23, 30, tzinfo=UTC)
    command = give(uuid4(), valid_from=late, valid_until=late + timedelta(hours=1))
    refused = DeciderSpec(CONSENT).when(command, late).then_raises(ConsentRefused)
    assert isinstance(refused, ConsentRefused)
    assert "given_by.capacity" in [issue.field for issue in refused.issues]


def test_withdrawal_ends_a_consent_once() -> None:
    consent_id = uuid4()
    spec = DeciderSpec(CONSENT).given(given(consent_id))
    decision = spec.when(WithdrawConsent(PARENT_ACTOR, "changed my mind"), NOW)
    decision.then(
        ConsentWithdrawn(
            consent_id=consent_id,
            child_id=CHILD,
            withdrawn_at=NOW,
            withdrawn_by=str(PARENT),
            reason="changed my mind",
        )
    )
    after = decision.then_state()
    assert after is not None
    assert (after.status, after.version, after.ended_at) == (ConsentStatus.WITHDRAWN, 2, NOW)
    withdrawn = spec.given(*decision.events)
    withdrawn.when(WithdrawConsent(PARENT_ACTOR, None), NOW).then_raises(AlreadyEnded, "withdrawn")
    withdrawn.when(ExpireConsent(), NOW).then_raises(AlreadyEnded)


def test_expiry_is_stamped_with_the_end_date() -> None:
    consent_id = uuid4()
    until = NOW - timedelta(minutes=5)
    spec = DeciderSpec(CONSENT).given(given(consent_id, until=until))
    decision = spec.when(ExpireConsent(), NOW)
    decision.then(ConsentExpired(consent_id=consent_id, child_id=CHILD, expired_at=until))
    state = decision.then_state()
    assert state is not None
    assert (state.status, state.ended_at) == (ConsentStatus.EXPIRED, until)
    expired = spec.given(*decision.events)
    expired.when(WithdrawConsent(CASEWORKER, None), NOW).then_raises(AlreadyEnded, "expired")


def test_an_early_expiry_is_stamped_now() -> None:
    consent_id = uuid4()
    spec = DeciderSpec(CONSENT).given(given(consent_id, until=NOW + timedelta(hours=1)))
    spec.when(ExpireConsent(), NOW).then(
        ConsentExpired(consent_id=consent_id, child_id=CHILD, expired_at=NOW)
    )


def test_a_missing_consent_is_not_recorded() -> None:
    DeciderSpec(CONSENT).when(WithdrawConsent(CASEWORKER, None), NOW).then_raises(NotRecorded)
    DeciderSpec(CONSENT).when(ExpireConsent(), NOW).then_raises(NotRecorded)


def test_due_expiries_are_those_ended_by_now() -> None:
    a, b, c = uuid4(), uuid4(), uuid4()
    candidates = [(a, NOW - timedelta(seconds=1)), (b, NOW), (c, NOW + timedelta(seconds=1))]
    assert due_expiries(candidates, NOW) == [a, b]


# -- overrides -----------------------------------------------------------------------------


def record_override(override_id: UUID, **changes: object) -> RecordOverride:
    fields: dict[str, object] = {
        "override_id": override_id,
        "child_id": CHILD,
        "reason": "s47",
        "lawful_basis": LawfulBasis.CHILDREN_ACT_1989_S47,
        "recipient_agencies": ("social_care",),
        "data_classes": (DataClass.HEALTH,),
        "ends_at": None,
        "hide_from_family": True,
        "actor": LEAD,
        "known_agencies": AGENCIES,
    }
    fields.update(changes)
    return RecordOverride(**fields)  # type: ignore[arg-type]


def test_an_override_lasts_30_days_by_default_and_is_due_for_review_in_a_week() -> None:
    override_id = uuid4()
    DeciderSpec(OVERRIDE).when(record_override(override_id), NOW).then(
        OverrideRecorded(
            override_id=override_id,
            child_id=CHILD,
            reason="s47",
            lawful_basis=LawfulBasis.CHILDREN_ACT_1989_S47,
            recipient_agencies=("social_care",),
            data_classes=(DataClass.HEALTH,),
            starts_at=NOW,
            ends_at=NOW + timedelta(days=30),
            hide_from_family=True,
            review_due_on=date(2026, 3, 9),
            recorded_by="lead-1",
            recorded_by_agency="social_care",
        )
    )


def test_the_review_date_is_a_date_in_england() -> None:
    # 23:30 UTC on 1 July is 00:30 on 2 July in England (BST): the review is due on 9 July.
    late = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)
    [event] = DeciderSpec(OVERRIDE).when(record_override(uuid4()), late).events
    assert isinstance(event, OverrideRecorded)
    assert event.review_due_on == date(2026, 7, 9)


def test_an_override_needs_known_agencies_and_a_future_end() -> None:
    command = record_override(
        uuid4(), recipient_agencies=("ministry_of_magic",), ends_at=NOW - timedelta(seconds=1)
    )
    refused = DeciderSpec(OVERRIDE).when(command, NOW).then_raises(ConsentRefused)
    assert isinstance(refused, ConsentRefused)
    assert [issue.field for issue in refused.issues] == ["recipient_agencies", "ends_at"]


def test_override_reviews_and_ends_once() -> None:
    override_id = uuid4()
    spec = DeciderSpec(OVERRIDE)
    spec = spec.given(*spec.when(record_override(override_id), NOW).events)
    reviewed = spec.when(ReviewOverride(LEAD, "continue"), NOW + timedelta(days=7))
    reviewed.then(
        OverrideReviewed(
            override_id=override_id,
            child_id=CHILD,
            reviewed_by="lead-1",
            reviewed_at=NOW + timedelta(days=7),
            outcome="continue",
        )
    )
    spec = spec.given(*reviewed.events)
    ended = spec.when(EndOverride(LEAD, "closed"), NOW + timedelta(days=8))
    ended.then(
        OverrideEnded(
            override_id=override_id,
            child_id=CHILD,
            ended_by="lead-1",
            ended_at=NOW + timedelta(days=8),
            reason="closed",
        )
    )
    final = ended.then_state()
    assert final is not None
    assert (final.reviews, final.version, final.ended_at) == (1, 3, NOW + timedelta(days=8))
    spec = spec.given(*ended.events)
    spec.when(EndOverride(LEAD, "again"), NOW).then_raises(AlreadyEnded)
    spec.when(ReviewOverride(LEAD, "again"), NOW).then_raises(AlreadyEnded)
    spec.when(record_override(override_id), NOW).then_raises(AlreadyRecorded)
    DeciderSpec(OVERRIDE).when(EndOverride(LEAD, "x"), NOW).then_raises(NotRecorded)


# -- duties and refusals -------------------------------------------------------------------


def record_duty(duty_id: UUID, **changes: object) -> RecordDuty:
    fields: dict[str, object] = {
        "duty_id": duty_id,
        "child_id": CHILD,
        "lawful_basis": LawfulBasis.CHILDREN_AND_FAMILIES_ACT_2014_S23,
        "description": "health tells the authority of likely SEN",
        "owner_agencies": ("health",),
        "recipient_agencies": ("send",),
        "data_classes": (DataClass.HEALTH,),
        "purposes": (Purpose.EHC_ASSESSMENT,),
        "valid_from": None,
        "valid_until": None,
        "actor": Actor(sub="lead-2", agency="send"),
        "known_agencies": AGENCIES,
    }
    fields.update(changes)
    return RecordDuty(**fields)  # type: ignore[arg-type]


def test_a_duty_starts_now_unless_told_and_ends_once() -> None:
    duty_id = uuid4()
    recorded = DeciderSpec(DUTY).when(record_duty(duty_id), NOW)
    recorded.then(
        StatutoryDutyRecorded(
            duty_id=duty_id,
            child_id=CHILD,
            lawful_basis=LawfulBasis.CHILDREN_AND_FAMILIES_ACT_2014_S23,
            description="health tells the authority of likely SEN",
            owner_agencies=("health",),
            recipient_agencies=("send",),
            data_classes=(DataClass.HEALTH,),
            purposes=(Purpose.EHC_ASSESSMENT,),
            valid_from=NOW,
            valid_until=None,
            recorded_by="lead-2",
            recorded_by_agency="send",
        )
    )
    spec = DeciderSpec(DUTY).given(*recorded.events)
    ended = spec.when(EndDuty(LEAD, "done"), NOW)
    ended.then(
        StatutoryDutyEnded(
            duty_id=duty_id, child_id=CHILD, ended_by="lead-1", ended_at=NOW, reason="done"
        )
    )
    spec = spec.given(*ended.events)
    spec.when(EndDuty(LEAD, "again"), NOW).then_raises(AlreadyEnded)
    spec.when(record_duty(duty_id), NOW).then_raises(AlreadyRecorded)
    DeciderSpec(DUTY).when(EndDuty(LEAD, "x"), NOW).then_raises(NotRecorded)


def test_a_duty_needs_known_agencies_and_a_period_that_ends_after_it_starts() -> None:
    command = record_duty(
        uuid4(), owner_agencies=("nowhere",), valid_from=NOW, valid_until=NOW - timedelta(days=1)
    )
    refused = DeciderSpec(DUTY).when(command, NOW).then_raises(ConsentRefused)
    assert isinstance(refused, ConsentRefused)
    assert [issue.field for issue in refused.issues] == ["owner_agencies", "valid_until"]


def record_refusal(refusal_id: UUID, **changes: object) -> RecordRefusal:
    fields: dict[str, object] = {
        "refusal_id": refusal_id,
        "child_id": CHILD,
        "owner_agency": "send",
        "recipient_agency": "transport",
        "data_classes": (DataClass.STORY,),
        "purpose": Purpose.TRANSPORT_PLANNING,
        "reason": "not needed for transport",
        "actor": CASEWORKER,
        "known_agencies": AGENCIES,
    }
    fields.update(changes)
    return RecordRefusal(**fields)  # type: ignore[arg-type]


def test_a_refusal_is_recorded_once_with_its_reason() -> None:
    refusal_id = uuid4()
    decision = DeciderSpec(REFUSAL).when(record_refusal(refusal_id), NOW)
    decision.then(
        RefusalRecorded(
            refusal_id=refusal_id,
            child_id=CHILD,
            owner_agency="send",
            recipient_agency="transport",
            data_classes=(DataClass.STORY,),
            purpose=Purpose.TRANSPORT_PLANNING,
            reason="not needed for transport",
            recorded_by="send-user-1",
            recorded_by_agency="send",
            recorded_at=NOW,
        )
    )
    again = DeciderSpec(REFUSAL).given(*decision.events).when(record_refusal(refusal_id), NOW)
    again.then_raises(AlreadyRecorded)
    unknown = DeciderSpec(REFUSAL).when(record_refusal(uuid4(), recipient_agency="mi5"), NOW)
    refused = unknown.then_raises(ConsentRefused)
    assert isinstance(refused, ConsentRefused)
    assert [issue.field for issue in refused.issues] == ["recipient_agency"]


@pytest.mark.parametrize("decider", [CONSENT, OVERRIDE, DUTY, REFUSAL])
def test_a_stream_must_start_with_its_creation_event(decider: Any) -> None:
    withdrawn = (
        DeciderSpec(CONSENT)
        .given(given(uuid4()))
        .when(WithdrawConsent(CASEWORKER, None), NOW)
        .events
    )
    with pytest.raises(ValueError, match="unexpected"):
        DeciderSpec(decider).given(*withdrawn).state()
