"""The retry hazard, at the service level: a family member's addition fails with a real
database fault, the member's removal arrives right after, and the addition is retried.

The consent service must apply the two in their record's order, addition then removal, so the
member ends up absent: the removal is held back behind the failed addition (a failed event
holds back its record's later events), not applied first and then undone by the retry (the
member "resurrected", with the right to consent for the child).

The fault is the database's own: a trigger the test installs on ``family_members`` refuses
that member's row (PostgreSQL: a plpgsql trigger raising a check violation; SQLite: a trigger
with ``RAISE(ABORT)``) until the test drops it, which it does as soon as the consumer has
retried the addition and held the removal back. A second trigger audits every insert and
delete of a member, in the order the database made them.
"""

from __future__ import annotations

import asyncio
import time
from uuid import UUID, uuid4

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from oneplan_consent.adapters.repository import load_child_facts
from oneplan_events.consumer import DurableConsumer

from ..consent_testing import (
    CHILD_CSA_END,
    CHILD_DOB,
    ChildMaker,
    ChildrenStream,
    runtime_of,
    wait_until,
)

CONSUMER = "consent_child_facts"

_PG_AUDIT = [
    "CREATE TABLE hazard_audit (id bigserial PRIMARY KEY, op text NOT NULL, member_id uuid)",
    """CREATE FUNCTION hazard_audit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO hazard_audit (op, member_id) VALUES
            (TG_OP, CASE WHEN TG_OP = 'DELETE' THEN OLD.member_id ELSE NEW.member_id END);
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER hazard_audit AFTER INSERT OR DELETE ON family_members
    FOR EACH ROW EXECUTE FUNCTION hazard_audit()""",
]
_PG_FAULT = [
    """CREATE FUNCTION hazard_fault() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'injected fault: member % refused', NEW.member_id
            USING ERRCODE = 'check_violation';
    END $$""",
    """CREATE TRIGGER hazard_fault BEFORE INSERT ON family_members FOR EACH ROW
    WHEN (NEW.member_id = '{member}') EXECUTE FUNCTION hazard_fault()""",
]
_PG_CURE = ["DROP TRIGGER hazard_fault ON family_members"]

_SQLITE_AUDIT = [
    "CREATE TABLE hazard_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, op TEXT, member_id TEXT)",
    """CREATE TRIGGER hazard_audit_insert AFTER INSERT ON family_members BEGIN
    INSERT INTO hazard_audit (op, member_id) VALUES ('INSERT', NEW.member_id); END""",
    """CREATE TRIGGER hazard_audit_delete AFTER DELETE ON family_members BEGIN
    INSERT INTO hazard_audit (op, member_id) VALUES ('DELETE', OLD.member_id); END""",
]
# SQLAlchemy's Uuid keeps a UUID on SQLite as 32 hex digits.
_SQLITE_FAULT = [
    """CREATE TRIGGER hazard_fault BEFORE INSERT ON family_members
    WHEN NEW.member_id = '{member_hex}' BEGIN
    SELECT RAISE(ABORT, 'injected fault: member refused'); END"""
]
_SQLITE_CURE = ["DROP TRIGGER hazard_fault"]


async def _execute(engine: AsyncEngine, statements: list[str], member: UUID) -> None:
    async with engine.begin() as conn:
        for statement in statements:
            sql = statement.replace("{member}", str(member)).replace("{member_hex}", member.hex)
            await conn.exec_driver_sql(sql)


async def _audited(engine: AsyncEngine) -> list[tuple[str, UUID]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT op, member_id FROM hazard_audit ORDER BY id"))
        return [(row.op, UUID(str(row.member_id))) for row in rows]


async def _position(engine: AsyncEngine, child_id: UUID) -> int:
    async with engine.connect() as conn:
        version = await conn.scalar(
            text(
                "SELECT version FROM consumer_positions WHERE consumer = :consumer "
                "AND stream_id = :stream"
            ),
            {"consumer": CONSUMER, "stream": f"child/{child_id}"},
        )
    return int(version or 0)


async def _parked(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM dead_letters")) or 0)


async def _wait_for_position(engine: AsyncEngine, child_id: UUID, version: int) -> None:
    deadline = time.monotonic() + 20
    while await _position(engine, child_id) < version:
        if time.monotonic() > deadline:
            raise AssertionError(f"child/{child_id} never reached version {version}")
        await asyncio.sleep(0.05)


def _child_facts_consumer(app: FastAPI) -> DurableConsumer:
    return next(c for c in runtime_of(app).consumers if c.name == CONSUMER)


async def test_a_retried_addition_does_not_resurrect_a_member_removed_meanwhile(
    app: FastAPI, children: ChildrenStream, make_child: ChildMaker
) -> None:
    engine = runtime_of(app).engine
    postgres = engine.dialect.name == "postgresql"
    child_id, parent_id = await make_child(CHILD_DOB, CHILD_CSA_END)  # versions 1 and 2
    member_id = uuid4()
    await _execute(engine, _PG_AUDIT if postgres else _SQLITE_AUDIT, member_id)
    await _execute(engine, _PG_FAULT if postgres else _SQLITE_FAULT, member_id)
    stats = _child_facts_consumer(app).stats
    retried, held, applied = stats.retried, stats.held, stats.applied
    settled = stats.applied + stats.duplicates

    await children.member_added(child_id, member_id, pr=True)  # version 3: refused
    await children.member_removed(child_id, member_id)  # version 4, right after
    # The addition failed and waits for its retry; the removal has come (and gone where?).
    await wait_until(
        lambda: stats.retried > retried and (stats.held > held or stats.applied > applied),
        within=20,
    )
    assert stats.held > held, "the removal was not held back behind the failed addition"
    assert await _position(engine, child_id) == 2
    assert await _audited(engine) == []

    await _execute(engine, _PG_CURE if postgres else _SQLITE_CURE, member_id)
    # Both events settled (applied, or acknowledged as already applied): the retry is over.
    await wait_until(lambda: stats.applied + stats.duplicates >= settled + 2, within=20)
    await _wait_for_position(engine, child_id, 4)

    async with runtime_of(app).sessionmaker() as session:
        facts = await load_child_facts(session, child_id)
    assert facts is not None
    assert set(facts.members) == {parent_id}, "the removed member came back"
    assert await _audited(engine) == [("INSERT", member_id), ("DELETE", member_id)]
    assert await _parked(engine) == 0
