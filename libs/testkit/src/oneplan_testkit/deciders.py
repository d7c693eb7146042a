"""Testing a decider in the given-events / when-command / then-events form, with no database.

::

    def test_a_removed_parent_cannot_be_changed() -> None:
        spec = DeciderSpec(CHILD).given(registered, parent_added, parent_removed)
        spec.when(ChangeFamilyMember(parent_id, new_details)).then_raises(MemberNotFound)

``when`` runs ``decide`` on the state the given events evolve to, at ``now`` (a fixed instant
unless given), and ``then`` compares the decided events with the expected ones (pydantic
equality: same type, same field values).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from oneplan_events.catalogue import Event
from oneplan_events.decider import Decider

__all__ = ["DEFAULT_NOW", "DeciderSpec", "Decision"]

S = TypeVar("S")
C = TypeVar("C")

DEFAULT_NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
"""A Monday in term time: the instant a decider test runs at unless it says otherwise."""


@dataclass(frozen=True)
class Decision(Generic[S]):
    """What ``when`` produced: the events, the state after them, or the error raised."""

    state_before: S
    events: Sequence[Event]
    error: BaseException | None
    decider: Decider[S, Any]

    def then(self, *expected: Event) -> list[Event]:
        """Assert the command decided exactly ``expected`` (in order); return the events."""
        if self.error is not None:
            raise AssertionError(f"the command was refused: {self.error!r}") from self.error
        assert list(self.events) == list(expected), (
            f"decided {_names(self.events)}, expected {_names(expected)}:\n"
            f"  got      {list(self.events)!r}\n  expected {list(expected)!r}"
        )
        return list(self.events)

    def then_nothing(self) -> None:
        """Assert the command was accepted and changed nothing (decided no events)."""
        self.then()

    def then_raises(self, error: type[BaseException], match: str | None = None) -> BaseException:
        """Assert the command was refused with ``error`` (whose text contains ``match``)."""
        if self.error is None:
            raise AssertionError(f"expected {error.__name__}, decided {_names(self.events)}")
        if not isinstance(self.error, error):
            raise AssertionError(f"expected {error.__name__}, got {self.error!r}") from self.error
        if match is not None and match not in str(self.error):
            raise AssertionError(f"{self.error!r} does not mention {match!r}") from self.error
        return self.error

    def then_state(self) -> S:
        """The state after the decided events (for assertions about what they lead to)."""
        if self.error is not None:
            raise AssertionError(f"the command was refused: {self.error!r}") from self.error
        state = self.state_before
        for event in self.events:
            state = self.decider.evolve(state, event)
        return state


class DeciderSpec(Generic[S, C]):
    """A decider under test: what happened before (``given``), then one command (``when``)."""

    def __init__(self, decider: Decider[S, C]) -> None:
        self.decider = decider
        self._history: list[Event] = []

    def given(self, *events: Event) -> DeciderSpec[S, C]:
        """The record's past events (a new spec: specs are reusable)."""
        spec: DeciderSpec[S, C] = DeciderSpec(self.decider)
        spec._history = [*self._history, *events]
        return spec

    def state(self) -> S:
        """The state the given events evolve to."""
        state = self.decider.initial_state()
        for event in self._history:
            state = self.decider.evolve(state, event)
        return state

    def when(self, command: C, now: datetime = DEFAULT_NOW) -> Decision[S]:
        """Decide ``command`` at ``now``; refusals are captured, not raised."""
        state = self.state()
        try:
            events = self.decider.decide(state, command, now)
        except Exception as error:
            return Decision(state, (), error, self.decider)
        return Decision(state, tuple(events), None, self.decider)


def _names(events: Sequence[Event]) -> str:
    return "[" + ", ".join(type(event).__name__ for event in events) + "]"
