"""Fixtures of the plans service's API tests: the running app over real NATS and a database,
and publishers of the foreign events it reacts to (children, consent, an agency's advice),
built as their publishers document them: this service never imports their code."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4

import httpx
import nats
import pytest
from fastapi import FastAPI
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from oneplan_events.clock import FixedClock
from oneplan_events.envelope import Envelope, dataschema_for
from oneplan_events.streams import ensure_stream, service_stream
from oneplan_kit import create_app
from oneplan_kit.auth import issue_dev_token
from oneplan_plans.bootstrap import SERVICE
from oneplan_plans.config import PlansSettings

T = TypeVar("T")

NOW = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
"""The routes' clock: "today" is Tuesday 1 September 2026."""

FOREIGN_STREAMS = ("consent", "children", "referrals", "transport")


@dataclass
class Service:
    """A running plans service, a client for it, and its NATS."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: PlansSettings
    nc: NATS
    js: JetStreamContext
    clock: FixedClock

    def auth(
        self,
        agency: str = "send",
        roles: Sequence[str] = ("caseworker",),
        children: Sequence[UUID] = (),
    ) -> dict[str, str]:
        token = issue_dev_token(self.settings, agency, roles, children)
        return {"Authorization": f"Bearer {token}"}

    def manager(self) -> dict[str, str]:
        return self.auth("send", ("manager",))

    async def publish(
        self,
        service: str,
        event_type: str,
        data: dict[str, Any],
        *,
        subject: str,
        dataclass: str,
        version: int = 1,
    ) -> str:
        """Publish a foreign event on its service's stream, as its publisher does."""
        event_id = str(uuid4())
        envelope = Envelope(
            id=event_id,
            source=f"/oneplan/{service}",
            type=event_type,
            time=self.clock.now(),
            data=data,
            subject=subject,
            dataschema=dataschema_for(event_type, 1),
            childid=data.get("child_id"),
            dataclass=dataclass,
            streamversion=version,
        )
        headers, body = envelope.to_nats()
        await self.js.publish(envelope.nats_subject, body, headers=headers, stream=service.upper())
        return event_id

    async def child_registered(self, child_id: UUID, date_of_birth: date) -> None:
        await self.publish(
            "children",
            "oneplan.children.child.registered",
            {
                "child_id": str(child_id),
                "date_of_birth": date_of_birth.isoformat(),
                "compulsory_school_age_ends_on": date(date_of_birth.year + 16, 6, 26).isoformat(),
                "given_name": "Ada",
                "family_name": "Testchild",
            },
            subject=f"child/{child_id}",
            dataclass="identity",
        )

    async def story_revised(self, child_id: UUID, date_of_birth: date, aspirations: str) -> None:
        author = {"name": "Ada Testchild", "role": "child"}
        await self.publish(
            "children",
            "oneplan.children.story.revised",
            {
                "child_id": str(child_id),
                "date_of_birth": date_of_birth.isoformat(),
                "compulsory_school_age_ends_on": date(date_of_birth.year + 16, 6, 26).isoformat(),
                "revision": 1,
                "story": {
                    "aspirations": {"text": aspirations, "author": author, "told_on": "2026-01-05"}
                },
            },
            subject=f"child/{child_id}",
            dataclass="story",
            version=2,
        )

    async def consent_given(
        self,
        child_id: UUID,
        recipient: str,
        *,
        owners: Sequence[str] = ("send",),
        data_classes: Sequence[str] = ("education",),
        purposes: Sequence[str] = ("ehc_assessment",),
    ) -> UUID:
        """`oneplan.consent.consent.given` as the consent service publishes it."""
        now = self.clock.now()
        consent_id = uuid4()
        await self.publish(
            "consent",
            "oneplan.consent.consent.given",
            {
                "consent_id": str(consent_id),
                "child_id": str(child_id),
                "given_by": {"name": "Pat Testchild", "capacity": "parent_with_pr"},
                "owner_agencies": list(owners),
                "recipient_agencies": [recipient],
                "data_classes": list(data_classes),
                "purposes": list(purposes),
                "valid_from": (now - timedelta(days=1)).isoformat(),
                "valid_until": (now + timedelta(days=30)).isoformat(),
                "capture_method": "signed_form",
                "recorded_by": "send-user",
                "recorded_by_agency": "send",
            },
            subject=f"consent/{consent_id}",
            dataclass="consent",
        )
        return consent_id

    async def consent_withdrawn(self, child_id: UUID, consent_id: UUID) -> None:
        """`oneplan.consent.consent.withdrawn` (the consent's second event)."""
        await self.publish(
            "consent",
            "oneplan.consent.consent.withdrawn",
            {
                "consent_id": str(consent_id),
                "child_id": str(child_id),
                "withdrawn_at": self.clock.now().isoformat(),
                "withdrawn_by": "Pat Testchild",
            },
            subject=f"consent/{consent_id}",
            dataclass="consent",
            version=2,
        )

    async def contribution(
        self,
        service: str,
        kind: str,
        child_id: UUID,
        contribution_id: UUID,
        *,
        section: str,
        data_class: str,
        agency: str,
        version: int = 1,
        record: UUID | None = None,
        **fields: Any,
    ) -> str:
        """`oneplan.<service>.contribution.<kind>` as any agency publishes it."""
        data: dict[str, Any] = {
            "contribution_id": str(contribution_id),
            "child_id": str(child_id),
            "section": section,
            "data_class": data_class,
            "author": fields.pop("author", f"{agency}-clinician"),
            "agency": agency,
            **fields,
        }
        if kind != "withdrawn":
            data.setdefault("title", f"{agency} {section}")
            data.setdefault("content", f"What {agency} records in section {section}.")
        return await self.publish(
            service,
            f"oneplan.{service}.contribution.{kind}",
            data,
            subject=f"contribution/{record or contribution_id}",
            dataclass=data_class,
            version=version,
        )

    async def next_event(self, subject: str, wait: float = 10) -> Envelope:
        """The first event on `subject` in the PLANS stream."""
        subscription = await self.js.subscribe(subject, stream="PLANS", ordered_consumer=True)
        try:
            message = await subscription.next_msg(timeout=wait)
        finally:
            await subscription.unsubscribe()
        return Envelope.from_nats(message.subject, message.headers, message.data)


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str, tries: int = 200) -> T:
    """`probe()`'s first answer that is not None (a reaction's effect is asynchronous)."""
    for _ in range(tries):
        found = await probe()
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def _running(
    database_url: str, nats_url: str, var_dir: Path, now: datetime = NOW
) -> AsyncIterator[Service]:
    settings = PlansSettings(
        database_url=database_url, nats_url=nats_url, var_dir=var_dir, discovery_interval=1
    )
    nc: NATS = await nats.connect(nats_url)
    js = nc.jetstream()
    for name in FOREIGN_STREAMS:
        await ensure_stream(js, service_stream(name))
    clock = FixedClock(now)
    app = create_app(SERVICE, settings, clock=clock)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://plans") as client:
                yield Service(app, client, settings, nc, js, clock)
    finally:
        await nc.drain()


@pytest.fixture
async def service(sqlite_url: str, nats_url: str, tmp_path: Path) -> AsyncIterator[Service]:
    """The app on SQLite (most API tests)."""
    async for running in _running(sqlite_url, nats_url, tmp_path):
        yield running


@pytest.fixture
async def service_on(database_url: str, nats_url: str, tmp_path: Path) -> AsyncIterator[Service]:
    """The app on SQLite and on PostgreSQL."""
    async for running in _running(database_url, nats_url, tmp_path):
        yield running


@pytest.fixture
async def service_pg(pg_database_url: str, nats_url: str, tmp_path: Path) -> AsyncIterator[Service]:
    """The app on PostgreSQL only (the slow contract fuzzing: SQLite is the sweep's)."""
    async for running in _running(pg_database_url, nats_url, tmp_path):
        yield running


@pytest.fixture
async def live_service(sqlite_url: str, nats_url: str, tmp_path: Path) -> AsyncIterator[Service]:
    """The app on SQLite with today's date (the demo counts back from today)."""
    async for running in _running(sqlite_url, nats_url, tmp_path, datetime.now(UTC)):
        yield running
