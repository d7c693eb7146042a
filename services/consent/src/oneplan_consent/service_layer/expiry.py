"""Consents expire at their end date without anyone acting: a background scheduler finds
the consents due (the pure `due_expiries`) and records `oneplan.consent.consent.expired`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from oneplan_consent.adapters import repository
from oneplan_consent.domain.aggregates import AlreadyEnded, due_expiries
from oneplan_consent.service_layer.handlers import expire_consent
from oneplan_events.store import ConcurrencyError
from oneplan_kit import UnitOfWork

__all__ = ["ExpiryScheduler", "expire_due"]

log = logging.getLogger(__name__)


async def expire_due(
    unit_of_work: Callable[[], UnitOfWork], now: datetime, horizon: timedelta
) -> tuple[int, datetime | None]:
    """Expire every consent due by `now`; return how many, and the next end date within
    `horizon` (so the scheduler can wake exactly then)."""
    async with unit_of_work() as uow:
        candidates = await repository.consents_ending_by(uow.session, now + horizon)
    due = due_expiries(candidates, now)
    expired = 0
    for consent_id in due:
        async with unit_of_work() as uow:
            try:
                await expire_consent(uow, consent_id, now=now)
                await uow.commit()
                expired += 1
            except (AlreadyEnded, ConcurrencyError):
                # Withdrawn meanwhile, or another instance expired it first: nothing to do.
                continue
    done = set(due)
    later = [until for consent_id, until in candidates if consent_id not in done]
    return expired, min(later, default=None)


class ExpiryScheduler:
    """Runs `expire_due` every `interval` seconds, or sooner when a consent ends sooner."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], *, interval: float) -> None:
        self._unit_of_work = unit_of_work
        self._interval = interval
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Check until `stop()`; a failed check (database down) is retried next round."""
        while not self._stopping.is_set():
            delay = self._interval
            try:
                now = datetime.now(UTC)
                expired, next_due = await expire_due(
                    self._unit_of_work, now, timedelta(seconds=self._interval)
                )
                if expired:
                    log.info("expired %d consent(s)", expired)
                if next_due is not None:
                    delay = max(0.0, min(delay, (next_due - datetime.now(UTC)).total_seconds()))
            except Exception as exc:
                log.warning("consent expiry check failed: %r", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def stop(self) -> None:
        """Finish the check in hand and stop."""
        self._stopping.set()
