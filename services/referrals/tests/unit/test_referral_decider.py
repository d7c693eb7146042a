"""The referral decider in given / when / then form: no database, no NATS."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from oneplan_referrals.domain.commands import (
    AcceptReferral,
    BookAppointment,
    CancelAppointment,
    DeclineReferral,
    DischargeReferral,
    ReceiveReferral,
    RecordAttendance,
    RecordDidNotAttend,
    RedirectReferral,
)
from oneplan_referrals.domain.errors import (
    AlreadyRecorded,
    AppointmentNotFound,
    InvalidInput,
    NotFound,
    WrongState,
)
from oneplan_referrals.domain.referral import REFERRAL, AppointmentStatus, ReferralStatus
from oneplan_referrals.events import (
    AppointmentAttended,
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentMissed,
    CancelledBy,
    DischargeOutcome,
    ReferralAccepted,
    ReferralDeclined,
    ReferralDischarged,
    ReferralReceived,
    ReferralRedirected,
    Urgency,
)
from oneplan_testkit.deciders import DEFAULT_NOW, DeciderSpec

REFERRAL_ID = UUID("7d4c1f3e-1111-4a57-9d55-1f3f7b1f0c11")
CHILD = UUID("0b6f3c1e-8d55-4a57-9d55-1f3f7b1f0c11")
RISE = UUID("3f2b8a10-4c1e-4f7a-9b61-0c5d2e7a1001")
SALT = UUID("3f2b8a10-4c1e-4f7a-9b61-0c5d2e7a1003")
APPOINTMENT = UUID("aa000000-0000-4000-8000-000000000001")
RECEIVED = date(2026, 1, 5)
IDS = {"referral_id": REFERRAL_ID, "child_id": CHILD}

received = ReferralReceived(
    **IDS,
    service_id=RISE,
    referrer_agency="school",
    urgency=Urgency.ROUTINE,
    received_on=RECEIVED,
    recorded_by="senco-1",
)
accepted = ReferralAccepted(**IDS, service_id=RISE, accepted_on=date(2026, 1, 12))
booked = AppointmentBooked(
    **IDS,
    appointment_id=APPOINTMENT,
    service_id=RISE,
    booked_on=date(2026, 1, 12),
    appointment_on=date(2026, 2, 2),
)


def test_a_referral_is_received() -> None:
    command = ReceiveReferral(
        REFERRAL_ID, CHILD, RISE, "school", Urgency.ROUTINE, RECEIVED, "senco-1"
    )
    DeciderSpec(REFERRAL).when(command).then(received)


def test_a_referral_is_received_once() -> None:
    command = ReceiveReferral(
        REFERRAL_ID, CHILD, RISE, "school", Urgency.ROUTINE, RECEIVED, "senco-1"
    )
    DeciderSpec(REFERRAL).given(received).when(command).then_raises(AlreadyRecorded)


def test_a_step_on_a_referral_never_received_is_not_found() -> None:
    DeciderSpec(REFERRAL).when(AcceptReferral(RECEIVED)).then_raises(NotFound)


def test_triage_accepts_redirects_and_declines() -> None:
    spec = DeciderSpec(REFERRAL).given(received)
    spec.when(AcceptReferral(date(2026, 1, 12))).then(accepted)
    spec.when(RedirectReferral(SALT, date(2026, 1, 9))).then(
        ReferralRedirected(
            **IDS, from_service_id=RISE, to_service_id=SALT, redirected_on=date(2026, 1, 9)
        )
    )
    spec.when(DeclineReferral(date(2026, 1, 9), (SALT,))).then(
        ReferralDeclined(
            **IDS, service_id=RISE, declined_on=date(2026, 1, 9), signposted_to=(SALT,)
        )
    )


def test_a_redirection_keeps_the_received_date_and_awaits_triage_again() -> None:
    redirected = ReferralRedirected(
        **IDS, from_service_id=RISE, to_service_id=SALT, redirected_on=date(2026, 1, 9)
    )
    state = (
        DeciderSpec(REFERRAL)
        .given(received, redirected)
        .when(AcceptReferral(date(2026, 1, 20)))
        .then_state()
    )
    assert state is not None
    assert (state.service_id, state.received_on, state.redirected_from) == (
        SALT,
        RECEIVED,
        (RISE,),
    )
    assert state.status is ReferralStatus.ACCEPTED


def test_a_redirection_to_the_same_service_is_refused() -> None:
    spec = DeciderSpec(REFERRAL).given(received)
    error = spec.when(RedirectReferral(RISE, date(2026, 1, 9))).then_raises(InvalidInput)
    assert isinstance(error, InvalidInput)
    assert error.field == "to_service_id"


def test_triage_happens_once() -> None:
    spec = DeciderSpec(REFERRAL).given(received, accepted)
    spec.when(DeclineReferral(date(2026, 1, 13))).then_raises(WrongState, match="accepted")


def test_triage_before_the_referral_was_received_is_refused() -> None:
    spec = DeciderSpec(REFERRAL).given(received)
    error = spec.when(AcceptReferral(date(2026, 1, 4))).then_raises(InvalidInput)
    assert isinstance(error, InvalidInput)
    assert error.field == "accepted_on"


def test_an_appointment_is_booked_only_once_accepted() -> None:
    command = BookAppointment(APPOINTMENT, date(2026, 1, 12), date(2026, 2, 2))
    DeciderSpec(REFERRAL).given(received).when(command).then_raises(WrongState)
    DeciderSpec(REFERRAL).given(received, accepted).when(command).then(booked)


def test_an_appointment_before_the_referral_was_received_is_refused() -> None:
    command = BookAppointment(APPOINTMENT, date(2026, 1, 12), date(2026, 1, 2))
    spec = DeciderSpec(REFERRAL).given(received, accepted)
    error = spec.when(command).then_raises(InvalidInput)
    assert isinstance(error, InvalidInput)
    assert error.field == "appointment_on"


def test_attendance_did_not_attend_and_cancellation() -> None:
    spec = DeciderSpec(REFERRAL).given(received, accepted, booked)
    spec.when(RecordAttendance(APPOINTMENT)).then(
        AppointmentAttended(**IDS, appointment_id=APPOINTMENT, attended_on=date(2026, 2, 2))
    )
    spec.when(RecordDidNotAttend(APPOINTMENT)).then(
        AppointmentMissed(**IDS, appointment_id=APPOINTMENT, missed_on=date(2026, 2, 2))
    )
    spec.when(CancelAppointment(APPOINTMENT, CancelledBy.FAMILY, date(2026, 1, 20))).then(
        AppointmentCancelled(
            **IDS,
            appointment_id=APPOINTMENT,
            cancelled_by=CancelledBy.FAMILY,
            cancelled_on=date(2026, 1, 20),
        )
    )


def test_an_appointment_in_the_future_cannot_be_attended_yet() -> None:
    later = booked.model_copy(update={"appointment_on": date(2026, 4, 1)})
    spec = DeciderSpec(REFERRAL).given(received, accepted, later)
    spec.when(RecordAttendance(APPOINTMENT), now=DEFAULT_NOW).then_raises(
        WrongState, match="not taken place"
    )


def test_what_happened_at_an_appointment_is_recorded_once() -> None:
    missed = AppointmentMissed(**IDS, appointment_id=APPOINTMENT, missed_on=date(2026, 2, 2))
    spec = DeciderSpec(REFERRAL).given(received, accepted, booked, missed)
    spec.when(RecordAttendance(APPOINTMENT)).then_raises(WrongState, match="did_not_attend")
    cancel = CancelAppointment(APPOINTMENT, CancelledBy.SERVICE, date(2026, 2, 1))
    spec.when(cancel).then_raises(WrongState, match="did_not_attend")


def test_an_unknown_appointment_is_not_found() -> None:
    other = UUID("aa000000-0000-4000-8000-000000000099")
    spec = DeciderSpec(REFERRAL).given(received, accepted, booked)
    spec.when(RecordAttendance(other)).then_raises(AppointmentNotFound)


def test_a_referral_never_accepted_cannot_be_discharged() -> None:
    command = DischargeReferral(date(2026, 3, 1), DischargeOutcome.TREATMENT_COMPLETED)
    DeciderSpec(REFERRAL).given(received).when(command).then_raises(WrongState, match="accepted")
    declined = ReferralDeclined(**IDS, service_id=RISE, declined_on=date(2026, 1, 9))
    DeciderSpec(REFERRAL).given(received, declined).when(command).then_raises(WrongState)


def test_an_accepted_referral_is_discharged_with_an_outcome() -> None:
    command = DischargeReferral(date(2026, 3, 1), DischargeOutcome.TREATMENT_COMPLETED)
    spec = DeciderSpec(REFERRAL).given(received, accepted, booked)
    spec.when(command).then(
        ReferralDischarged(
            **IDS,
            service_id=RISE,
            discharged_on=date(2026, 3, 1),
            outcome=DischargeOutcome.TREATMENT_COMPLETED,
        )
    )
    early = DischargeReferral(date(2026, 1, 10), DischargeOutcome.MOVED_AWAY)
    error = spec.when(early).then_raises(InvalidInput)
    assert isinstance(error, InvalidInput)
    assert error.field == "discharged_on"


def test_the_state_is_the_fold_of_the_events() -> None:
    attended = AppointmentAttended(**IDS, appointment_id=APPOINTMENT, attended_on=date(2026, 2, 2))
    spec = DeciderSpec(REFERRAL).given(received, accepted, booked, attended)
    state = spec.when(
        DischargeReferral(date(2026, 3, 1), DischargeOutcome.NO_FURTHER_INPUT_NEEDED)
    ).then_state()
    assert state is not None
    assert state.version == 5
    assert state.status is ReferralStatus.DISCHARGED
    assert [a.status for a in state.appointments] == [AppointmentStatus.ATTENDED]
