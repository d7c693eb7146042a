"""Two instances of the children service under HTTP load; the one whose relay publishes is
SIGKILLed, then restarted.

Two children processes (uvicorn, each on its own port) share one PostgreSQL database and one
nats-server. Caseworkers' commands (register a child, add two family members, remove the
first, correct the date of birth) go to whichever instance is up, retried elsewhere when an
instance dies under them, as a client behind a load balancer would: a POST with its
``Idempotency-Key``, a PATCH or DELETE with its ``If-Match`` (a 409 naming the version it
would have made says it did commit). Only one instance's outbox relay publishes at a time
(the lease); mid-load that instance is SIGKILLed, the other's relay must take the lease over
within about ``relay_lease_ttl``, and the killed instance is restarted and serves again.

The end state compares the CHILDREN stream with the children database's event store: every
committed event is in the stream exactly once, each record's events in version order, and
every command committed exactly once (five events per child), the retries notwithstanding.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.js import JetStreamContext
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from oneplan_children.config import ChildrenSettings
from oneplan_events.envelope import Envelope
from oneplan_events.schema import event_store, outbox
from oneplan_events.streams import ensure_stream, service_stream
from oneplan_kit import issue_dev_token
from oneplan_kit.db import create_engine

from .conftest import connect, wait_for
from .service_processes import ServiceProcess

# Three service processes start here: on a loaded 2-core machine their imports alone take
# tens of seconds, more than the suite's default timeout leaves.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

LEASE_TTL = 2.0
CHILDREN = 80
COMMANDS_PER_CHILD = 5
RATE = 40.0  # commands a second, across the workers (about what two instances manage)
WORKERS = 6


class InstanceGone(Exception):
    """A 503 from an instance starting or stopping: try another one."""


@dataclass
class Caseworker:
    """Drives children's journeys over HTTP against whichever instances are up."""

    instances: list[ServiceProcess]
    token: str
    rate: float
    commands: int = 0
    retried: int = 0
    in_doubt: int = 0  # sent, and the instance died before answering
    replayed: int = 0  # a POST's retry answered from its Idempotency-Key
    found_committed: int = 0  # a PATCH/DELETE's retry told (409) that the first try committed
    done: list[str] = field(default_factory=list)  # child ids with every command committed
    _turn: itertools.count[int] = field(default_factory=itertools.count)
    _down_until: dict[int, float] = field(default_factory=dict)  # port -> loop time
    _sent: int = 0
    _started: float = 0.0

    async def run(self, children: int, workers: int) -> None:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for seed in range(children):
            queue.put_nowait(seed)
        self._started = asyncio.get_running_loop().time()
        async with httpx.AsyncClient(timeout=10.0) as client:
            await asyncio.gather(*(self._worker(client, queue) for _ in range(workers)))

    async def _worker(self, client: httpx.AsyncClient, queue: asyncio.Queue[int]) -> None:
        while not queue.empty():
            await self._journey(client, random.Random(queue.get_nowait()))

    async def _journey(self, client: httpx.AsyncClient, rng: random.Random) -> None:
        born = date(2012, 1, 1) + timedelta(days=rng.randrange(3000))
        details = {"given_name": "Sam", "family_name": "Example", "date_of_birth": str(born)}
        child = await self._post(client, "/v1/children", None, details)
        url = f"/v1/children/{child['child_id']}"
        member = {
            "given_name": "Alex",
            "family_name": "Example",
            "relationship": "parent",
            "parental_responsibility": True,
        }
        leaving = await self._post(client, f"{url}/family-members", 1, member)
        await self._post(client, f"{url}/family-members", 2, member)
        await self._change(client, "DELETE", f"{url}/family-members/{leaving['member_id']}", 3)
        corrected = born + timedelta(days=1 + rng.randrange(30))
        await self._change(client, "PATCH", url, 4, {"date_of_birth": corrected.isoformat()})
        self.done.append(child["child_id"])

    async def _post(
        self, client: httpx.AsyncClient, path: str, version: int | None, body: dict[str, Any]
    ) -> dict[str, Any]:
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        if version is not None:
            headers["If-Match"] = f'"{version}"'
        response = await self._send(client, "POST", path, headers, body)
        assert response.status_code == 201, response.text
        if response.headers.get("Idempotent-Replayed") == "true":
            self.replayed += 1
        created: dict[str, Any] = response.json()
        return created

    async def _change(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        version: int,
        body: dict[str, Any] | None = None,
    ) -> None:
        """A PATCH or DELETE at ``version``: retried, a 409 at ``version + 1`` means a try
        that got no answer did commit (nobody else writes this child)."""
        headers = {"If-Match": f'"{version}"'}
        response = await self._send(client, method, path, headers, body)
        if response.status_code == 409 and response.json().get("current_version") == version + 1:
            self.found_committed += 1
            return
        assert response.status_code == 200, response.text

    async def _send(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        headers: dict[str, str],
        body: dict[str, Any] | None,
    ) -> httpx.Response:
        await self._pace()
        self.commands += 1
        headers = {**headers, "Authorization": f"Bearer {self.token}"}
        for attempt in range(40):
            instance = self._next_instance()
            try:
                response = await client.request(
                    method, f"{instance.url}{path}", headers=headers, json=body
                )
                if response.status_code == 503:
                    raise InstanceGone(response.text)
                return response
            except (httpx.TransportError, InstanceGone) as error:
                if not isinstance(error, httpx.ConnectError | InstanceGone):
                    self.in_doubt += 1  # it may have committed: the retry must tell
                self._mark_down(instance)
                self.retried += 1
                await asyncio.sleep(0.05 * min(attempt + 1, 5))
        pytest.fail(f"{method} {path} got no answer from any instance")

    def _next_instance(self) -> ServiceProcess:
        now = asyncio.get_running_loop().time()
        up = [
            instance
            for instance in self.instances
            if instance.alive and self._down_until.get(instance.port, 0.0) <= now
        ]
        candidates = up or self.instances
        return candidates[next(self._turn) % len(candidates)]

    def _mark_down(self, instance: ServiceProcess) -> None:
        """Send elsewhere for a second (a load balancer's health check, roughly)."""
        self._down_until[instance.port] = asyncio.get_running_loop().time() + 1.0

    async def _pace(self) -> None:
        loop = asyncio.get_running_loop()
        self._sent += 1
        await asyncio.sleep(max(0.0, self._started + self._sent / self.rate - loop.time()))


