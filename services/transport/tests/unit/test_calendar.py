"""England's working days: bank holidays as data, checked against the rules they follow."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from oneplan_transport.domain.calendar import (
    ENGLAND_BANK_HOLIDAYS,
    CalendarNotKnown,
    WorkingCalendar,
    add_working_days,
    working_days_between,
)


def easter_sunday(year: int) -> date:
    """The Gregorian computus (Anonymous Gregorian algorithm), independent of the data."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


@pytest.mark.parametrize("year", range(2024, 2029))
def test_each_year_has_eight_holidays_on_weekdays_with_easter_where_the_computus_says(
    year: int,
) -> None:
    days = sorted(day for day in ENGLAND_BANK_HOLIDAYS if day.year == year)
    assert len(days) == 8
    assert all(day.weekday() < 5 for day in days)
    easter = easter_sunday(year)
    assert easter - timedelta(days=2) in days  # Good Friday
    assert easter + timedelta(days=1) in days  # Easter Monday
    mondays = [day for day in days if day.month in (5, 8)]
    assert all(day.weekday() == 0 for day in mondays)
    assert len(mondays) == 3


def test_christmas_2026_substitutes_boxing_day_on_the_monday() -> None:
    # Friday 25 December is a holiday, Saturday 26 is a weekend, Monday 28 the substitute.
    assert working_days_between(date(2026, 12, 24), date(2026, 12, 29)) == 1
    assert add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)


def test_working_days_count_after_the_start_up_to_and_including_the_end() -> None:
    tuesday = date(2026, 9, 1)
    assert working_days_between(tuesday, tuesday) == 0
    assert working_days_between(tuesday, date(2026, 9, 2)) == 1
    assert working_days_between(tuesday, date(2026, 9, 14)) == 9
    assert working_days_between(date(2026, 9, 14), tuesday) == 0


def test_twenty_working_days_skip_weekends_and_the_august_bank_holiday() -> None:
    # From Friday 14 August 2026: 20 weekdays would be 11 September; 31 August is a holiday.
    assert add_working_days(date(2026, 8, 14), 20) == date(2026, 9, 14)


def test_a_year_the_calendar_does_not_hold_is_refused_not_guessed() -> None:
    with pytest.raises(CalendarNotKnown, match="2029"):
        working_days_between(date(2028, 12, 20), date(2029, 1, 5))
    with pytest.raises(CalendarNotKnown):
        WorkingCalendar([]).is_working_day(date(2026, 1, 5))
