"""Time as a dependency: commands, statutory clocks and workers take it, never read it.

OnePlan serves English councils, so "today" is the date in Europe/London: a form sent at
00:30 on 1 September (BST) was sent on 1 September, although it is still 31 August in UTC.
Instants are always timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Final, Protocol
from zoneinfo import ZoneInfo

__all__ = ["LOCAL_ZONE", "Clock", "FixedClock", "SystemClock", "local_date"]

LOCAL_ZONE: Final = ZoneInfo("Europe/London")
"""Where the statutory days are counted."""


def local_date(moment: datetime) -> date:
    """The date in England at ``moment`` (an aware datetime)."""
    if moment.tzinfo is None:
        raise ValueError("local_date needs a timezone-aware datetime")
    return moment.astimezone(LOCAL_ZONE).date()


class Clock(Protocol):
    """Tells the time; the kit injects one into every command, read and worker."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that says what it is told (tests; replays of a past day)."""

    moment: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.moment.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")

    def now(self) -> datetime:
        """The moment it was set to."""
        return self.moment

    def advance(self, by: timedelta) -> None:
        """Move the clock on (or back, with a negative ``by``)."""
        self.moment += by
