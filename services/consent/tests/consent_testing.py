"""Helpers of the consent service tests: tokens, request bodies, and the children service's
events published as the children service publishes them.

The consent service never imports the children service's code, and neither do its tests: the
children events are built from the children service's published contract (the AsyncAPI
document), with what the consent service reads and a little more, on the subjects the children
service uses (``<type>.<child id>``, each record's stream versions in order).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
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
from oneplan_events.catalogue import Catalogue, DisclosureRecorded, register_disclosure_event
from oneplan_events.envelope import Envelope, dataschema_for
from oneplan_events.schema import event_store
from oneplan_kit import Runtime, issue_dev_token

CHILDREN_SOURCE = "/oneplan/children"
_AGE_FACTS = ("date_of_birth", "compulsory_school_age_ends_on")

# Publishes the generic disclosure family (oneplan.<service>.disclosure.recorded) for any
# service, as each service's own catalogue does.
_DISCLOSURES = Catalogue()


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


def _json(value: Any) -> Any:
    if isinstance(value, UUID | date):
        return value.isoformat() if isinstance(value, date) else str(value)
    return value


def children_envelope(
    event_type: str, child_id: UUID, version: int, data: dict[str, Any]
) -> Envelope:
    """A children service event about `child_id` (its stream `child/<id>`, at `version`)."""
    return Envelope(
        id=str(uuid4()),
        source=CHILDREN_SOURCE,
        type=event_type,
        time=datetime.now(UTC),
        data={name: _json(value) for name, value in data.items()},
        subject=f"child/{child_id}",
        dataschema=dataschema_for(event_type, 1),
        childid=str(child_id),
        dataclass="identity",
        streamversion=version,
    )


def disclosure_envelope(service: str, event: DisclosureRecorded) -> Envelope:
    """`oneplan.<service>.disclosure.recorded` as that service's store records it."""
    model = register_disclosure_event(service, _DISCLOSURES)
    typed = model.model_validate(event.model_dump())
    envelope = _DISCLOSURES.envelope_for(
        typed, source=f"/oneplan/{service}", subject=f"disclosure/{event.disclosure_id}"
    )
    return dataclasses.replace(envelope, streamversion=1)


def disclosure(child_id: UUID, **fields: Any) -> DisclosureRecorded:
    """A disclosure of the child's story to health under a consent, unless told otherwise."""
    values: dict[str, Any] = {
        "disclosure_id": uuid4(),
        "child_id": child_id,
        "owner_agency": "send",
        "recipient_agency": "health",
        "recipient": "health-user-1",
        "data_classes": ("story",),
        "purpose": "health_care",
        "basis": "consent",
        "reference_id": uuid4(),
        "disclosed_at": datetime.now(UTC),
    }
    values.update(fields)
    return register_disclosure_event("children").model_validate(values)


async def publish(js: JetStreamContext, envelope: Envelope) -> None:
    """Publish on the event's subject, `<type>.<record key>`, as the outbox relay does."""
    headers, body = envelope.to_nats()
    await js.publish(envelope.nats_subject, body, headers=headers)


class ChildrenStream:
    """The children service's events about synthetic children, each child's in version order."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self._versions: Counter[UUID] = Counter()
        self._facts: dict[UUID, dict[str, Any]] = {}

    async def publish(self, event_type: str, child_id: UUID, **data: Any) -> None:
        self._versions[child_id] += 1
        # Every children event repeats the child's age facts: remember the last ones told.
        facts = self._facts.setdefault(child_id, {})
        facts.update({k: v for k, v in data.items() if k in _AGE_FACTS})
        payload = {"child_id": child_id, **facts, **data}
        await publish(
            self.js, children_envelope(event_type, child_id, self._versions[child_id], payload)
        )

    async def registered(
        self, child_id: UUID, date_of_birth: date, compulsory_school_age_ends_on: date
    ) -> None:
        await self.publish(
            "oneplan.children.child.registered",
            child_id,
            date_of_birth=date_of_birth,
            compulsory_school_age_ends_on=compulsory_school_age_ends_on,
            given_name="Sam",
            family_name="Example",
            languages=[],
        )

    async def member_added(
        self, child_id: UUID, member_id: UUID, *, pr: bool, relationship: str = "parent"
    ) -> None:
        await self.publish(
            "oneplan.children.family_member.added",
            child_id,
            member_id=member_id,
            given_name="Alex",
            family_name="Example",
            relationship=relationship,
            parental_responsibility=pr,
            roles=[],
            contact={},
        )

    async def member_removed(self, child_id: UUID, member_id: UUID) -> None:
        await self.publish(
            "oneplan.children.family_member.removed",
            child_id,
            member_id=member_id,
            relationship="parent",
            parental_responsibility=True,
            ended_on=date.today(),
        )


class ChildMaker:
    """Registers synthetic children (with a parent, holding PR unless told) on the CHILDREN
    stream and waits until the consent service has learned them."""

    def __init__(self, app: FastAPI, children: ChildrenStream) -> None:
        self._app = app
        self.children = children

    async def __call__(
        self, date_of_birth: date, compulsory_school_age_ends_on: date, *, pr: bool = True
    ) -> tuple[UUID, UUID]:
        child_id, parent_id = uuid4(), uuid4()
        await self.children.registered(child_id, date_of_birth, compulsory_school_age_ends_on)
        await self.children.member_added(child_id, parent_id, pr=pr)
        await self.wait_for_member(child_id, parent_id)
        return child_id, parent_id

    async def add_member(self, child_id: UUID) -> UUID:
        """A second person with parental responsibility in the child's network."""
        member_id = uuid4()
        await self.children.member_added(child_id, member_id, pr=True)
        await self.wait_for_member(child_id, member_id)
        return member_id

    async def facts(self, child_id: UUID) -> ChildFacts | None:
        async with runtime_of(self._app).sessionmaker() as session:
            return await load_child_facts(session, child_id)

    async def wait_for_member(self, child_id: UUID, member_id: UUID, present: bool = True) -> None:
        deadline = time.monotonic() + 15
        while True:
            facts = await self.facts(child_id)
            if facts is not None and (member_id in facts.members) is present:
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
