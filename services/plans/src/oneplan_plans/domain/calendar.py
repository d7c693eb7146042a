"""Date arithmetic the statutory clocks rest on, pure: every date is an argument.

Periods of weeks and days are exact (7 and 1 days). Months are calendar months: a period
ending on a day that does not exist in its month (31 April, 29 February in a common year)
ends on the last day of that month. Year groups follow the DfE rule (the age on the
31 August before the school year starts decides it), as the children service computes them;
this service learns only the date of birth from children events and computes the rest itself.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

__all__ = [
    "add_days",
    "add_months",
    "add_weeks",
    "age_on",
    "school_year",
    "school_year_starting",
]

_RECEPTION_AGE = 4
_LAST_YEAR_GROUP = 13


def add_days(start: date, days: int) -> date:
    """``start`` plus ``days`` days."""
    return start + timedelta(days=days)


def add_weeks(start: date, weeks: int) -> date:
    """``start`` plus ``weeks`` weeks: the same weekday, ``7 * weeks`` days later."""
    return start + timedelta(weeks=weeks)


def add_months(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months, ending on the month's last day when the
    same day number does not exist (31 January + 1 month = 28 or 29 February)."""
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(start.day, last_day))


def age_on(date_of_birth: date, on: date) -> int:
    """Completed years on ``on`` (a 29 February birthday is reached on 1 March in common
    years)."""
    before_birthday = (on.month, on.day) < (date_of_birth.month, date_of_birth.day)
    return on.year - date_of_birth.year - int(before_birthday)


def school_year_starting(on: date) -> int:
    """The calendar year in which the school year containing ``on`` began (1 September)."""
    return on.year if on.month >= 9 else on.year - 1


def school_year(date_of_birth: date, on: date) -> int | None:
    """Year group on ``on``: 0 for reception, 1-13 for Years 1-13, None outside them."""
    eve_of_year = date(school_year_starting(on), 8, 31)
    year = age_on(date_of_birth, eve_of_year) - _RECEPTION_AGE
    return year if 0 <= year <= _LAST_YEAR_GROUP else None
