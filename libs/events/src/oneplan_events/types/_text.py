"""Free text: one rule for every service, in API input models and event payloads alike."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Final

from annotated_types import GroupedMetadata
from pydantic import AfterValidator, BeforeValidator, StringConstraints, ValidationInfo
from pydantic_core import PydanticCustomError

from oneplan_events.types._recorded import is_recorded

__all__ = [
    "IDENTIFIER_PATTERN",
    "REPLACEMENT_CHARACTER",
    "AgencyName",
    "LongText",
    "Name",
    "PlainText",
    "ShortText",
    "refuse_markup",
    "refuse_unsafe_characters",
    "replace_unsafe_characters",
]

REPLACEMENT_CHARACTER: Final = "\ufffd"

IDENTIFIER_PATTERN: Final = r"^[a-z][a-z0-9_]{0,62}$"
"""A lower-case identifier of at most 63 characters: agency names and token roles."""

_MARKUP = re.compile(r"<\s*[A-Za-z/!?]|javascript\s*:", re.IGNORECASE)
_LINE_ENDINGS = re.compile(r"\r\n?")
_NONCHARACTERS = "".join(
    f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17)
)
# Every code point the rule refuses, tab and newline excepted.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 controls, DEL, C1 controls
    "\u2028\u2029"  # line and paragraph separators
    "\u202a-\u202e\u2066-\u2069"  # bidirectional embeddings, overrides and isolates
    "\ud800-\udfff"  # surrogates: unpaired ones in a str (UTF-8 cannot encode them)
    f"\ufdd0-\ufdef{_NONCHARACTERS}]"
)
_UNSAFE_WITH_TAB_AND_NEWLINE = re.compile(f"[\t\n]|{_UNSAFE.pattern}")


def _kind_of(code_point: int) -> tuple[str, str]:
    """The error type and the description of a refused code point."""
    if code_point <= 0x9F:
        return "text_control_character", "a control character"
    if code_point in (0x2028, 0x2029):
        return "text_line_separator", "a line or paragraph separator; send a newline instead"
    if 0x202A <= code_point <= 0x2069:
        return (
            "text_bidi_control",
            "an invisible bidirectional control, which can make text display in a misleading order",
        )
    if 0xD800 <= code_point <= 0xDFFF:
        return "text_unpaired_surrogate", "an unpaired surrogate, which no store can hold"
    return "text_noncharacter", "a Unicode noncharacter"


def refuse_unsafe_characters(value: str, *, allow_tab_and_newline: bool = True) -> str:
    """``value`` unchanged, or a ``PydanticCustomError`` (a ValueError) naming the first
    code point the rule refuses, its position and why.

    Refused: control characters (C0, DEL, C1) but tab and newline (with
    ``allow_tab_and_newline=False``: those too), U+2028/U+2029, the bidirectional embedding,
    override and isolate controls U+202A-U+202E and U+2066-U+2069 (the marks U+200E, U+200F and
    U+061C stay allowed), unpaired surrogates and the Unicode noncharacters. The message never
    quotes the value.
    """
    pattern = _UNSAFE if allow_tab_and_newline else _UNSAFE_WITH_TAB_AND_NEWLINE
    found = pattern.search(value)
    if found is None:
        return value
    code_point = ord(found.group())
    error_type, what = _kind_of(code_point)
    raise PydanticCustomError(
        error_type,
        "U+{code_point} at character {position} is not accepted: it is {what}",
        {"code_point": f"{code_point:04X}", "position": found.start() + 1, "what": what},
    )


def replace_unsafe_characters(value: str) -> str:
    """``value`` with every code point :func:`refuse_unsafe_characters` refuses as U+FFFD."""
    return _UNSAFE.sub(REPLACEMENT_CHARACTER, value)


def refuse_markup(value: str) -> str:
    """Refuse text containing a tag, comment, processing instruction or ``javascript:`` URL.

    Plain uses of ``<`` stay allowed ("scores < 5", "I <3 trains"). Raises a
    ``PydanticCustomError`` (a ValueError) of type ``text_markup``.
    """
    if _MARKUP.search(value):
        raise PydanticCustomError(
            "text_markup", "markup or script is not accepted in text; send plain text"
        )
    return value


def _characters(value: Any, info: ValidationInfo) -> Any:
    if not isinstance(value, str):
        return value  # the str validator that follows refuses it
    value = _LINE_ENDINGS.sub("\n", value)
    if is_recorded(info):
        return replace_unsafe_characters(value)
    return refuse_unsafe_characters(value)


def _markup(value: str, info: ValidationInfo) -> str:
    if is_recorded(info):
        return replace_unsafe_characters(value)
    # The characters again: a non-str input (bytes, in Python) became text after _characters.
    return refuse_markup(refuse_unsafe_characters(value))


@dataclass(frozen=True, slots=True)
class PlainText(GroupedMetadata):
    """The free-text rule with its bounds, for ``Annotated[str, PlainText(max_length=...)]``.

    A value is, in this order: line endings CRLF and CR turned into LF; refused if it holds a
    code point :func:`refuse_unsafe_characters` refuses (anywhere, even in the surrounding
    whitespace); stripped of surrounding whitespace; refused when then shorter than
    ``min_length`` (default 1: empty or blank text is refused) or longer than ``max_length``
    characters (code points); refused if it holds markup (:func:`refuse_markup`).

    Each refusal is one pydantic error at the field: ``string_too_short``, ``string_too_long``,
    ``text_control_character``, ``text_line_separator``, ``text_bidi_control``,
    ``text_unpaired_surrogate``, ``text_noncharacter`` or ``text_markup``; no message quotes
    the value. The JSON Schema is ``{"type": "string", "minLength": ..., "maxLength": ...}``
    (and ``"pattern"`` when one is given: the stripped text must match it too).
    Reading a recorded event (``RECORDED_EVENT_CONTEXT``) refuses neither characters nor
    markup: unsafe code points read as U+FFFD.
    """

    max_length: int
    min_length: int = 1
    pattern: str | None = None
    """A shape the stripped text must also have (an e-mail address, say)."""

    def __post_init__(self) -> None:
        if not 0 <= self.min_length <= self.max_length:
            raise ValueError("PlainText needs 0 <= min_length <= max_length")

    def __iter__(self) -> Iterator[Any]:
        # Order matters: a before-validator listed after the constraints runs before them.
        yield StringConstraints(
            strip_whitespace=True,
            min_length=self.min_length,
            max_length=self.max_length,
            pattern=self.pattern,
        )
        yield BeforeValidator(_characters)
        yield AfterValidator(_markup)


Name = Annotated[str, PlainText(max_length=100)]
"""A person's name, a language, a gender as recorded: plain text of 1 to 100 characters."""

ShortText = Annotated[str, PlainText(max_length=200)]
"""An address line, a setting's name, a short reason: plain text of 1 to 200 characters."""

LongText = Annotated[str, PlainText(max_length=4000)]
"""A part of the child's story, a communication need: plain text of 1 to 4000 characters."""

AgencyName = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
"""An agency's name as tokens and events carry it (``send``, ``health``, an integrator's)."""
