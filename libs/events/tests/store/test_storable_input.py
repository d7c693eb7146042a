"""Whatever the input types accept, every database stores; what no database stores, they refuse."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import JSON, Column, Integer, MetaData, Table, Text, insert, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from oneplan_events.schema import TimestampOutOfRange, UtcDateTime
from oneplan_events.types import LongText

PROBES = MetaData()
probes = Table(
    "input_probes",
    PROBES,
    Column("id", Integer, primary_key=True),
    Column("text", Text, nullable=False),
    Column("data", JSON().with_variant(JSONB(), "postgresql"), nullable=False),
)
stamps = Table(
    "stamp_probes",
    PROBES,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime(), nullable=False),
)
LONG_TEXT: TypeAdapter[str] = TypeAdapter(LongText)

# Where the trouble lives: controls, separators, bidi controls, surrogates, noncharacters.
_HOT_RANGES = [(0x00, 0xA0), (0x2020, 0x2070), (0xD7F0, 0xE010), (0xFDC0, 0xFDF0), (0xFFF0, 0xFFFF)]


def _code_point(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.6:
        low, high = rng.choice(_HOT_RANGES)
        return chr(rng.randint(low, high))
    if roll < 0.7:
        return chr(rng.choice([0xFFFE, 0xFFFF]) | rng.randint(0, 16) << 16)
    return chr(rng.randint(0x20, 0x10FFFF))


def sample_texts(count: int, seed: int = 20251130) -> list[str]:
    rng = random.Random(seed)
    return ["".join(_code_point(rng) for _ in range(rng.randint(1, 12))) for _ in range(count)]


@pytest.fixture
async def probe_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(PROBES.create_all)
    yield engine
    await engine.dispose()


async def test_every_text_the_rule_accepts_is_stored_as_sent(probe_engine: AsyncEngine) -> None:
    accepted, refused = [], 0
    for text in sample_texts(3000):
        try:
            accepted.append(LONG_TEXT.validate_python(text))
        except ValidationError:
            refused += 1
    assert len(accepted) > 300
    assert refused > 300
    rows = [{"id": n, "text": t, "data": {"value": t}} for n, t in enumerate(accepted)]
    async with probe_engine.begin() as conn:
        await conn.execute(insert(probes), rows)
        stored = (await conn.execute(select(probes.c.text, probes.c.data))).all()
    assert sorted(text for text, _ in stored) == sorted(accepted)
    assert sorted(data["value"] for _, data in stored) == sorted(accepted)


@pytest.mark.parametrize(
    "at",
    [
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=23, minutes=59))),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=23, minutes=59))),
    ],
)
async def test_a_timestamp_beyond_the_years_utc_can_hold_is_refused_clearly(
    probe_engine: AsyncEngine, at: datetime
) -> None:
    async with probe_engine.begin() as conn:
        with pytest.raises(StatementError) as caught:
            await conn.execute(insert(stamps).values(id=1, at=at))
    assert isinstance(caught.value.orig, TimestampOutOfRange)
    assert "outside the years 1 to 9999" in str(caught.value.orig)


async def test_an_extreme_but_representable_timestamp_round_trips(
    probe_engine: AsyncEngine,
) -> None:
    at = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=23, minutes=59)))
    async with probe_engine.begin() as conn:
        await conn.execute(insert(stamps).values(id=1, at=at))
        stored = (await conn.execute(select(stamps.c.at))).scalar_one()
    assert stored == at
    assert stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)
    assert stored.astimezone(UTC) == at.astimezone(UTC)
