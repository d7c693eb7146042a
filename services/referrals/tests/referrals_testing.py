"""Helpers of the referrals service's tests: the running service, and the children and plans
services' events as they publish them (built from their contract, never their code)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
from fastapi import FastAPI
from nats.js import JetStreamContext
from sqlalchemy import func, select

from oneplan_events.clock import FixedClock
from oneplan_events.envelope import Envelope, dataschema_for
from oneplan_events.schema import event_store
from oneplan_kit.auth import issue_dev_token
from oneplan_kit.runtime import Runtime
from oneplan_referrals.adapters import repository
from oneplan_referrals.config import ReferralsSettings

RISE = UUID("3f2b8a10-4c1e-4f7a-9b61-0c5d2e7a1001")
SALT = UUID("3f2b8a10-4c1e-4f7a-9b61-0c5d2e7a1003")
OT = UUID("3f2b8a10-4c1e-4f7a-9b61-0c5d2e7a1004")
TODAY = date(2026, 6, 1)


def _json(value: Any) -> Any:
    if isinstance(value, UUID | date):
        return str(value) if isinstance(value, UUID) else value.isoformat()
    return value


def foreign_envelope(
    service: str,
    event_type: str,
    stream_id: str,
    version: int,
    child_id: UUID,
    data_class: str,
    data: dict[str, Any],
) -> Envelope:
    """Another service's event as its store and relay publish it."""
    return Envelope(
        id=str(uuid4()),
        source=f"/oneplan/{service}",
        type=event_type,
        time=datetime.now(UTC),
        data={name: _json(value) for name, value in data.items()},
        subject=stream_id,
        dataschema=dataschema_for(event_type, 1),
        childid=str(child_id),
        dataclass=data_class,
        streamversion=version,
    )


async def wait_until(predicate: Callable[[], Any], within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while True:
            if await predicate():
                return
            await asyncio.sleep(0.05)


@dataclass
class Service:
    """A running referrals service, a client for it, the clock its routes read, and NATS."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: ReferralsSettings
    js: JetStreamContext
    clock: FixedClock
    versions: Counter[str] = field(default_factory=Counter)

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    def auth(
        self,
        agency: str = "health",
        roles: Sequence[str] = ("clinician",),
        children: Sequence[UUID] = (),
    ) -> dict[str, str]:
        token = issue_dev_token(self.settings, agency, roles, children)
        return {"Authorization": f"Bearer {token}"}

    async def publish(self, envelope: Envelope) -> None:
        headers, body = envelope.to_nats()
        await self.js.publish(envelope.nats_subject, body, headers=headers)

    async def known_child(self, date_of_birth: date = date(2015, 3, 1)) -> UUID:
        """A child the children service registered, once this service has learned it."""
        child_id = uuid4()
        stream = f"child/{child_id}"
        self.versions[stream] += 1
        await self.publish(
            foreign_envelope(
                "children",
                "oneplan.children.child.registered",
                stream,
                self.versions[stream],
                child_id,
                "identity",
                {"child_id": child_id, "date_of_birth": date_of_birth, "given_name": "Sam"},
            )
        )

        async def learned() -> bool:
            async with self.runtime.sessionmaker() as session:
                return await repository.child_is_known(session, child_id)

        await wait_until(learned)
        return child_id

    async def request_advice(
        self,
        child_id: UUID,
        agency: str = "health",
        requested_on: date = date(2026, 5, 4),
        advice_request_id: UUID | None = None,
        assessment_id: UUID | None = None,
        event_id: str | None = None,
    ) -> tuple[UUID, Envelope]:
        """The plans service asks `agency` for advice (contract.md)."""
        request_id = advice_request_id or uuid4()
        assessment = assessment_id or uuid4()
        stream = f"assessment/{assessment}"
        self.versions[stream] += 1
        envelope = foreign_envelope(
            "plans",
            "oneplan.plans.advice.requested",
            stream,
            self.versions[stream],
            child_id,
            "education",
            {
                "assessment_id": assessment,
                "advice_request_id": request_id,
                "child_id": child_id,
                "agency": agency,
                "advice_type": "health" if agency == "health" else "other",
                "requested_on": requested_on,
                "due_on": requested_on + timedelta(weeks=6),
                "question": "What are the child's health needs?",
            },
        )
        if event_id:
            envelope = Envelope(**{**envelope.__dict__, "id": event_id})
        await self.publish(envelope)
        return request_id, envelope

    async def stored_events(self) -> int:
        async with self.runtime.engine.connect() as conn:
            query = select(func.count()).select_from(event_store)
            return int((await conn.execute(query)).scalar_one())

    async def refer(self, child_id: UUID, **changes: Any) -> httpx.Response:
        body: dict[str, Any] = {
            "child_id": str(child_id),
            "service_id": str(RISE),
            "reason": "Low mood and school refusal since January.",
            "urgency": "routine",
            "received_on": "2026-01-05",
        }
        body.update(changes)
        return await self.client.post("/v1/referrals", json=body, headers=self.auth())
