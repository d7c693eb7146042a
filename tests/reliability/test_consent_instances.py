"""Two instances of the consent service under load; one is SIGKILLed, then restarted.

Two consent processes (uvicorn, each on its own port) share one PostgreSQL database and one
nats-server, and split the CHILDREN stream's partitions between them (one pinned durable per
partition). Meanwhile the children service's events for hundreds of children are published
at a bounded rate (``children_events``). Mid-load the instance applying the most partitions
is SIGKILLed: the survivor must take all of them over within about ``consumer_pin_ttl``. The
killed instance is restarted (it waits as standby unless the survivor fell silent meanwhile);
then the survivor is stopped (SIGTERM), and the restarted instance must take every partition
over at once and apply what follows.

The end state is checked in the consent database: each child's facts are the final ones
(members: the added minus the removed; the corrected date of birth), every record's position
is its last version, no dead letter; and an audit trigger the test installs on the facts
tables shows each child's writes exactly once each and in the record's order, so no event was
applied twice (a member added again after its removal would show a second INSERT) or out of
order (the removed member resurrected, or the date of birth put back).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from oneplan_children.domain.calendar import compulsory_school_age_ends_on
from oneplan_events.streams import DEFAULT_PARTITIONS, ensure_stream, service_stream
from oneplan_kit.db import create_engine

from .children_events import EVENTS_PER_JOURNEY, ChildrenPublisher, Journey
from .conftest import connect, wait_for
from .service_processes import ServiceProcess

# Three service processes start here: on a loaded 2-core machine their imports alone take
# tens of seconds, more than the suite's default timeout leaves.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CONSUMER = "consent_child_facts"
PIN_TTL = 2.0
ACK_WAIT = 3.0
CHILDREN = 300  # under load while one instance is killed
LATE_CHILDREN = 40  # after the survivor stopped: enough to reach every partition
RATE = 120.0  # events a second
ALL_PARTITIONS = list(range(DEFAULT_PARTITIONS))
PIN_LOST = "another instance took over this partition"  # the consumer's log line

AUDIT = """
CREATE TABLE reliability_audit (
    id bigserial PRIMARY KEY,
    tbl text NOT NULL,
    op text NOT NULL,
    child_id uuid NOT NULL,
    member_id uuid,
    date_of_birth date
);
CREATE FUNCTION reliability_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r jsonb := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
BEGIN
    INSERT INTO reliability_audit (tbl, op, child_id, member_id, date_of_birth)
    VALUES (TG_TABLE_NAME, TG_OP, (r ->> 'child_id')::uuid, (r ->> 'member_id')::uuid,
            (r ->> 'date_of_birth')::date);
    RETURN NULL;
END $$;
CREATE TRIGGER audit_members AFTER INSERT OR UPDATE OR DELETE ON family_members
    FOR EACH ROW EXECUTE FUNCTION reliability_audit();
CREATE TRIGGER audit_facts AFTER INSERT OR UPDATE OR DELETE ON child_facts
    FOR EACH ROW EXECUTE FUNCTION reliability_audit();
"""


async def install_audit(engine: AsyncEngine) -> None:
    """Record every write to the child facts tables, in the order they were made."""
    async with engine.begin() as conn:
        for statement in AUDIT.split(";\nCREATE"):
            prefix = "" if statement.lstrip().startswith("CREATE") else "CREATE"
            await conn.exec_driver_sql(prefix + statement)


def expected_writes(journey: Journey) -> list[tuple[Any, ...]]:
    """The writes the five events make, once each, in version order."""
    return [
        ("child_facts", "INSERT", None, journey.born),
        ("family_members", "INSERT", journey.leaving, None),
        ("family_members", "INSERT", journey.staying, None),
        ("family_members", "DELETE", journey.leaving, None),
        ("child_facts", "UPDATE", None, journey.corrected),
    ]


async def audited_writes(engine: AsyncEngine) -> dict[Any, list[tuple[Any, ...]]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            text(
                "SELECT child_id, tbl, op, member_id, date_of_birth FROM reliability_audit "
                "ORDER BY id"
            )
        )
        writes: dict[Any, list[tuple[Any, ...]]] = {}
        for row in result:
            writes.setdefault(row.child_id, []).append(
                (row.tbl, row.op, row.member_id, row.date_of_birth)
            )
        return writes


async def positions(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT stream_id, version FROM consumer_positions WHERE consumer = :c"),
            {"c": CONSUMER},
        )
        return {row.stream_id: row.version for row in result}


async def facts(engine: AsyncEngine) -> tuple[dict[Any, Any], set[tuple[Any, Any]], int]:
    """Each child's date of birth, every (child, member), and the dead letters."""
    async with engine.connect() as conn:
        born = {
            row.child_id: (row.date_of_birth, row.compulsory_school_age_ends_on)
            for row in await conn.execute(text("SELECT * FROM child_facts"))
        }
        members = {
            (row.child_id, row.member_id)
            for row in await conn.execute(text("SELECT child_id, member_id FROM family_members"))
        }
        parked = int((await conn.scalar(text("SELECT count(*) FROM dead_letters"))) or 0)
    return born, members, parked


async def holding(
    client: httpx.AsyncClient, instance: ServiceProcess, partitions: list[int], within: float
) -> float:
    """Seconds until ``instance`` applies exactly ``partitions``; fails after ``within``."""
    started = time.monotonic()

    async def reached() -> bool:
        return await instance.partitions(client, CONSUMER) == partitions

    await wait_for(reached, within, f"{instance.label} applying partitions {partitions}")
    return time.monotonic() - started


