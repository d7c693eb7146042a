"""Helpers of the consent service tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from fastapi import FastAPI
from nats.js import JetStreamContext
from sqlalchemy import func, select

from oneplan_consent.adapters.repository import load_child_facts
from oneplan_consent.config import ConsentSettings
from oneplan_consent.domain.who_may_consent import ChildFacts
from oneplan_events.catalogue import CATALOGUE, Event
from oneplan_events.catalogue.children import ChildRegistered, FamilyMemberAdded, Relationship
from oneplan_events.schema import event_store
from oneplan_kit import Runtime, issue_dev_token


def runtime_of(app: FastAPI) -> Runtime:
    runtime = app.state.runtime
    assert isinstance(runtime, Runtime)
    return runtime


async def wait_until(predicate: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


class Tokens:
    """Development tokens for the running service's key."""

    def __init__(self, settings: ConsentSettings) -> None:
        self._settings = settings

    def family(self, child_id: UUID, member_id: UUID) -> dict[str, str]:
        """The token of one family member (or, with the child's id, the young person)."""
        return self("family", ("parent",), [child_id], sub=member_id)

    def __call__(
        self,
        agency: str = "send",
        roles: tuple[str, ...] = ("caseworker",),
        children: Any = (),
        sub: Any = None,
    ) -> dict[str, str]:
        token = issue_dev_token(
            self._settings, agency, roles, children, sub=None if sub is None else str(sub)
        )
        return {"Authorization": f"Bearer {token}"}


async def publish(js: JetStreamContext, event: Event, source: str = "/oneplan/children") -> None:
    envelope = CATALOGUE.envelope_for(event, source=source, subject=f"child/{uuid4()}")
    headers, body = envelope.to_nats()
    await js.publish(envelope.type, body, headers=headers)


class ChildMaker:
    """Registers synthetic children (with a parent holding PR) on the CHILDREN stream and waits
    until the consent service has learned them."""

    def __init__(self, app: FastAPI, js: JetStreamContext) -> None:
        self._app = app
        self._js = js

    async def __call__(
        self, date_of_birth: date, compulsory_school_age_ends_on: date, *, pr: bool = True
    ) -> tuple[UUID, UUID]:
        child_id, parent_id = uuid4(), uuid4()
        facts = {
            "child_id": child_id,
            "date_of_birth": date_of_birth,
            "compulsory_school_age_ends_on": compulsory_school_age_ends_on,
        }
        await publish(self._js, ChildRegistered(**facts, given_name="Sam", family_name="Example"))
        await publish(
            self._js,
            FamilyMemberAdded(
                **facts,
                member_id=parent_id,
                given_name="Alex",
                family_name="Example",
                relationship=Relationship.PARENT,
                parental_responsibility=pr,
            ),
        )
        await self.wait_for_member(child_id, parent_id)
        return child_id, parent_id

    async def facts(self, child_id: UUID) -> ChildFacts | None:
        async with runtime_of(self._app).sessionmaker() as session:
            return await load_child_facts(session, child_id)

    async def wait_for_member(self, child_id: UUID, member_id: UUID) -> None:
        deadline = time.monotonic() + 10
        while True:
            facts = await self.facts(child_id)
            if facts is not None and member_id in facts.members:
                return
            if time.monotonic() > deadline:
                raise AssertionError("the consent service did not learn the child in time")
            await asyncio.sleep(0.05)


TODAY = datetime.now(UTC).date()
# A ten-year-old: of compulsory school age for years yet.
CHILD_DOB = date(TODAY.year - 10, 3, 1)
CHILD_CSA_END = date(TODAY.year + 6, 6, 26)
# Seventeen: compulsory school age ended last summer.
YOUNG_DOB = date(TODAY.year - 17, 3, 1)
YOUNG_CSA_END = TODAY - timedelta(days=200)


def consent_body(person_id: UUID, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "given_by": {
            "person_id": str(person_id),
            "name": "Alex Example",
            "capacity": "parent_with_pr",
        },
        "owner_agencies": ["send"],
        "recipient_agencies": ["health"],
        "data_classes": ["story"],
        "purposes": ["health_care"],
        "valid_until": (datetime.now(UTC) + timedelta(days=365)).isoformat(),
        "capture_method": "signed_form",
    }
    body.update(changes)
    return body


def decision_body(child_id: UUID, **changes: Any) -> dict[str, Any]:
    body = {
        "child_id": str(child_id),
        "owner_agency": "send",
        "recipient_agency": "health",
        "data_class": "story",
        "purpose": "health_care",
    }
    body.update(changes)
    return body


async def stored_events(app: FastAPI) -> int:
    async with runtime_of(app).engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(event_store))).scalar_one())
