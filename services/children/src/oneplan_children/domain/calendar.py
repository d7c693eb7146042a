"""Age facts in the English school system, all computed from a date passed in, never the clock.

Year groups follow the DfE rule that children born between 1 September and the following
31 August share a year group: a child who is 4 by 31 August starts reception on 1 September
(so a 1 September birthday is the oldest of its year, a 31 August birthday the youngest).
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

__all__ = [
    "KeyStage",
    "age_on",
    "compulsory_school_age_ends_on",
    "key_stage",
    "over_compulsory_school_age",
    "school_year",
    "school_year_label",
    "school_year_starting",
]

_RECEPTION_AGE = 4
_LAST_YEAR_GROUP = 13
_FRIDAY = 4


class KeyStage(StrEnum):
    """National Curriculum stages (EYFS covers birth to the end of reception)."""

    EYFS = "EYFS"
    KS1 = "KS1"
    KS2 = "KS2"
    KS3 = "KS3"
    KS4 = "KS4"
    KS5 = "KS5"


def age_on(date_of_birth: date, on: date) -> int:
    """Completed years on `on`; a 29 February birthday is reached on 1 March in common years."""
    before_birthday = (on.month, on.day) < (date_of_birth.month, date_of_birth.day)
    return on.year - date_of_birth.year - int(before_birthday)


def school_year_starting(on: date) -> int:
    """The calendar year in which the school year containing `on` began (1 September)."""
    return on.year if on.month >= 9 else on.year - 1


def _national_curriculum_year(date_of_birth: date, on: date) -> int:
    # Age on the 31 August before the school year starts decides the year group.
    eve_of_year = date(school_year_starting(on), 8, 31)
    return age_on(date_of_birth, eve_of_year) - _RECEPTION_AGE


def school_year(date_of_birth: date, on: date) -> int | None:
    """Year group on `on`: 0 for reception, 1-13 for Years 1-13, None outside school years."""
    year = _national_curriculum_year(date_of_birth, on)
    return year if 0 <= year <= _LAST_YEAR_GROUP else None


def school_year_label(date_of_birth: date, on: date) -> str | None:
    """'Reception', 'Year 1' ... 'Year 13', or None outside school years."""
    year = school_year(date_of_birth, on)
    if year is None:
        return None
    return "Reception" if year == 0 else f"Year {year}"


def key_stage(date_of_birth: date, on: date) -> KeyStage | None:
    """Key stage on `on`; EYFS before Year 1, None after Year 13."""
    year = _national_curriculum_year(date_of_birth, on)
    if year > _LAST_YEAR_GROUP:
        return None
    if year <= 0:
        return KeyStage.EYFS
    for stage, last_year in (
        (KeyStage.KS1, 2),
        (KeyStage.KS2, 6),
        (KeyStage.KS3, 9),
        (KeyStage.KS4, 11),
    ):
        if year <= last_year:
            return stage
    return KeyStage.KS5


def _last_friday_in_june(year: int) -> date:
    last_day = date(year, 6, 30)
    return last_day - timedelta(days=(last_day.weekday() - _FRIDAY) % 7)


def compulsory_school_age_ends_on(date_of_birth: date) -> date:
    """The last Friday in June of the school year in which the child turns 16."""
    sixteenth_year_start = school_year_starting(_sixteenth_birthday(date_of_birth))
    return _last_friday_in_june(sixteenth_year_start + 1)


def _sixteenth_birthday(date_of_birth: date) -> date:
    try:
        return date_of_birth.replace(year=date_of_birth.year + 16)
    except ValueError:  # 29 February: 16 years on is a common year, reached on 1 March
        return date(date_of_birth.year + 16, 3, 1)


def over_compulsory_school_age(date_of_birth: date, on: date) -> bool:
    """True from the day after compulsory school age ends."""
    return on > compulsory_school_age_ends_on(date_of_birth)
