"""Dates and times with a documented range, and "not in the future" against one clock."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, GetJsonSchemaHandler, ValidationInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from oneplan_events.types._recorded import is_recorded

__all__ = [
    "EARLIEST_DATE",
    "EARLIEST_DATETIME",
    "FUTURE_TOLERANCE",
    "LATEST_DATE",
    "LATEST_DATETIME",
    "LOCAL_ZONE",
    "BoundedDate",
    "BoundedDateTime",
    "NotFutureDate",
    "NotFutureDateTime",
    "to_utc",
    "validating_at",
    "validating_on",
    "validation_now",
    "validation_today",
]

EARLIEST_DATE: Final = date(1900, 1, 1)
LATEST_DATE: Final = date(2199, 12, 31)
EARLIEST_DATETIME: Final = datetime.combine(EARLIEST_DATE, time.min, UTC)
LATEST_DATETIME: Final = datetime.combine(LATEST_DATE, time.max, UTC)
LOCAL_ZONE: Final = ZoneInfo("Europe/London")
"""Where "today" is: the SEND teams' statutory clocks count English calendar days."""
FUTURE_TOLERANCE: Final = timedelta(minutes=5)
"""How far past "now" a not-future datetime may be: the clocks of partners' systems drift."""


@dataclass(frozen=True, slots=True)
class _Moment:
    today: date
    now: datetime | None  # None: only a day was set


_moment: ContextVar[_Moment | None] = ContextVar("oneplan_validation_moment", default=None)


def validation_today() -> date:
    """The day input is validated on: the one set by :func:`validating_on` or
    :func:`validating_at`, else the wall clock's date in Europe/London."""
    moment = _moment.get()
    if moment is None:
        return datetime.now(LOCAL_ZONE).date()
    return moment.today


def validation_now() -> datetime:
    """The instant input is validated at (UTC): the one set by :func:`validating_at`; under
    :func:`validating_on` alone, the last instant of that day in Europe/London; else the wall
    clock."""
    moment = _moment.get()
    if moment is None:
        return datetime.now(UTC)
    if moment.now is not None:
        return moment.now
    next_day = datetime.combine(moment.today + timedelta(days=1), time.min, LOCAL_ZONE)
    return next_day.astimezone(UTC) - timedelta(microseconds=1)


@contextlib.contextmanager
def validating_on(today: date) -> Iterator[None]:
    """Validate on ``today`` inside the block (tests, batch imports that state their day)."""
    token = _moment.set(_Moment(today, None))
    try:
        yield
    finally:
        _moment.reset(token)


@contextlib.contextmanager
def validating_at(now: datetime) -> Iterator[None]:
    """Validate at the aware instant ``now`` (and on its date in Europe/London) inside the
    block; the kit wraps every request in it, reading the service's clock once."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("validating_at needs an aware datetime")
    token = _moment.set(_Moment(now.astimezone(LOCAL_ZONE).date(), now.astimezone(UTC)))
    try:
        yield
    finally:
        _moment.reset(token)


def to_utc(value: datetime) -> datetime:
    """An aware ``value`` in UTC, or a ``PydanticCustomError`` (a ValueError) when it is naive
    or outside EARLIEST_DATETIME..LATEST_DATETIME (never an OverflowError)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError(
            "timezone_aware",
            "a time zone is required: end the time with Z or an offset such as +01:00",
        )
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None  # within a day of datetime.min or max: far outside the range anyway
    if utc is None or not EARLIEST_DATETIME <= utc <= LATEST_DATETIME:
        raise PydanticCustomError(
            "datetime_out_of_range",
            "must be from {earliest} to {latest} (UTC)",
            {"earliest": _iso(EARLIEST_DATETIME), "latest": _iso(LATEST_DATETIME)},
        )
    return utc


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _refuse_date_outside(value: date, latest: date) -> None:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise PydanticCustomError(
            "date_out_of_range",
            "must be from {earliest} to {latest}",
            {"earliest": EARLIEST_DATE.isoformat(), "latest": LATEST_DATE.isoformat()},
        )
    if value > latest:
        raise PydanticCustomError(
            "date_in_future",
            "must not be after today ({today}, Europe/London)",
            {"today": latest.isoformat()},
        )


def _bounded_date(value: date, info: ValidationInfo) -> date:
    if not is_recorded(info):
        _refuse_date_outside(value, LATEST_DATE)
    return value


def _not_future_date(value: date, info: ValidationInfo) -> date:
    if not is_recorded(info):
        _refuse_date_outside(value, validation_today())
    return value


def _recorded_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC) if value.utcoffset() is not None else value
    except OverflowError:
        return value


def _bounded_datetime(value: datetime, info: ValidationInfo) -> datetime:
    return _recorded_utc(value) if is_recorded(info) else to_utc(value)


def _not_future_datetime(value: datetime, info: ValidationInfo) -> datetime:
    if is_recorded(info):
        return _recorded_utc(value)
    utc = to_utc(value)
    now = validation_now()
    if utc > now + FUTURE_TOLERANCE:
        raise PydanticCustomError(
            "datetime_in_future", "must not be later than now ({now})", {"now": _iso(now)}
        )
    return utc


@dataclass(frozen=True, slots=True)
class _Range:
    """Documents the range in the JSON Schema (``formatMinimum``/``formatMaximum``, the
    keywords ajv-formats and other validators know)."""

    earliest: str
    latest: str | None

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema: dict[str, Any] = handler(schema)
        json_schema["formatMinimum"] = self.earliest
        if self.latest is not None:
            json_schema["formatMaximum"] = self.latest
        return json_schema


BoundedDate = Annotated[
    date,
    AfterValidator(_bounded_date),
    _Range(EARLIEST_DATE.isoformat(), LATEST_DATE.isoformat()),
]
"""A date from 1900-01-01 to 2199-12-31 (``date_out_of_range`` otherwise)."""

NotFutureDate = Annotated[
    date, AfterValidator(_not_future_date), _Range(EARLIEST_DATE.isoformat(), None)
]
"""A date from 1900-01-01 to :func:`validation_today` (``date_in_future`` after it)."""

BoundedDateTime = Annotated[
    datetime,
    AfterValidator(_bounded_datetime),
    _Range(_iso(EARLIEST_DATETIME), _iso(LATEST_DATETIME)),
]
"""An aware datetime within 1900-01-01T00:00:00Z..2199-12-31T23:59:59.999999Z, in UTC.

A naive one is refused (``timezone_aware``): "09:00" means different instants in GMT and BST,
so the caller must say which. The range is checked on the UTC instant, so any offset pydantic
parses (up to +-23:59) is safe at the extremes (``datetime_out_of_range``, never an overflow).
"""

NotFutureDateTime = Annotated[
    datetime, AfterValidator(_not_future_datetime), _Range(_iso(EARLIEST_DATETIME), None)
]
"""A :data:`BoundedDateTime` no later than :func:`validation_now` plus FUTURE_TOLERANCE."""
