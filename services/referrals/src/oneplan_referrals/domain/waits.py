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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from uuid import UUID

from oneplan_referrals.domain.referral import AppointmentStatus, Referral

__all__ = [
    "BANDS",
    "EIGHTEEN_WEEKS",
    "WARNING",
    "ClockStatus",
    "Wait",
    "WaitingFigures",
    "booked_dates",
    "first_seen_on",
    "wait_of",
    "wait_on",
    "waiting_figures",
]

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


def first_seen_on(referral: Referral) -> date | None:
    """The day of the referral's first attended appointment (None: not seen)."""
    attended = [
        a.appointment_on for a in referral.appointments if a.status is AppointmentStatus.ATTENDED
    ]
    return min(attended) if attended else None


def booked_dates(referral: Referral) -> list[date]:
    """The days of the appointments still booked, in order."""
    return sorted(
        a.appointment_on for a in referral.appointments if a.status is AppointmentStatus.BOOKED
    )


def wait_of(referral: Referral, today: date) -> Wait:
    """The referral's wait as it stands on ``today``."""
    return wait_on(
        today,
        referral.received_on,
        first_seen=first_seen_on(referral),
        booked=booked_dates(referral),
        is_open=referral.status.open,
        closed_on=referral.closed_on,
    )


def wait_on(
    today: date,
    received_on: date,
    *,
    first_seen: date | None,
    booked: Sequence[date],
    is_open: bool = True,
    closed_on: date | None = None,
) -> Wait:
    """The wait on ``today`` of a referral received on ``received_on``, first seen on
    ``first_seen``, with appointments still booked on ``booked`` (in order): what
    :func:`wait_of` computes from a referral, from the facts a read model keeps."""
    breach_on = received_on + EIGHTEEN_WEEKS
    upcoming = [on for on in booked if on >= today]
    next_on = upcoming[0] if upcoming else (booked[0] if booked else None)
    if first_seen is not None:
        status = ClockStatus.MET if first_seen <= breach_on else ClockStatus.BREACHED
        days = (first_seen - received_on).days
        return Wait(received_on, breach_on, first_seen, days, status, next_on)
    end = closed_on if not is_open and closed_on else today
    days = max((end - received_on).days, 0)
    if not is_open:
        status = ClockStatus.STOPPED
    elif today > breach_on:
        status = ClockStatus.BREACHED
    elif booked and booked[0] <= breach_on:
        status = ClockStatus.ON_TRACK
    elif booked or breach_on - today <= WARNING:
        status = ClockStatus.WILL_BREACH
    else:
        status = ClockStatus.WAITING
    return Wait(received_on, breach_on, None, days, status, next_on)


BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 5, "0-5"),
    (6, 11, "6-11"),
    (12, 17, "12-17"),
    (18, None, "18+"),
)
"""The waiting report's bands of completed weeks waiting: (from, to or None, label)."""


@dataclass(frozen=True)
class WaitingFigures:
    """The waiting report's figures on a day: the waiting list by band of completed weeks,
    the flagged ones (longest waiting first), and of the referrals first seen, how many
    within 18 weeks."""

    waiting: int
    bands: tuple[tuple[str, int], ...]
    flagged: tuple[UUID, ...]
    first_seen: int
    first_seen_within_18_weeks: int

    @property
    def percent_within_18_weeks(self) -> float | None:
        """The 18-week measure, to one decimal place (None before anyone was seen)."""
        if not self.first_seen:
            return None
        return round(100 * self.first_seen_within_18_weeks / self.first_seen, 1)


def band_of(weeks: int) -> str:
    """The label of the band ``weeks`` completed weeks falls in."""
    for low, high, label in BANDS:
        if weeks >= low and (high is None or weeks <= high):
            return label
    raise ValueError(f"no band for {weeks} weeks")


def waiting_figures(referrals: Iterable[Referral], today: date) -> WaitingFigures:
    """The waiting report of ``referrals`` on ``today``, by the rules above (the definition
    the read model's SQL is held to)."""
    counts = {label: 0 for _, _, label in BANDS}
    flagged: list[tuple[date, UUID]] = []
    seen = within = waiting = 0
    for referral in referrals:
        wait = wait_of(referral, today)
        if wait.first_seen_on is not None:
            seen += 1
            within += wait.status is ClockStatus.MET
        elif referral.status.open:
            waiting += 1
            counts[band_of(wait.weeks)] += 1
            if wait.flagged:
                flagged.append((referral.received_on, referral.referral_id))
    return WaitingFigures(
        waiting=waiting,
        bands=tuple((label, counts[label]) for _, _, label in BANDS),
        flagged=tuple(referral_id for _, referral_id in sorted(flagged)),
        first_seen=seen,
        first_seen_within_18_weeks=within,
    )