async def split_of(
    client: httpx.AsyncClient, instances: list[ServiceProcess]
) -> dict[str, list[int]]:
    """Which partitions each instance applies, once between them they apply all."""
    split: dict[str, list[int]] = {}

    async def covered() -> bool:
        for instance in instances:
            split[instance.label] = await instance.partitions(client, CONSUMER) or []
        held = sorted(p for partitions in split.values() for p in partitions)
        return held == ALL_PARTITIONS

    await wait_for(covered, 20, "the partitions split between the instances")
    return split


async def test_a_killed_consent_instance_is_taken_over_without_loss_or_repeats(
    pg_database_url: str,
    nats_server_factory: Callable[..., Any],
    service_process: Callable[..., ServiceProcess],
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    server = nats_server_factory()
    nc = await connect(server.url)
    js = nc.jetstream(timeout=5)
    # Created exactly as the children service creates its stream (partitioned by record).
    await ensure_stream(js, service_stream("children"))
    environment = {
        "CONSENT_DATABASE_URL": pg_database_url,
        "ONEPLAN_NATS_URL": server.url,
        "ONEPLAN_CONSUMER_PIN_TTL": str(PIN_TTL),
        "ONEPLAN_CONSUMER_ACK_WAIT": str(ACK_WAIT),
        "ONEPLAN_VAR_DIR": str(tmp_path),
        "ONEPLAN_DEV_SIGNING_KEY": str(tmp_path / "signing-key.pem"),
    }
    instances = [
        service_process("oneplan_consent", "CONSENT_", label, **environment)
        for label in ("consent-a", "consent-b")
    ]
    engine = create_engine(pg_database_url)
    rng = random.Random(11)
    journeys = [Journey.random(rng) for _ in range(CHILDREN)]
    late = [Journey.random(rng) for _ in range(LATE_CHILDREN)]
    publisher = ChildrenPublisher(js, RATE)
    try:
        async with httpx.AsyncClient() as client:
            for instance in instances:
                instance.start()
            await asyncio.gather(*(instance.wait_ready(client) for instance in instances))
            ready_at = time.monotonic()
            await install_audit(engine)
            load = asyncio.create_task(publisher.publish(journeys))

            split = await split_of(client, instances)
            victim, survivor = sorted(instances, key=lambda i: -len(split[i.label]))
            total = CHILDREN * EVENTS_PER_JOURNEY

            async def a_third_published() -> bool:
                return publisher.published >= total // 3

            await wait_for(a_third_published, 30, "a third of the load published")
            victim.kill()
            takeover = await holding(client, survivor, ALL_PARTITIONS, PIN_TTL + 8)
            published_at_kill_and_takeover = publisher.published

            victim.start()
            await victim.wait_ready(client)
            rejoined_as = await victim.partitions(client, CONSUMER)
            # Pins a live instance lost meanwhile (it fell silent for pin_ttl: a starved box).
            lost_while_alive = survivor.log_count(PIN_LOST)
            await asyncio.to_thread(survivor.terminate)  # graceful: gives its pins up
            # More children at once, so that every partition has messages to hand over.
            late_load = asyncio.create_task(publisher.publish(late))
            handover = await holding(client, victim, ALL_PARTITIONS, PIN_TTL + 8)
            await asyncio.gather(load, late_load)

            every = journeys + late

            async def all_applied() -> bool:
                known = await positions(engine)
                return all(known.get(j.stream_id) == EVENTS_PER_JOURNEY for j in every)

            await wait_for(all_applied, 30, "every child's events applied")
            await asyncio.sleep(ACK_WAIT + 0.5)  # redeliveries in flight would write now

        born, members, parked = await facts(engine)
        assert parked == 0
        assert born == {
            j.child_id: (j.corrected, compulsory_school_age_ends_on(j.corrected)) for j in every
        }
        assert members == {(j.child_id, j.staying) for j in every}
        assert await positions(engine) == dict.fromkeys(
            (j.stream_id for j in every), EVENTS_PER_JOURNEY
        )
        writes = await audited_writes(engine)
        wrong = [j.child_id for j in every if writes.get(j.child_id) != expected_writes(j)]
        assert not wrong, f"{len(wrong)} children written out of order or twice: {wrong[:3]}"
        assert rejoined_as is not None, "the restarted instance's consumer is not running"
        redelivered = await redeliveries(js)
        print(
            f"\n{len(every)} children, {len(every) * EVENTS_PER_JOURNEY} events at "
            f"{RATE:.0f}/s; split before the kill: {split}; killed {victim.label} at "
            f"{published_at_kill_and_takeover} published; survivor took all partitions in "
            f"{takeover:.2f}s (pin TTL {PIN_TTL}s); restarted {victim.label} ready applying "
            f"{rejoined_as} (pins the survivor lost while alive: {lost_while_alive}); after "
            f"{survivor.label} stopped it held them all {handover:.2f}s later; deliveries "
            f"beyond the first (holds, redeliveries): {redelivered}; "
            f"{Counter(len(w) for w in writes.values())} writes per child; "
            f"ready after {ready_at - started:.1f}s, total {time.monotonic() - started:.1f}s"
        )
    finally:
        for instance in instances:
            instance.terminate()
        await nc.close()
        await engine.dispose()
        server.stop()


async def redeliveries(js: Any) -> int:
    """Deliveries beyond the first of each message, over the consent durables' partitions
    (each delivery, redeliveries included, takes a consumer sequence number)."""
    deliveries = 0
    for index in ALL_PARTITIONS:
        info = await js.consumer_info("CHILDREN", f"{CONSUMER}_p{index}")
        deliveries += int(info.delivered.consumer_seq or 0)
    stream = await js.stream_info("CHILDREN")
    return deliveries - int(stream.state.messages)
