"""New events obey the rule; recorded ones stay readable, made safe, never rewritten."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from oneplan_events.catalogue import Catalogue, DataClass, Event
from oneplan_events.types import (
    RECORDED_EVENT_CONTEXT,
    BoundedDateTime,
    LongText,
    Name,
    NotFutureDate,
    validating_on,
)

CATALOGUE = Catalogue("typestest")


@CATALOGUE.register("oneplan.typestest.person.registered", DataClass.IDENTITY, summary="A test.")
class ChildRegistered(Event):
    """A registration shaped like a service's, with the shared text types."""

    child_id: uuid.UUID
    given_name: Name
    family_name: Name
    gender: Name | None = None


def registered(**names: Any) -> dict[str, Any]:
    return {"child_id": str(uuid.uuid4()), "given_name": "Alex", "family_name": "Example", **names}


def test_a_new_event_obeys_the_rule() -> None:
    with pytest.raises(ValidationError) as caught:
        ChildRegistered.model_validate(registered(given_name="Al\x00ex", family_name="<b>E</b>"))
    assert {e["type"] for e in caught.value.errors()} == {"text_control_character", "text_markup"}


def test_a_recorded_event_holding_what_an_older_rule_let_through_still_decodes() -> None:
    # SQLite stored NULs, and both databases stored other control characters, before the rule.
    stored = registered(given_name="Al\x00ex", family_name="Ex\x1bample\r\n", gender="\ud800")
    event = CATALOGUE.decode("oneplan.typestest.person.registered", 1, stored)
    assert isinstance(event, ChildRegistered)
    assert event.given_name == "Al\ufffdex"
    assert event.family_name == "Ex\ufffdample"
    assert event.gender == "\ufffd"
    assert stored["given_name"] == "Al\x00ex"  # the stored data is never touched


def test_recorded_markup_and_dates_are_read_as_recorded() -> None:
    catalogue = Catalogue()

    @catalogue.register("oneplan.testing.note.written", DataClass.STORY, summary="A note.")
    class NoteWritten(Event):
        text: LongText
        on: NotFutureDate
        at: BoundedDateTime

    stored = {"text": "<b>bold</b>", "on": "2999-01-01", "at": "2024-06-01T10:00:00+01:00"}
    with validating_on(date(2020, 1, 1)):
        event = catalogue.decode("oneplan.testing.note.written", 1, stored)
        with pytest.raises(ValidationError):
            NoteWritten.model_validate(stored)
    assert isinstance(event, NoteWritten)
    assert event.text == "<b>bold</b>"
    assert event.on == date(2999, 1, 1)
    assert event.at.isoformat() == "2024-06-01T09:00:00+00:00"


def test_lengths_are_still_enforced_on_read() -> None:
    with pytest.raises(ValidationError):
        ChildRegistered.model_validate(
            registered(given_name="x" * 101), context=RECORDED_EVENT_CONTEXT
        )
