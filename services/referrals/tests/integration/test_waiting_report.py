"""The waiting report counted by the database agrees with its pure definition
(`domain/waits.waiting_figures`) on randomized referrals, on SQLite and PostgreSQL: every
band edge, the 18-week boundary, the 6-week warning, appointments booked either side of the
breach date, did-not-attend and cancellations, closed referrals, one service or all."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import date, timedelta
from uuid import uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from oneplan_kit.db import create_engine, create_sessionmaker
from oneplan_kit.migrations import upgrade
from oneplan_referrals.adapters import repository
from oneplan_referrals.bootstrap import SERVICE
from oneplan_referrals.domain.referral import (
    Appointment,
    AppointmentStatus,
    Referral,
    ReferralStatus,
)
from oneplan_referrals.domain.waits import waiting_figures
from oneplan_referrals.events import CancelledBy, DischargeOutcome, Urgency

from ..referrals_testing import OT, RISE, SALT

TODAY = date(2026, 6, 1)
DAYS = (TODAY, TODAY - timedelta(weeks=9), TODAY + timedelta(days=3))
"""The days the report is asked for."""
SERVICES = (RISE, SALT, OT)
# Days before one of DAYS: each band's edges (6, 12, 18 weeks), the 6-week warning before
# the breach date (12 weeks waited), the breach date itself.
EDGES = (0, 1, 41, 42, 43, 83, 84, 85, 125, 126, 127)


def _appointment(rng: random.Random, received: date) -> Appointment:
    # Often on, or a day either side of, the breach date (18 weeks after received).
    on = received + timedelta(days=rng.choice([rng.randrange(-3, 200), 125, 126, 127]))
    status = rng.choice(list(AppointmentStatus))
    cancelled = status is AppointmentStatus.CANCELLED
    return Appointment(
        uuid4(),
        booked_on=received,
        appointment_on=on,
        status=status,
        cancelled_by=rng.choice(list(CancelledBy)) if cancelled else None,
        cancelled_on=on - timedelta(days=1) if cancelled else None,
    )


def random_referral(rng: random.Random) -> Referral:
    """Received up to 40 weeks before one of DAYS, half of them on an edge, in any state,
    with 0-3 appointments of any outcome."""
    offset = rng.randrange(0, 280) if rng.random() < 0.5 else rng.choice(EDGES)
    received = rng.choice(DAYS) - timedelta(days=offset)
    # Mostly accepted: the waiting list, with appointments, is where the rules are subtle.
    status = rng.choices(list(ReferralStatus), weights=[1, 4, 1, 1])[0]
    appointments: tuple[Appointment, ...] = ()
    if status in (ReferralStatus.ACCEPTED, ReferralStatus.DISCHARGED):
        appointments = tuple(_appointment(rng, received) for _ in range(rng.randrange(0, 4)))
    closed = status in (ReferralStatus.DECLINED, ReferralStatus.DISCHARGED)
    return Referral(
        referral_id=uuid4(),
        child_id=uuid4(),
        service_id=rng.choice(SERVICES),
        referrer_agency="school",
        urgency=Urgency.ROUTINE,
        received_on=received,
        status=status,
        accepted_on=received if status is not ReferralStatus.RECEIVED else None,
        closed_on=received + timedelta(days=rng.randrange(0, 300)) if closed else None,
        outcome=DischargeOutcome.MOVED_AWAY if status is ReferralStatus.DISCHARGED else None,
        appointments=appointments,
    )


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    made = create_engine(database_url)
    await upgrade(SERVICE.migrations_location, made)
    try:
        yield made
    finally:
        await made.dispose()


async def test_the_report_counted_in_sql_is_the_pure_computation(engine: AsyncEngine) -> None:
    rng = random.Random(20260601)
    referrals = [random_referral(rng) for _ in range(800)]
    sessions = create_sessionmaker(engine)
    async with sessions() as session, session.begin():
        for referral in referrals:
            # The projection every command runs: the columns the report counts.
            await repository.project_referral(session, referral, [])
    async with sessions() as session:
        for today in DAYS:
            for service_id in (None, RISE):
                chosen = [r for r in referrals if service_id in (None, r.service_id)]
                expected = waiting_figures(chosen, today)
                counted, rows = await repository.waiting_report(
                    session, today, service_id=service_id
                )
                assert counted == expected, (today, service_id)
                assert [row.referral_id for row in rows] == list(expected.flagged)
    figures = waiting_figures(referrals, TODAY)
    # The data exercises every part of the report (a test that could not fail would not).
    assert all(count for _, count in figures.bands), figures.bands
    assert figures.flagged
    assert figures.first_seen > figures.first_seen_within_18_weeks > 0
