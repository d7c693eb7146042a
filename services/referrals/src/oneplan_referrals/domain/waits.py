"""The wait to a first appointment, against the 18-week measure the SEND & Inclusion Board
watches ("% of referrals to Rise with a first appointment within 18 weeks").

Rules (pure; `today` is an argument, never the wall clock):

- The clock starts on the day the referral was **received** and stops on the day of the
  **first attended** appointment. A redirection to another service keeps the original
  received date: the family has been waiting since then.
- A did-not-attend, or a cancellation by either side, does not stop the clock: the child has
  not been seen. (The NHS referral-to-treatment rules let a clinician restart a clock after a
  first-appointment DNA; this measure is the family's wait, so it does not.)
- Within 18 weeks means seen on or before day 126 after the received date
  (`received_on + 18 weeks`, the breach date); seen later, or still waiting after it, is a
  breach.
- An open referral **will breach** when its only booked appointments are after its breach
  date, or when none is booked and the breach date is 6 weeks away or less (the time a
  service needs to offer one: `WARNING`); with none booked and more time left it is
  `waiting`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from oneplan_referrals.domain.referral import AppointmentStatus, Referral

__all__ = ["EIGHTEEN_WEEKS", "WARNING", "ClockStatus", "Wait", "wait_of"]

EIGHTEEN_WEEKS = timedelta(weeks=18)
WARNING = timedelta(weeks=6)


class ClockStatus(StrEnum):
    """Where a referral stands against the 18 weeks."""

    MET = "met"
    """First seen within 18 weeks."""
    BREACHED = "breached"
    """First seen after 18 weeks, or still waiting past the breach date."""
    ON_TRACK = "on_track"
    """Waiting, with an appointment booked on or before the breach date."""
    WAITING = "waiting"
    """Waiting, nothing booked yet, more than 6 weeks before the breach date."""
    WILL_BREACH = "will_breach"
    """Waiting, with no appointment booked on or before the breach date, and either one
    booked after it or 6 weeks or less left."""
    STOPPED = "stopped"
    """Closed without being seen (declined, or discharged before a first appointment)."""


@dataclass(frozen=True)
class Wait:
    """A referral's wait on a given day."""

    received_on: date
    breach_on: date
    first_seen_on: date | None
    days: int
    status: ClockStatus
    next_appointment_on: date | None

    @property
    def weeks(self) -> int:
        """Completed weeks waited (the worklist's bands: 0-1 weeks is week 0)."""
        return self.days // 7

    @property
    def flagged(self) -> bool:
        """Whether the worklist flags it: breached or about to."""
        return self.status in (ClockStatus.BREACHED, ClockStatus.WILL_BREACH)


def wait_of(referral: Referral, today: date) -> Wait:
    """The referral's wait as it stands on ``today``."""
    breach_on = referral.received_on + EIGHTEEN_WEEKS
    attended = [
        a.appointment_on for a in referral.appointments if a.status is AppointmentStatus.ATTENDED
    ]
    booked = sorted(
        a.appointment_on for a in referral.appointments if a.status is AppointmentStatus.BOOKED
    )
    upcoming = [on for on in booked if on >= today]
    next_on = upcoming[0] if upcoming else (booked[0] if booked else None)
    if attended:
        seen = min(attended)
        status = ClockStatus.MET if seen <= breach_on else ClockStatus.BREACHED
        return Wait(
            referral.received_on,
            breach_on,
            seen,
            (seen - referral.received_on).days,
            status,
            next_on,
        )
    end = referral.closed_on if not referral.status.open and referral.closed_on else today
    days = max((end - referral.received_on).days, 0)
    if not referral.status.open:
        status = ClockStatus.STOPPED
    elif today > breach_on:
        status = ClockStatus.BREACHED
    elif any(on <= breach_on for on in booked):
        status = ClockStatus.ON_TRACK
    elif booked or breach_on - today <= WARNING:
        status = ClockStatus.WILL_BREACH
    else:
        status = ClockStatus.WAITING
    return Wait(referral.received_on, breach_on, None, days, status, next_on)
