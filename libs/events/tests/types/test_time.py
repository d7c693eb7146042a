"""Dates and datetimes: the documented range, UTC normalisation, naive refusals, not-future."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from oneplan_events.types import (
    EARLIEST_DATE,
    EARLIEST_DATETIME,
    FUTURE_TOLERANCE,
    LATEST_DATE,
    LATEST_DATETIME,
    BoundedDate,
    BoundedDateTime,
    NotFutureDate,
    NotFutureDateTime,
    to_utc,
    validating_at,
    validating_on,
    validation_now,
    validation_today,
)

DATE: TypeAdapter[date] = TypeAdapter(BoundedDate)
DATETIME: TypeAdapter[datetime] = TypeAdapter(BoundedDateTime)
PAST_DATE: TypeAdapter[date] = TypeAdapter(NotFutureDate)
PAST_DATETIME: TypeAdapter[datetime] = TypeAdapter(NotFutureDateTime)


def refusal(adapter: TypeAdapter[Any], value: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        adapter.validate_python(value)
    (error,) = caught.value.errors()
    return str(error["type"])


def test_the_range_is_documented_in_constants() -> None:
    assert (date(1900, 1, 1), date(2199, 12, 31)) == (EARLIEST_DATE, LATEST_DATE)
    assert datetime(1900, 1, 1, tzinfo=UTC) == EARLIEST_DATETIME
    assert datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC) == LATEST_DATETIME


def test_dates_inside_the_range_are_accepted_to_the_day() -> None:
    assert DATE.validate_python("1900-01-01") == date(1900, 1, 1)
    assert DATE.validate_python("2199-12-31") == date(2199, 12, 31)
    assert DATE.validate_python(date(2024, 2, 29)) == date(2024, 2, 29)


@pytest.mark.parametrize("value", ["1899-12-31", "2200-01-01", "0001-01-01", "9999-12-31"])
def test_dates_outside_the_range_are_refused(value: str) -> None:
    assert refusal(DATE, value) == "date_out_of_range"


def test_malformed_dates_are_refused_by_pydantic() -> None:
    for value in ("2024-02-30", "10000-01-01", "yesterday", ""):
        assert refusal(DATE, value).startswith("date_"), value


def test_datetimes_are_normalised_to_utc() -> None:
    parsed = DATETIME.validate_python("2024-06-01T09:30:00+01:00")
    assert parsed == datetime(2024, 6, 1, 8, 30, tzinfo=UTC)
    assert parsed.tzinfo is UTC
    assert DATETIME.validate_python("2024-06-01T09:30:00Z").tzinfo is UTC


def test_the_datetime_range_is_checked_on_the_utc_instant() -> None:
    assert DATETIME.validate_python("1900-01-01T00:00:00Z") == EARLIEST_DATETIME
    assert DATETIME.validate_python("1900-01-01T01:00:00+01:00") == EARLIEST_DATETIME
    assert DATETIME.validate_python("2199-12-31T23:59:59.999999Z") == LATEST_DATETIME
    assert refusal(DATETIME, "1899-12-31T23:59:59.999999Z") == "datetime_out_of_range"
    assert refusal(DATETIME, "1900-01-01T00:30:00+01:00") == "datetime_out_of_range"
    assert refusal(DATETIME, "2200-01-01T00:00:00Z") == "datetime_out_of_range"
    assert refusal(DATETIME, "2199-12-31T23:30:00-01:00") == "datetime_out_of_range"


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59-23:59",  # overflows past datetime.max once in UTC
        "0001-01-01T00:00:00+23:59",  # overflows before datetime.min once in UTC
        "9999-12-31T23:59:59+23:59",
        "0001-01-01T00:00:00-23:59",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999Z",
    ],
)
def test_extreme_offsets_at_the_extremes_are_refused_never_overflow(value: str) -> None:
    assert refusal(DATETIME, value) == "datetime_out_of_range"
    assert refusal(PAST_DATETIME, value) == "datetime_out_of_range"


def test_naive_datetimes_are_refused_with_a_clear_message() -> None:
    for value in ("2024-06-01T09:30:00", datetime(2024, 6, 1, 9, 30), "2024-06-01"):
        with pytest.raises(ValidationError) as caught:
            DATETIME.validate_python(value)
        (error,) = caught.value.errors()
        assert error["type"] == "timezone_aware"
        assert "time zone is required" in error["msg"]


def test_to_utc_is_the_same_rule_as_a_function() -> None:
    assert to_utc(datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=-5)))) == datetime(
        2024, 1, 1, 5, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="time zone"):
        to_utc(datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="must be from"):
        to_utc(datetime.max.replace(tzinfo=timezone(-timedelta(hours=23, minutes=59))))


def test_the_json_schema_documents_the_range() -> None:
    class Window(BaseModel):
        on: BoundedDate
        at: BoundedDateTime
        born: NotFutureDate

    properties = Window.model_json_schema()["properties"]
    assert properties["on"] == {
        "format": "date",
        "formatMinimum": "1900-01-01",
        "formatMaximum": "2199-12-31",
        "title": "On",
        "type": "string",
    }
    assert properties["at"]["formatMinimum"] == "1900-01-01T00:00:00Z"
    assert properties["at"]["formatMaximum"] == "2199-12-31T23:59:59.999999Z"
    assert "formatMaximum" not in properties["born"]


def test_not_future_dates_compare_with_the_day_set() -> None:
    with validating_on(date(2025, 3, 1)):
        assert validation_today() == date(2025, 3, 1)
        assert PAST_DATE.validate_python("2025-03-01") == date(2025, 3, 1)
        assert PAST_DATE.validate_python("1900-01-01") == date(1900, 1, 1)
        assert refusal(PAST_DATE, "2025-03-02") == "date_in_future"
        assert refusal(PAST_DATE, "1899-12-31") == "date_out_of_range"


def test_under_a_day_alone_not_future_datetimes_may_be_any_time_that_day() -> None:
    with validating_on(date(2025, 7, 1)):  # BST: the day ends at 23:00 UTC
        assert validation_now() == datetime(2025, 7, 1, 22, 59, 59, 999999, tzinfo=UTC)
        assert PAST_DATETIME.validate_python("2025-07-01T23:59:00+01:00")
        assert refusal(PAST_DATETIME, "2025-07-01T23:10:00Z") == "datetime_in_future"


def test_not_future_datetimes_allow_the_clock_tolerance() -> None:
    now = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
    with validating_at(now):
        assert validation_now() == now
        assert PAST_DATETIME.validate_python(now + FUTURE_TOLERANCE) == now + FUTURE_TOLERANCE
        late = now + FUTURE_TOLERANCE + timedelta(microseconds=1)
        assert refusal(PAST_DATETIME, late) == "datetime_in_future"
        assert refusal(PAST_DATETIME, "2025-01-15T12:00:00") == "timezone_aware"


def test_the_day_of_an_instant_is_the_day_in_london() -> None:
    # 23:30 UTC on 30 June is 00:30 BST on 1 July; in winter London is on UTC.
    with validating_at(datetime(2025, 6, 30, 23, 30, tzinfo=UTC)):
        assert validation_today() == date(2025, 7, 1)
        assert PAST_DATE.validate_python("2025-07-01")
    with validating_at(datetime(2025, 12, 31, 23, 30, tzinfo=UTC)):
        assert validation_today() == date(2025, 12, 31)
    with pytest.raises(ValueError, match="aware"), validating_at(datetime(2025, 1, 1)):
        pass


def test_without_a_setting_the_wall_clock_is_used() -> None:
    before = datetime.now(UTC)
    assert before - timedelta(seconds=5) <= validation_now() <= datetime.now(UTC)
    assert abs(validation_today() - before.date()) <= timedelta(days=1)
    assert refusal(PAST_DATE, date.today() + timedelta(days=2)) == "date_in_future"


def test_settings_nest_and_are_restored() -> None:
    with validating_on(date(2020, 1, 1)):
        with validating_on(date(2010, 1, 1)):
            assert validation_today() == date(2010, 1, 1)
        assert validation_today() == date(2020, 1, 1)
    assert validation_today() != date(2020, 1, 1)


async def test_each_task_sees_its_own_day() -> None:
    async def today_in(day: date) -> date:
        with validating_on(day):
            await asyncio.sleep(0.01)
            return validation_today()

    days = [date(2020, 1, d) for d in range(1, 6)]
    assert await asyncio.gather(*(today_in(d) for d in days)) == days
