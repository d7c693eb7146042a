"""Unit tests of SharingState: each basis, its period, and what ends it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from sharing_factories import T0, consent_given, duty_recorded, envelope_of, override_recorded

from oneplan_events.catalogue import DataClass
from oneplan_events.envelope import Envelope
from oneplan_sharing import Decision, DecisionRequest, Purpose, SharingState
from oneplan_sharing.facts import (
    ConsentExpiry,
    ConsentWithdrawal,
    DutyEnd,
    OverrideEnd,
)

CHILD = uuid4()


def ask(
    state: SharingState,
    *,
    owner: str = "send",
    recipient: str = "health",
    data_class: DataClass = DataClass.STORY,
    purpose: Purpose = Purpose.HEALTH_CARE,
    at: datetime = T0 + timedelta(days=1),
    child=CHILD,
) -> Decision:
    return state.decide(DecisionRequest(child, owner, recipient, data_class, purpose, at))


def test_own_data_is_always_permitted() -> None:
    decision = ask(SharingState(), owner="health", recipient="health")
    assert decision == Decision(permit=True, basis="own_data")


def test_unknown_child_is_denied_with_a_reason() -> None:
    decision = ask(SharingState())
    assert not decision.permit
    assert decision.reason == "no consent, override or duty for this child"


def test_consent_permits_exactly_what_it_covers() -> None:
    state = SharingState()
    given = consent_given(CHILD)
    state.apply(given)
    assert ask(state) == Decision(permit=True, basis="consent", reference=given.consent_id)
    assert not ask(state, recipient="transport").permit
    assert not ask(state, data_class=DataClass.HEALTH).permit
    assert not ask(state, purpose=Purpose.REVIEW).permit
    assert not ask(state, owner="school").permit
    assert not ask(state, child=uuid4()).permit


def test_consent_period_is_half_open() -> None:
    state = SharingState()
    given = consent_given(CHILD, valid_until=T0 + timedelta(days=10))
    state.apply(given)
    assert ask(state, at=T0).permit
    assert not ask(state, at=T0 - timedelta(seconds=1)).permit
    assert not ask(state, at=T0 + timedelta(days=10)).permit
    denied = ask(state, at=T0 + timedelta(days=11))
    assert denied.reason is not None
    assert "not in force at the requested time" in denied.reason


def test_withdrawal_and_expiry_stop_all_sharing_under_that_consent() -> None:
    for ending in (ConsentWithdrawal, ConsentExpiry):
        state = SharingState()
        given = consent_given(CHILD)
        state.apply(given)
        at = T0 + timedelta(hours=1)
        if ending is ConsentWithdrawal:
            state.apply(
                ConsentWithdrawal(
                    consent_id=given.consent_id, child_id=CHILD, withdrawn_at=at, withdrawn_by="p"
                )
            )
        else:
            state.apply(ConsentExpiry(consent_id=given.consent_id, child_id=CHILD, expired_at=at))
        assert not ask(state).permit


def test_another_consent_still_permits_after_one_is_withdrawn() -> None:
    state = SharingState()
    first, second = consent_given(CHILD), consent_given(CHILD)
    state.apply_all([first, second])
    state.apply(
        ConsentWithdrawal(
            consent_id=first.consent_id, child_id=CHILD, withdrawn_at=T0, withdrawn_by="p"
        )
    )
    assert ask(state) == Decision(permit=True, basis="consent", reference=second.consent_id)


def test_override_covers_its_recipients_and_data_classes_from_any_owner() -> None:
    state = SharingState()
    override = override_recorded(CHILD)
    state.apply(override)
    for owner in ("health", "school"):
        decision = ask(state, owner=owner, recipient="social_care", data_class=DataClass.HEALTH)
        assert decision == Decision(permit=True, basis="override", reference=override.override_id)
    assert not ask(state, recipient="social_care", data_class=DataClass.STORY).permit
    assert not ask(
        state, recipient="social_care", data_class=DataClass.HEALTH, at=T0 + timedelta(days=31)
    ).permit
    state.apply(
        OverrideEnd(
            override_id=override.override_id,
            child_id=CHILD,
            ended_by="lead",
            ended_at=T0,
            reason="enquiry closed",
        )
    )
    assert not ask(state, recipient="social_care", data_class=DataClass.HEALTH).permit


def test_statutory_duty_permits_until_ended() -> None:
    state = SharingState()
    duty = duty_recorded(CHILD)
    state.apply(duty)
    request = {
        "owner": "health",
        "recipient": "send",
        "data_class": DataClass.HEALTH,
        "purpose": Purpose.EHC_ASSESSMENT,
    }
    assert ask(state, **request) == Decision(  # type: ignore[arg-type]
        permit=True, basis="statutory_duty", reference=duty.duty_id
    )
    state.apply(
        DutyEnd(duty_id=duty.duty_id, child_id=CHILD, ended_by="lead", ended_at=T0, reason="done")
    )
    assert not ask(state, **request).permit  # type: ignore[arg-type]


def test_consent_is_preferred_to_override() -> None:
    state = SharingState()
    given = consent_given(CHILD, recipients=("social_care",), data_classes=(DataClass.HEALTH,))
    state.apply_all([override_recorded(CHILD), given])
    decision = ask(state, recipient="social_care", data_class=DataClass.HEALTH)
    assert decision.basis == "consent"


def test_apply_decodes_envelopes_and_ignores_unrelated_events() -> None:
    state = SharingState()
    given = consent_given(CHILD)
    state.apply(envelope_of(given))
    assert ask(state).permit
    unrelated = Envelope(
        id=str(uuid4()),
        source="/oneplan/consent",
        type="oneplan.consent.override.reviewed",
        time=datetime.now(UTC),
        data={"override_id": str(uuid4()), "child_id": str(CHILD), "outcome": "continue"},
        subject="override/x",
    )
    state.apply(unrelated)
    assert ask(state).permit


def test_ending_an_unknown_record_changes_nothing() -> None:
    state = SharingState()
    state.apply(ConsentExpiry(consent_id=uuid4(), child_id=CHILD, expired_at=T0))
    assert not ask(state).permit
