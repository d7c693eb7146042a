"""Age, year group, key stage and compulsory school age, at their boundaries."""

from datetime import date

import pytest

from oneplan_children.domain.calendar import (
    KeyStage,
    age_on,
    compulsory_school_age_ends_on,
    key_stage,
    over_compulsory_school_age,
    school_year,
    school_year_label,
)


def test_age_counts_completed_years() -> None:
    assert age_on(date(2015, 5, 10), date(2025, 5, 9)) == 9
    assert age_on(date(2015, 5, 10), date(2025, 5, 10)) == 10


def test_leap_day_birthday_is_reached_on_first_of_march_in_common_years() -> None:
    assert age_on(date(2012, 2, 29), date(2025, 2, 28)) == 12
    assert age_on(date(2012, 2, 29), date(2025, 3, 1)) == 13


def test_31_august_and_1_september_birthdays_fall_in_different_year_groups() -> None:
    first_day = date(2024, 9, 1)
    assert school_year(date(2020, 8, 31), first_day) == 0  # youngest in reception
    assert school_year(date(2020, 9, 1), first_day) is None  # oldest of next year's intake
    assert school_year(date(2019, 9, 1), first_day) == 0  # oldest in reception
    assert school_year(date(2019, 8, 31), first_day) == 1
    assert school_year_label(date(2020, 8, 31), first_day) == "Reception"
    assert school_year_label(date(2019, 8, 31), first_day) == "Year 1"


def test_year_group_changes_on_1_september_not_on_the_birthday() -> None:
    born = date(2014, 3, 1)
    assert school_year(born, date(2025, 8, 31)) == 6
    assert school_year(born, date(2025, 9, 1)) == 7
    assert school_year(born, date(2026, 2, 28)) == 7


@pytest.mark.parametrize(
    ("year", "stage"),
    [
        (-1, KeyStage.EYFS),
        (0, KeyStage.EYFS),
        (1, KeyStage.KS1),
        (2, KeyStage.KS1),
        (3, KeyStage.KS2),
        (6, KeyStage.KS2),
        (7, KeyStage.KS3),
        (9, KeyStage.KS3),
        (10, KeyStage.KS4),
        (11, KeyStage.KS4),
        (12, KeyStage.KS5),
        (13, KeyStage.KS5),
        (14, None),
    ],
)
def test_key_stages(year: int, stage: KeyStage | None) -> None:
    on = date(2025, 10, 1)
    born = date(2021 - year, 1, 15)  # reception children are 4 on 31 August 2025
    assert key_stage(born, on) == stage


def test_year_13_is_the_last_school_year() -> None:
    on = date(2025, 10, 1)
    assert school_year(date(2008, 1, 15), on) == 13
    assert school_year(date(2007, 1, 15), on) is None


@pytest.mark.parametrize(
    ("born", "ends_on"),
    [
        # Turns 16 on 31 August 2026: school year 2025/26, last Friday in June 2026 is the 26th.
        (date(2010, 8, 31), date(2026, 6, 26)),
        # Turns 16 on 1 September 2026: school year 2026/27, last Friday in June 2027 is the 25th.
        (date(2010, 9, 1), date(2027, 6, 25)),
        # June 2029 ends on a Saturday: the last Friday is the 29th.
        (date(2013, 1, 1), date(2029, 6, 29)),
        # June 2028 ends on a Friday: the 30th itself.
        (date(2011, 12, 25), date(2028, 6, 30)),
        (date(2008, 2, 29), date(2024, 6, 28)),
    ],
)
def test_compulsory_school_age_ends_on_last_friday_in_june(born: date, ends_on: date) -> None:
    assert compulsory_school_age_ends_on(born) == ends_on
    assert ends_on.weekday() == 4


def test_over_compulsory_school_age_from_the_day_after_the_last_friday() -> None:
    born = date(2010, 8, 31)
    assert not over_compulsory_school_age(born, date(2026, 6, 26))
    assert over_compulsory_school_age(born, date(2026, 6, 27))
    assert not over_compulsory_school_age(date(2010, 9, 1), date(2026, 6, 27))
