"""The relay lease: one row in ``relay_lease`` naming the one relay allowed to publish.

A holder renews its lease well before it expires; another relay takes it over only once it has
expired (its holder crashed or hung) or was released on a clean stop. Expiry times come from
each relay's UTC clock, so clocks must agree to well within ``ttl / 2``; if they do not, two
relays may publish at once for a while, which costs duplicates JetStream drops (same
``Nats-Msg-Id``) but never order (see ``docs/event-store.md``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from oneplan_events.schema import relay_lease


class Lease:
    """The lease named ``name``, as held (or wanted) by ``holder``."""

    def __init__(self, engine: AsyncEngine, name: str, holder: str, ttl: float) -> None:
        self.engine = engine
        self.name = name
        self.holder = holder
        self.ttl = timedelta(seconds=ttl)
        self._valid_until: datetime | None = None

    @property
    def held(self) -> bool:
        """True while this holder's lease is known to be unexpired."""
        return self._valid_until is not None and datetime.now(UTC) < self._valid_until

    async def hold(self) -> bool:
        """Acquire or renew the lease when less than half of it remains; True when held."""
        now = datetime.now(UTC)
        if self._valid_until is not None and now < self._valid_until - self.ttl / 2:
            return True
        expires_at = now + self.ttl
        acquired = await self._renew_or_take_over(now, expires_at) or await self._create(expires_at)
        # Count validity from before the round trips: never believe in more lease than granted.
        self._valid_until = expires_at if acquired else None
        return acquired

    async def release(self) -> None:
        """Give the lease up (on a clean stop) so a standby relay takes over at once."""
        if self._valid_until is None:
            return
        self._valid_until = None
        async with self.engine.begin() as conn:
            await conn.execute(
                update(relay_lease)
                .where(relay_lease.c.name == self.name, relay_lease.c.holder == self.holder)
                .values(expires_at=datetime.now(UTC))
            )

    async def _renew_or_take_over(self, now: datetime, expires_at: datetime) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(relay_lease)
                .where(
                    relay_lease.c.name == self.name,
                    or_(relay_lease.c.holder == self.holder, relay_lease.c.expires_at < now),
                )
                .values(holder=self.holder, expires_at=expires_at)
            )
        return result.rowcount == 1

    async def _create(self, expires_at: datetime) -> bool:
        # The first relay ever for this name; racing creators are told apart by the primary key.
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(relay_lease).values(
                        name=self.name, holder=self.holder, expires_at=expires_at
                    )
                )
        except IntegrityError:
            return False
        return True
