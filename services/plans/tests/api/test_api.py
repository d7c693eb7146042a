"""The HTTP API through httpx.ASGITransport, with the lifespan running on real NATS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx
import nats
import pytest
from fastapi import FastAPI
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from oneplan_events.envelope import Envelope
from oneplan_events.streams import service_stream
from oneplan_kit.auth import issue_dev_token
from oneplan_kit.runtime import Runtime
from oneplan_plans.config import PlansSettings
from oneplan_plans.entrypoints.api import create_app
from oneplan_plans.entrypoints.schemas import NoteOut, NotesOut
from oneplan_plans.events import DATA_CLASS

CHILD = UUID("0b6f3c1e-8d55-4a57-9d55-1f3f7b1f0c11")


@dataclass
class Service:
    """The running plans service, a client for it, and its NATS."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: PlansSettings
    nc: Client

    def auth(
        self,
        agency: str = "plans",
        roles: Sequence[str] = ("practitioner",),
        children: Sequence[UUID] = (),
    ) -> dict[str, str]:
        token = issue_dev_token(self.settings, agency, roles, children)
        return {"Authorization": f"Bearer {token}"}

    async def record(self, text: str = "Enjoys the sensory room.") -> httpx.Response:
        body = {"child_id": str(CHILD), "text": text}
        return await self.client.post("/v1/notes", json=body, headers=self.auth())

    async def consent_replica_ready(self) -> None:
        runtime: Runtime = self.app.state.runtime
        async with asyncio.timeout(10):
            while True:
                if runtime.replica is not None and runtime.replica.ready:
                    return
                await asyncio.sleep(0.05)


@pytest.fixture
async def service(sqlite_url: str, nats_url: str, tmp_path: Path) -> AsyncIterator[Service]:
    settings = PlansSettings(database_url=sqlite_url, nats_url=nats_url, var_dir=tmp_path)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    try:
        await js.stream_info("CONSENT")
    except NotFoundError:
        # The consent replica follows CONSENT (the consent service's stream): give it one.
        await js.add_stream(service_stream("consent").config())
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            base_url = "http://plans"
            async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
                yield Service(app, client, settings, nc)
    finally:
        await nc.drain()


async def test_a_recorded_note_is_read_back_and_published(service: Service) -> None:
    created = await service.record()
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    note = NoteOut.model_validate(created.json())
    subject = f"oneplan.plans.note.recorded.{note.note_id}.*"
    published = await service.nc.jetstream().subscribe(
        subject, stream="PLANS", ordered_consumer=True
    )
    message = await published.next_msg(timeout=10)
    await published.unsubscribe()
    envelope = Envelope.from_nats(message.subject, message.headers, message.data)
    assert (envelope.type, envelope.data["note_id"]) == (
        "oneplan.plans.note.recorded",
        str(note.note_id),
    )
    read = await service.client.get(f"/v1/children/{CHILD}/notes", headers=service.auth())
    assert read.status_code == 200, read.text
    assert NotesOut.model_validate(read.json()).items == [note]


async def test_the_family_reads_their_childs_notes(service: Service) -> None:
    await service.record()
    family = service.auth("family", ("parent",), [CHILD])
    read = await service.client.get(f"/v1/children/{CHILD}/notes", headers=family)
    assert read.status_code == 200, read.text
    assert read.json()["items"]


async def test_another_agency_states_a_purpose_and_needs_a_permit(service: Service) -> None:
    await service.record()
    await service.consent_replica_ready()
    send = service.auth("send", ("caseworker",))
    url = f"/v1/children/{CHILD}/notes"
    no_purpose = await service.client.get(url, headers=send)
    assert no_purpose.status_code == 400, no_purpose.text
    assert "purpose" in no_purpose.json()["detail"]
    read = await service.client.get(url, params={"purpose": "ehc_assessment"}, headers=send)
    assert read.status_code == 200, read.text
    # No consent was given: the content is withheld, and the response says which and why.
    body = read.json()
    assert body["items"] == []
    [withheld] = body["withheld"]
    assert withheld["data_class"] == DATA_CLASS.value
    assert withheld["reason"]


async def test_bad_input_is_refused_naming_the_field(service: Service) -> None:
    refused = await service.record(text="<script>alert('x')</script>")
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "text" in {part for error in refused.json()["errors"] for part in error["location"]}


async def test_only_this_agencys_practitioners_record_notes(service: Service) -> None:
    body = {"child_id": str(CHILD), "text": "Not ours to record."}
    send = service.auth("send", ("caseworker",))
    refused = await service.client.post("/v1/notes", json=body, headers=send)
    assert refused.status_code == 403, refused.text
    family = service.auth("family", ("parent",), [CHILD])
    assert (await service.client.post("/v1/notes", json=body, headers=family)).status_code == 403


async def test_a_caller_without_a_token_is_refused(service: Service) -> None:
    refused = await service.client.post("/v1/notes", json={"child_id": str(CHILD), "text": "x"})
    assert refused.status_code == 401
