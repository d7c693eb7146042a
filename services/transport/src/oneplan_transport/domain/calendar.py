"""Working days in England: weekends and England's bank holidays (as data) are not working days.

The bank holidays are the published list for England and Wales (gov.uk/bank-holidays), kept
here as data because they are decided by proclamation, not by a rule (the coronation's extra
holiday in 2023, the early May holiday moved in 2020). Years outside the list are unknown:
counting across them raises :class:`CalendarNotKnown` rather than guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Final

__all__ = [
    "ENGLAND_BANK_HOLIDAYS",
    "CalendarNotKnown",
    "WorkingCalendar",
    "add_working_days",
    "working_days_between",
]

ENGLAND_BANK_HOLIDAYS: Final = frozenset(
    date.fromisoformat(day)
    for day in (
        # 2024
        "2024-01-01", "2024-03-29", "2024-04-01", "2024-05-06", "2024-05-27", "2024-08-26",
        "2024-12-25", "2024-12-26",
        # 2025
        "2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-08-25",
        "2025-12-25", "2025-12-26",
        # 2026 (Boxing Day is a Saturday: the substitute day is Monday 28 December)
        "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31",
        "2026-12-25", "2026-12-28",
        # 2027 (Christmas Day and Boxing Day fall at the weekend: Monday 27 and Tuesday 28)
        "2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30",
        "2027-12-27", "2027-12-28",
        # 2028 (New Year's Day is a Saturday: Monday 3 January)
        "2028-01-03", "2028-04-14", "2028-04-17", "2028-05-01", "2028-05-29", "2028-08-28",
        "2028-12-25", "2028-12-26",
    )
)  # fmt: skip
"""England and Wales bank holidays, 2024 to 2028."""


class CalendarNotKnown(ValueError):
    """A working-day count reaches a year whose bank holidays the calendar does not hold."""


class WorkingCalendar:
    """Working days: Monday to Friday, not a bank holiday, within the years known."""

    def __init__(self, holidays: Iterable[date] = ENGLAND_BANK_HOLIDAYS) -> None:
        self.holidays = frozenset(holidays)
        years = {day.year for day in self.holidays}
        self.first_year, self.last_year = (min(years), max(years)) if years else (0, -1)

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is a working day (CalendarNotKnown outside the years known)."""
        if not self.first_year <= day.year <= self.last_year:
            raise CalendarNotKnown(
                f"the bank holidays of {day.year} are not known (the calendar holds "
                f"{self.first_year} to {self.last_year})"
            )
        return day.weekday() < 5 and day not in self.holidays


ENGLAND: Final = WorkingCalendar()


def working_days_between(start: date, end: date, calendar: WorkingCalendar = ENGLAND) -> int:
    """Working days after `start` up to and including `end` (0 when `end` <= `start`)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += calendar.is_working_day(day)
    return count


def add_working_days(start: date, days: int, calendar: WorkingCalendar = ENGLAND) -> date:
    """The `days`-th working day after `start`."""
    day, left = start, days
    while left > 0:
        day += timedelta(days=1)
        left -= calendar.is_working_day(day)
    return day