async def lease_holder(engine: AsyncEngine) -> tuple[int, float] | None:
    """The pid of the relay holding the children lease, and seconds until it expires."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT holder, extract(epoch FROM expires_at - now()) AS remaining "
                    "FROM relay_lease WHERE name = 'children'"
                )
            )
        ).one_or_none()
    if row is None:
        return None
    return int(row.holder.split(":")[1]), float(row.remaining)


async def stored_events(engine: AsyncEngine) -> dict[str, list[tuple[int, str]]]:
    """Each record's (version, event id) in the event store, in version order."""
    async with engine.connect() as conn:
        result = await conn.execute(
            select(event_store.c.stream_id, event_store.c.version, event_store.c.event_id).order_by(
                event_store.c.stream_id, event_store.c.version
            )
        )
        records: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for row in result:
            records[row.stream_id].append((row.version, row.event_id))
        return dict(records)


async def streamed_events(js: JetStreamContext) -> list[tuple[str, int, str]]:
    """Every message of the CHILDREN stream, in stream order: (record, version, Nats-Msg-Id)."""
    info = await js.stream_info("CHILDREN")
    messages = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg("CHILDREN", seq)
        headers = message.headers or {}
        envelope = Envelope.from_nats(message.subject, headers, message.data)
        assert envelope.subject is not None
        assert envelope.streamversion is not None
        messages.append((envelope.subject, envelope.streamversion, headers["Nats-Msg-Id"]))
    return messages


async def unpublished(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        count = await conn.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        )
    return int(count or 0)


