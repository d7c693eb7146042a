"""Migration 0002 on a database holding referrals (SQLite and PostgreSQL): each referral's new
columns are filled from its stored state, as the projection writes them."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import sqlalchemy as sa

from oneplan_kit.db import create_engine
from oneplan_kit.migrations import upgrade
from oneplan_referrals.adapters.repository import referral_columns
from oneplan_referrals.adapters.tables import ReferralRow
from oneplan_referrals.bootstrap import SERVICE
from oneplan_referrals.domain.referral import (
    Appointment,
    AppointmentStatus,
    Referral,
    ReferralStatus,
)
from oneplan_referrals.events import Urgency

from ..referrals_testing import RISE

NEW_COLUMNS = (
    "referrer_agency",
    "urgency",
    "breach_on",
    "first_seen_on",
    "earliest_booked_on",
    "booked_dates",
)


def _referral(*appointments: Appointment) -> Referral:
    return Referral(
        referral_id=uuid4(),
        child_id=uuid4(),
        service_id=RISE,
        referrer_agency="school",
        urgency=Urgency.URGENT,
        received_on=date(2026, 1, 5),
        status=ReferralStatus.ACCEPTED,
        accepted_on=date(2026, 1, 9),
        appointments=appointments,
    )


async def test_0002_fills_the_wait_columns_from_each_state(database_url: str) -> None:
    seen = _referral(
        Appointment(uuid4(), date(2026, 1, 9), date(2026, 2, 2), AppointmentStatus.DID_NOT_ATTEND),
        Appointment(uuid4(), date(2026, 2, 3), date(2026, 3, 2), AppointmentStatus.ATTENDED),
    )
    waiting = _referral(
        Appointment(uuid4(), date(2026, 1, 9), date(2026, 6, 8)),
        Appointment(uuid4(), date(2026, 1, 9), date(2026, 5, 4)),
    )
    engine = create_engine(database_url)
    typed = ReferralRow.__table__
    # The table as 0001 made it: the current one without the new columns.
    before = sa.table("referrals", *(sa.column(c.name, c.type) for c in typed.columns
                                     if c.name not in NEW_COLUMNS))  # fmt: skip
    try:
        await upgrade(SERVICE.migrations_location, engine, "0001")
        async with engine.begin() as conn:
            for referral in (seen, waiting):
                values = referral_columns(referral)
                await conn.execute(
                    before.insert().values(
                        {k: v for k, v in values.items() if k not in NEW_COLUMNS}
                    )
                )
        await upgrade(SERVICE.migrations_location, engine)
        async with engine.connect() as conn:
            rows = {row.referral_id: row for row in await conn.execute(sa.select(typed))}
    finally:
        await engine.dispose()
    for referral in (seen, waiting):
        expected = referral_columns(referral)
        stored = rows[referral.referral_id]
        assert {name: getattr(stored, name) for name in NEW_COLUMNS} == {
            name: expected[name] for name in NEW_COLUMNS
        }
    assert rows[waiting.referral_id].booked_dates == "2026-05-04 2026-06-08"
    assert rows[seen.referral_id].first_seen_on == date(2026, 3, 2)
