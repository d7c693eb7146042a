"""The wait to a first appointment against 18 weeks: the boundary, did-not-attend,
cancellations, redirections keeping the received date, and the flags."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date, timedelta
from uuid import UUID, uuid4

from oneplan_referrals.domain.referral import (
    Appointment,
    AppointmentStatus,
    Referral,
    ReferralStatus,
)
from oneplan_referrals.domain.waits import (
    ClockStatus,
    booked_dates,
    first_seen_on,
    wait_of,
    wait_on,
)
from oneplan_referrals.events import CancelledBy, Urgency

RECEIVED = date(2026, 1, 5)
BREACH = RECEIVED + timedelta(weeks=18)
RISE = UUID("3f2b8a10-4c1e-4f7a-9b61-0c5d2e7a1001")
SALT = UUID("3f2b8a10-4c1e-4f7a-9b61-0c5d2e7a1003")


def referral(*appointments: Appointment, **changes: object) -> Referral:
    base = Referral(
        referral_id=uuid4(),
        child_id=uuid4(),
        service_id=RISE,
        referrer_agency="school",
        urgency=Urgency.ROUTINE,
        received_on=RECEIVED,
        status=ReferralStatus.ACCEPTED,
        accepted_on=RECEIVED,
        appointments=appointments,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def appointment(on: date, status: AppointmentStatus = AppointmentStatus.BOOKED) -> Appointment:
    cancelled_by = CancelledBy.FAMILY if status is AppointmentStatus.CANCELLED else None
    return Appointment(uuid4(), RECEIVED, on, status, cancelled_by)


def test_the_breach_date_is_18_weeks_after_the_received_date() -> None:
    assert date(2026, 5, 11) == BREACH
    assert wait_of(referral(), RECEIVED).breach_on == BREACH


def test_seen_on_the_last_day_of_18_weeks_is_within() -> None:
    wait = wait_of(referral(appointment(BREACH, AppointmentStatus.ATTENDED)), date(2026, 6, 1))
    assert (wait.status, wait.days, wait.weeks) == (ClockStatus.MET, 126, 18)
    assert not wait.flagged


def test_seen_a_day_later_is_a_breach() -> None:
    late = BREACH + timedelta(days=1)
    wait = wait_of(referral(appointment(late, AppointmentStatus.ATTENDED)), date(2026, 6, 1))
    assert (wait.status, wait.days, wait.first_seen_on) == (ClockStatus.BREACHED, 127, late)


def test_still_waiting_on_the_breach_date_is_not_yet_a_breach_the_day_after_is() -> None:
    assert wait_of(referral(), BREACH).status is ClockStatus.WILL_BREACH
    wait = wait_of(referral(), BREACH + timedelta(days=1))
    assert (wait.status, wait.flagged, wait.days) == (ClockStatus.BREACHED, True, 127)


def test_a_did_not_attend_does_not_stop_the_clock() -> None:
    missed = appointment(date(2026, 2, 2), AppointmentStatus.DID_NOT_ATTEND)
    wait = wait_of(referral(missed), date(2026, 3, 2))
    assert wait.first_seen_on is None
    assert wait.days == (date(2026, 3, 2) - RECEIVED).days
    seen = appointment(date(2026, 3, 2), AppointmentStatus.ATTENDED)
    assert wait_of(referral(missed, seen), date(2026, 4, 1)).first_seen_on == date(2026, 3, 2)


def test_a_cancellation_by_either_side_does_not_stop_the_clock() -> None:
    cancelled = appointment(date(2026, 2, 2), AppointmentStatus.CANCELLED)
    wait = wait_of(referral(cancelled), date(2026, 2, 10))
    assert (wait.first_seen_on, wait.next_appointment_on) == (None, None)
    assert wait.status is ClockStatus.WAITING


def test_the_first_attended_appointment_counts_not_a_later_one() -> None:
    first = appointment(date(2026, 2, 2), AppointmentStatus.ATTENDED)
    later = appointment(date(2026, 6, 2), AppointmentStatus.ATTENDED)
    wait = wait_of(referral(later, first), date(2026, 7, 1))
    assert (wait.first_seen_on, wait.status) == (date(2026, 2, 2), ClockStatus.MET)


def test_a_redirected_referral_keeps_its_original_received_date() -> None:
    moved = referral(service_id=SALT, redirected_from=(RISE,))
    wait = wait_of(moved, date(2026, 3, 2))
    assert wait.received_on == RECEIVED
    assert wait.days == (date(2026, 3, 2) - RECEIVED).days


def test_a_booking_on_or_before_the_breach_date_is_on_track() -> None:
    wait = wait_of(referral(appointment(BREACH)), date(2026, 2, 1))
    assert (wait.status, wait.flagged, wait.next_appointment_on) == (
        ClockStatus.ON_TRACK,
        False,
        BREACH,
    )


def test_a_booking_only_after_the_breach_date_will_breach() -> None:
    wait = wait_of(referral(appointment(BREACH + timedelta(days=1))), date(2026, 2, 1))
    assert (wait.status, wait.flagged) == (ClockStatus.WILL_BREACH, True)


def test_nothing_booked_will_breach_within_six_weeks_of_the_breach_date() -> None:
    assert wait_of(referral(), BREACH - timedelta(weeks=6, days=1)).status is ClockStatus.WAITING
    assert wait_of(referral(), BREACH - timedelta(weeks=6)).status is ClockStatus.WILL_BREACH


def test_a_referral_closed_without_being_seen_stops() -> None:
    closed = referral(status=ReferralStatus.DECLINED, closed_on=date(2026, 1, 9))
    wait = wait_of(closed, date(2026, 9, 1))
    assert (wait.status, wait.days, wait.flagged) == (ClockStatus.STOPPED, 4, False)


def test_the_wait_from_a_read_models_columns_is_the_referrals_wait() -> None:
    """wait_on (what the worklist computes from columns) against wait_of (from the whole
    referral), with two appointments of every outcome either side of the breach date."""
    days = [BREACH - timedelta(days=43), BREACH - timedelta(days=1), BREACH, BREACH + timedelta(1)]
    for today, first, second in itertools.product(days, days, days):
        for one, two in itertools.product(AppointmentStatus, repeat=2):
            waiting = referral(appointment(first, one), appointment(second, two))
            columns = wait_on(
                today,
                RECEIVED,
                first_seen=first_seen_on(waiting),
                booked=booked_dates(waiting),
            )
            assert columns == wait_of(waiting, today), (today, first, one, second, two)
