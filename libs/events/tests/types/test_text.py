"""The free-text rule: every refused class of code point, the bounds, stripping and markup."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from oneplan_events.types import (
    AgencyName,
    LongText,
    Name,
    PlainText,
    ShortText,
    refuse_markup,
    refuse_unsafe_characters,
    replace_unsafe_characters,
)

NAME: TypeAdapter[str] = TypeAdapter(Name)


def errors(adapter: TypeAdapter[Any], value: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        adapter.validate_python(value)
    return caught.value.errors()


def refusal(value: Any, adapter: TypeAdapter[Any] = NAME) -> str:
    (error,) = errors(adapter, value)
    return str(error["type"])


LONE_SURROGATE = json.loads('"\\ud800"')  # what a JSON body's "\ud800" decodes to

REFUSED = {
    "NUL": ("\x00", "text_control_character"),
    "backspace": ("\x08", "text_control_character"),
    "vertical tab": ("\x0b", "text_control_character"),
    "form feed": ("\x0c", "text_control_character"),
    "escape": ("\x1b", "text_control_character"),
    "unit separator": ("\x1f", "text_control_character"),
    "DEL": ("\x7f", "text_control_character"),
    "C1 start": ("\x80", "text_control_character"),
    "NEL": ("\x85", "text_control_character"),
    "C1 end": ("\x9f", "text_control_character"),
    "line separator": ("\u2028", "text_line_separator"),
    "paragraph separator": ("\u2029", "text_line_separator"),
    "left-to-right embedding": ("\u202a", "text_bidi_control"),
    "right-to-left override": ("\u202e", "text_bidi_control"),
    "left-to-right isolate": ("\u2066", "text_bidi_control"),
    "pop directional isolate": ("\u2069", "text_bidi_control"),
    "high surrogate": (LONE_SURROGATE, "text_unpaired_surrogate"),
    "low surrogate": ("\udfff", "text_unpaired_surrogate"),
    "noncharacter FDD0": ("\ufdd0", "text_noncharacter"),
    "noncharacter FDEF": ("\ufdef", "text_noncharacter"),
    "noncharacter FFFE": ("\ufffe", "text_noncharacter"),
    "noncharacter FFFF": ("\uffff", "text_noncharacter"),
    "noncharacter 1FFFE": ("\U0001fffe", "text_noncharacter"),
    "noncharacter 10FFFF": ("\U0010ffff", "text_noncharacter"),
}


@pytest.mark.parametrize(("character", "error_type"), REFUSED.values(), ids=REFUSED.keys())
def test_every_unsafe_code_point_is_refused_wherever_it_is(character: str, error_type: str) -> None:
    for value in (f"Ann{character}a", f"{character}Anna", f"Anna{character}", f" {character} x"):
        assert refusal(value) == error_type, repr(value)


ALLOWED = {
    "tab": "a\tb",
    "newline": "a\nb",
    "left-to-right mark": "\u200eabc",
    "right-to-left mark": "\u05e9\u05dc\u05d5\u05dd\u200f",
    "Arabic letter mark": "\u061c\u0633\u0627\u0631\u0629",
    "zero width joiner (emoji)": "\U0001f469\u200d\U0001f467",
    "zero width non-joiner (Persian)": "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
    "astral characters": "\U0001f682 trains",
    "combining accents": "Zoe\u0308",
    "private use": "\ue000",
    "replacement character": "\ufffd",
    "a plain less-than": "scores < 5, I <3 trains",
    "Welsh": "Ll\u0177r ap Gwyn",
}


@pytest.mark.parametrize("value", ALLOWED.values(), ids=ALLOWED.keys())
def test_ordinary_text_in_any_script_is_accepted(value: str) -> None:
    assert NAME.validate_python(value) == value


def test_the_message_names_the_code_point_and_position_but_never_quotes_the_value() -> None:
    (error,) = errors(NAME, "secret\x00rest")
    assert error["msg"] == "U+0000 at character 7 is not accepted: it is a control character"
    assert "secret" not in error["msg"]


def test_line_endings_become_newlines_before_the_rule() -> None:
    assert NAME.validate_python("one\r\ntwo\rthree\n") == "one\ntwo\nthree"
    assert TypeAdapter(Annotated[str, PlainText(max_length=7)]).validate_python("a\r\nb\r\nc\r\nd")


def test_surrounding_whitespace_is_stripped_and_blank_text_refused() -> None:
    assert NAME.validate_python("  \t Anna Smith \n ") == "Anna Smith"
    for blank in ("", " ", "\t\n", "\r\n", "\u00a0\u3000"):
        assert refusal(blank) == "string_too_short", repr(blank)


@pytest.mark.parametrize(("text_type", "bound"), [(Name, 100), (ShortText, 200), (LongText, 4000)])
def test_each_bound_is_exact_and_counts_characters_after_stripping(
    text_type: Any, bound: int
) -> None:
    adapter: TypeAdapter[str] = TypeAdapter(text_type)
    assert adapter.validate_python("é" * bound) == "é" * bound
    assert adapter.validate_python(f"  {'x' * bound}  ") == "x" * bound
    assert adapter.validate_python("\U0001f600" * bound) == "\U0001f600" * bound
    assert refusal("x" * (bound + 1), adapter) == "string_too_long"
    assert adapter.json_schema() == {"type": "string", "minLength": 1, "maxLength": bound}


def test_a_huge_value_is_refused_by_length_without_quoting_it() -> None:
    (error,) = errors(NAME, "A" * 1_000_000)
    assert error["type"] == "string_too_long"
    assert len(error["msg"]) < 100


def test_plain_text_takes_any_bounds() -> None:
    code: TypeAdapter[str] = TypeAdapter(Annotated[str, PlainText(max_length=3, min_length=2)])
    assert code.validate_python(" ab ") == "ab"
    assert refusal("a", code) == "string_too_short"
    assert refusal("abcd", code) == "string_too_long"
    optional: TypeAdapter[str] = TypeAdapter(Annotated[str, PlainText(max_length=5, min_length=0)])
    assert optional.validate_python("  ") == ""
    with pytest.raises(ValueError, match="min_length"):
        PlainText(max_length=1, min_length=2)


@pytest.mark.parametrize(
    "value",
    [
        "<script>alert(1)</script>",
        "< b>bold",
        "</p>",
        "<!-- note -->",
        "<?xml version='1.0'?>",
        "<img src=x onerror=alert(1)>",
        "see JavaScript : alert(1)",
    ],
)
def test_markup_is_refused(value: str) -> None:
    assert refusal(value) == "text_markup"
    with pytest.raises(ValueError, match="markup"):
        refuse_markup(value)


def test_non_strings_are_refused_by_type() -> None:
    for value in (12, None, ["a"], {"a": 1}):
        assert refusal(value) == "string_type", repr(value)


def test_bytes_from_python_code_meet_the_same_rule() -> None:
    assert NAME.validate_python(b" Anna ") == "Anna"
    assert refusal(b"An\x00na") == "text_control_character"
    assert refusal(b"<b>Anna</b>") == "text_markup"


def test_every_field_reports_its_own_fault() -> None:
    class Person(BaseModel):
        given_name: Name
        family_name: Name
        languages: list[Name]
        notes: LongText

    with pytest.raises(ValidationError) as caught:
        Person.model_validate(
            {
                "given_name": "A\x00",
                "family_name": "<b>Smith</b>",
                "languages": ["English", "\u202eWelsh"],
                "notes": "",
            }
        )
    assert {(e["loc"], e["type"]) for e in caught.value.errors()} == {
        (("given_name",), "text_control_character"),
        (("family_name",), "text_markup"),
        (("languages", 1), "text_bidi_control"),
        (("notes",), "string_too_short"),
    }


def test_the_character_check_as_a_function() -> None:
    assert refuse_unsafe_characters("a\tb\nc") == "a\tb\nc"
    for character in ("\t", "\n", "\r", "\x00"):
        with pytest.raises(ValueError, match="control character"):
            refuse_unsafe_characters(f"user{character}1", allow_tab_and_newline=False)
    assert replace_unsafe_characters("a\x00b\tc\ud800\u202e") == "a\ufffdb\tc\ufffd\ufffd"


def test_agency_names_are_lower_case_identifiers() -> None:
    agency: TypeAdapter[str] = TypeAdapter(AgencyName)
    assert agency.validate_python("social_care") == "social_care"
    for bad in ("", "Health", "1send", "send-team", "a" * 64, "send\x00", "x" * 1_000_000):
        with pytest.raises(ValidationError):
            agency.validate_python(bad)
    assert agency.validate_python("a" * 63) == "a" * 63
