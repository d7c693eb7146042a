"""Telling the types apart when they read a recorded event rather than new input."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from pydantic import ValidationInfo

__all__ = ["RECORDED_EVENT_CONTEXT", "is_recorded"]

_KEY: Final = "oneplan_recorded_event"

RECORDED_EVENT_CONTEXT: Final[Mapping[str, Any]] = MappingProxyType({_KEY: True})
"""The pydantic validation context for decoding a recorded event.

``Catalogue.decode`` passes it. Under it the text and time types never refuse a value for what
it holds: a fact recorded under an older, looser rule stays readable (a stored event is never
rewritten). Text still has unsafe code points replaced by U+FFFD, so nothing read can break a
reader's own store; the length bounds still apply.
"""


def is_recorded(info: ValidationInfo) -> bool:
    """True when the value is being read from a recorded event (see RECORDED_EVENT_CONTEXT)."""
    context = info.context
    return isinstance(context, Mapping) and bool(context.get(_KEY))