async def test_a_killed_children_instance_hands_the_relay_over_and_publishes_once_in_order(
    pg_database_url: str,
    nats_server_factory: Callable[..., Any],
    service_process: Callable[..., ServiceProcess],
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    server = nats_server_factory()
    nc = await connect(server.url)
    js = nc.jetstream(timeout=5)
    # The consent replica the children service reads proves itself fresh on this stream.
    await ensure_stream(js, service_stream("consent"))
    key = tmp_path / "signing-key.pem"
    settings = ChildrenSettings(dev_signing_key=key, var_dir=tmp_path)
    token = issue_dev_token(settings, "send", ("caseworker",))  # writes the shared key first
    environment = {
        "CHILDREN_DATABASE_URL": pg_database_url,
        "ONEPLAN_NATS_URL": server.url,
        "ONEPLAN_RELAY_LEASE_TTL": str(LEASE_TTL),
        "ONEPLAN_VAR_DIR": str(tmp_path),
        "ONEPLAN_DEV_SIGNING_KEY": str(key),
    }
    instances = [
        service_process("oneplan_children", "CHILDREN_", label, **environment)
        for label in ("children-a", "children-b")
    ]
    engine = create_engine(pg_database_url)
    caseworker = Caseworker(instances, token, RATE)
    try:
        async with httpx.AsyncClient() as client:
            for instance in instances:
                instance.start()
            await asyncio.gather(*(instance.wait_ready(client) for instance in instances))
            ready_at = time.monotonic()
            load = asyncio.create_task(caseworker.run(CHILDREN, WORKERS))

            async def a_third_sent() -> bool:
                return caseworker.commands >= CHILDREN * COMMANDS_PER_CHILD // 3

            await wait_for(a_third_sent, 60, "a third of the commands sent")
            holder = await lease_holder(engine)
            assert holder is not None, "no relay holds the lease"
            victim = next(i for i in instances if i.pid == holder[0])
            survivor = next(i for i in instances if i is not victim)
            victim_pid, survivor_pid = victim.pid, survivor.pid
            victim.kill()
            killed_at = time.monotonic()

            async def taken_over() -> bool:
                now = await lease_holder(engine)
                return now is not None and now[0] == survivor_pid

            await wait_for(taken_over, LEASE_TTL + 10, "the survivor's relay holding the lease")
            takeover = time.monotonic() - killed_at

            victim.start()
            await victim.wait_ready(client)
            await load
            loaded_at = time.monotonic()
            rejoined = await lease_holder(engine)

            async def drained() -> bool:
                return await unpublished(engine) == 0

            await wait_for(drained, 30, "the outbox published")

        drained_at = time.monotonic()
        stored = await stored_events(engine)
        streamed = await streamed_events(js)
        ids = Counter(event_id for _, _, event_id in streamed)
        assert not [i for i, n in ids.items() if n > 1], "events published more than once"
        stored_ids = {event_id for events in stored.values() for _, event_id in events}
        assert set(ids) == stored_ids, "committed events missing from the stream, or extra"
        in_stream_order: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for record, version, event_id in streamed:
            in_stream_order[record].append((version, event_id))
        assert dict(in_stream_order) == stored, "a record's events out of order in the stream"
        assert len(caseworker.done) == CHILDREN
        assert {len(events) for events in stored.values()} == {COMMANDS_PER_CHILD}
        assert set(stored) == {f"child/{child_id}" for child_id in caseworker.done}
        assert rejoined is not None
        assert rejoined[0] == survivor_pid, "the restarted instance took a live relay's lease"
        print(
            f"\n{CHILDREN} children, {caseworker.commands} commands at up to {RATE:.0f}/s "
            f"({caseworker.retried} retries after the kill: {caseworker.in_doubt} sent and "
            f"unanswered, {caseworker.replayed} POSTs replayed by their key, "
            f"{caseworker.found_committed} changes found committed), {len(streamed)} events "
            f"published; killed {victim.label} (pid {victim_pid}, relay lease holder); "
            f"{survivor.label}'s relay took the lease over {takeover:.2f}s later "
            f"(lease TTL {LEASE_TTL}s); the restarted {victim.label} served as standby; "
            f"ready after {ready_at - started:.1f}s, load {loaded_at - ready_at:.1f}s, outbox "
            f"drained {drained_at - loaded_at:.1f}s later, total {time.monotonic() - started:.1f}s"
        )
    finally:
        for instance in instances:
            instance.terminate()
        await nc.close()
        await engine.dispose()
        server.stop()
