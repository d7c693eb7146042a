"""Consents expire at their end date without anyone acting: a supervised worker finds the
consents due (the pure `due_expiries`) and records `oneplan.consent.consent.expired`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from oneplan_consent.adapters import repository
from oneplan_consent.domain.aggregates import AlreadyEnded, due_expiries
from oneplan_consent.service_layer.handlers import expire_consent
from oneplan_events.store import ConcurrencyError
from oneplan_events.uow import UnitOfWork
from oneplan_kit import Worker, WorkerContext

__all__ = ["EXPIRY_WORKER", "expire_due", "run_expiry"]

log = logging.getLogger(__name__)


async def expire_due(
    unit_of_work: Callable[[], UnitOfWork], now: datetime, horizon: timedelta
) -> tuple[int, datetime | None]:
    """Expire every consent due by `now`; return how many, and the next end date within
    `horizon` (so the worker can wake exactly then)."""
    async with unit_of_work() as uow:
        candidates = await repository.consents_ending_by(uow.session, now + horizon)
    due = due_expiries(candidates, now)
    expired = 0
    for consent_id in due:
        async with unit_of_work() as uow:
            try:
                await expire_consent(uow, consent_id)
                await uow.commit()
                expired += 1
            except (AlreadyEnded, ConcurrencyError):
                # Withdrawn meanwhile, or another instance expired it first: nothing to do.
                continue
    done = set(due)
    later = [until for consent_id, until in candidates if consent_id not in done]
    return expired, min(later, default=None)


async def run_expiry(context: WorkerContext) -> None:
    """Check every `expiry_interval` seconds, or sooner when a consent ends sooner; a failed
    check (database down) raises, and the kit restarts the worker after a backoff."""
    interval = float(getattr(context.runtime.settings, "expiry_interval", 30.0))
    while not context.stopping.is_set():
        now = context.now
        expired, next_due = await expire_due(
            context.runtime.unit_of_work, now, timedelta(seconds=interval)
        )
        if expired:
            log.info("expired %d consent(s)", expired)
        delay = interval
        if next_due is not None:
            delay = max(0.0, min(delay, (next_due - context.now).total_seconds()))
        if not await context.sleep(delay):
            return


EXPIRY_WORKER = Worker("consent_expiry", run_expiry)
