"""The children migrations: a database created by 0001 keeps its rows through 0002 (text ids
become native UUIDs), and the kit's backbone branch joins an existing database."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from oneplan_children.adapters.tables import ChildIdentifiers, ChildSummary
from oneplan_kit.db import create_engine, create_sessionmaker
from oneplan_kit.migrations import current_is_head, upgrade

MIGRATIONS = "oneplan_children:migrations"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def test_text_ids_become_uuids_and_every_row_is_kept(engine: AsyncEngine) -> None:
    await upgrade(MIGRATIONS, engine, "0001")
    assert not await current_is_head(MIGRATIONS, engine)
    survivor, merged = uuid4(), uuid4()
    async with engine.begin() as conn:
        for child_id, merged_into in ((survivor, None), (merged, survivor)):
            await conn.execute(
                text(
                    "INSERT INTO child_summary (child_id, version, given_name, family_name, "
                    "family_name_key, given_name_key, date_of_birth, merged_into, updated_at) "
                    "VALUES (:id, 1, 'Ada', 'Testchild', 'testchild', 'ada', :dob, :merged, :at)"
                ),
                {
                    "id": str(child_id),
                    "merged": None if merged_into is None else str(merged_into),
                    "dob": date(2015, 3, 1),
                    "at": datetime(2026, 11, 24, tzinfo=UTC),
                },
            )
        await conn.execute(
            text("INSERT INTO child_identifiers (child_id, nhs_number) VALUES (:id, :nhs)"),
            {"id": str(survivor), "nhs": "9990000018"},
        )

    await upgrade(MIGRATIONS, engine)

    assert await current_is_head(MIGRATIONS, engine)
    async with create_sessionmaker(engine)() as session:
        rows = {row.child_id: row for row in await session.scalars(select(ChildSummary))}
        identifiers = (await session.scalars(select(ChildIdentifiers))).all()
    assert set(rows) == {survivor, merged}
    assert rows[merged].merged_into == survivor
    assert rows[survivor].merged_into is None
    assert [(row.child_id, row.nhs_number) for row in identifiers] == [(survivor, "9990000018")]


async def test_upgrading_twice_changes_nothing(engine: AsyncEngine) -> None:
    await upgrade(MIGRATIONS, engine)
    await upgrade(MIGRATIONS, engine)
    assert await current_is_head(MIGRATIONS, engine)
