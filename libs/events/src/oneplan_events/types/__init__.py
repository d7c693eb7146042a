"""The shared vocabulary of input: free text, dates and times, one rule in every service.

Use these types in API input models (bodies, query and path parameters) and in event
payloads; the rule is then the same everywhere, and pydantic reports every field's fault in
one error list. The semantics are in ``docs/validation.md``; in short:

- Text (:data:`Name` <= 100, :data:`ShortText` <= 200, :data:`LongText` <= 4000 characters,
  ``Annotated[str, PlainText(max_length=n)]`` for any other bound): CRLF/CR become LF; control
  characters but tab and newline, line/paragraph separators, bidirectional controls, unpaired
  surrogates and noncharacters are refused; surrounding whitespace is stripped; empty text is
  refused; markup is refused.
- Dates (:data:`BoundedDate`, :data:`NotFutureDate`): 1900-01-01 to 2199-12-31.
- Datetimes (:data:`BoundedDateTime`, :data:`NotFutureDateTime`): aware only, normalised to
  UTC, 1900-01-01T00:00:00Z to 2199-12-31T23:59:59.999999Z.
- "Not in the future" compares with :func:`validation_today` / :func:`validation_now`, which a
  service sets per request (the kit does) with :func:`validating_at` or :func:`validating_on`.
- Reading a recorded event (``RECORDED_EVENT_CONTEXT``, passed by ``Catalogue.decode``) never
  refuses a value for its content.
"""

from oneplan_events.types._recorded import RECORDED_EVENT_CONTEXT, is_recorded
from oneplan_events.types._text import (
    IDENTIFIER_PATTERN,
    REPLACEMENT_CHARACTER,
    AgencyName,
    LongText,
    Name,
    PlainText,
    ShortText,
    refuse_markup,
    refuse_unsafe_characters,
    replace_unsafe_characters,
)
from oneplan_events.types._time import (
    EARLIEST_DATE,
    EARLIEST_DATETIME,
    FUTURE_TOLERANCE,
    LATEST_DATE,
    LATEST_DATETIME,
    LOCAL_ZONE,
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

__all__ = [
    "EARLIEST_DATE",
    "EARLIEST_DATETIME",
    "FUTURE_TOLERANCE",
    "IDENTIFIER_PATTERN",
    "LATEST_DATE",
    "LATEST_DATETIME",
    "LOCAL_ZONE",
    "RECORDED_EVENT_CONTEXT",
    "REPLACEMENT_CHARACTER",
    "AgencyName",
    "BoundedDate",
    "BoundedDateTime",
    "LongText",
    "Name",
    "NotFutureDate",
    "NotFutureDateTime",
    "PlainText",
    "ShortText",
    "is_recorded",
    "refuse_markup",
    "refuse_unsafe_characters",
    "replace_unsafe_characters",
    "to_utc",
    "validating_at",
    "validating_on",
    "validation_now",
    "validation_today",
]
