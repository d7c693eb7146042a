"""Migrations keep what is there: a children database populated under the previous schema
(ids as 36 characters of text) is migrated to native UUIDs with every row intact, and the
service then reads and writes those records."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import insert, select, text

from oneplan_children.adapters.tables import ChildIdentifiers, ChildSummary
from oneplan_children.bootstrap import SERVICE
from oneplan_kit.db import create_engine, create_sessionmaker
from oneplan_kit.migrations import upgrade


async def test_children_ids_become_uuids_keeping_every_row(database_url: str) -> None:
    engine = create_engine(database_url)
    survivor, merged = uuid.uuid4(), uuid.uuid4()
    try:
        await upgrade(SERVICE.migrations_location, engine, "0001")
        async with engine.begin() as conn:
            for child, into, nhs in ((survivor, None, "9434765919"), (merged, survivor, None)):
                await conn.execute(
                    text(
                        "INSERT INTO child_summary (child_id, version, given_name, family_name,"
                        " family_name_key, given_name_key, date_of_birth, nhs_number, upn,"
                        " merged_into, updated_at) VALUES (:id, 3, 'Ada', 'Example', 'example',"
                        " 'ada', :born, :nhs, NULL, :into, :at)"
                    ),
                    {
                        "id": str(child),
                        "born": date(2015, 3, 1),
                        "nhs": nhs,
                        "into": None if into is None else str(into),
                        "at": datetime(2026, 1, 1, tzinfo=UTC),
                    },
                )
                await conn.execute(
                    text("INSERT INTO child_identifiers (child_id, nhs_number) VALUES (:id, :nhs)"),
                    {"id": str(child), "nhs": nhs},
                )
        await upgrade(SERVICE.migrations_location, engine)
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            rows = {row.child_id: row for row in await session.scalars(select(ChildSummary))}
            identifiers = set(await session.scalars(select(ChildIdentifiers.child_id)))
        assert set(rows) == {survivor, merged}
        assert rows[merged].merged_into == survivor
        assert rows[survivor].nhs_number == "9434765919"
        assert identifiers == {survivor, merged}
        async with sessions() as session, session.begin():
            newcomer = uuid.uuid4()
            await session.execute(
                insert(ChildIdentifiers).values(child_id=newcomer, nhs_number=None, upn=None)
            )
        async with sessions() as session:
            assert newcomer in set(await session.scalars(select(ChildIdentifiers.child_id)))
    finally:
        await engine.dispose()
