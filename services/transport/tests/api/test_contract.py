"""The transport service answers as its OpenAPI document says, and refuses hostile input.

The fuzzer (schemathesis) draws requests from the document and every answer is held to it;
the sweep sends hostile values to every string the document lets a caller send. Both run on
SQLite and PostgreSQL. What the document cannot say is bound here: a transport officer's
token, and for each operation a fresh case in the state it needs (open, decided eligible,
arranged, in travel training), prepared through the service's own commands in its database
(the NATS path that opens cases is test_reactions.py's).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest

from oneplan_kit import Runtime
from oneplan_testkit.contract import CONTROL_CHARACTERS, Call, fuzz, string_inputs, sweep
from oneplan_transport.adapters import repository
from oneplan_transport.domain.commands import (
    DecideEligibility,
    MakeArrangement,
    OpenCaseFromPlan,
    ReferTravelTraining,
)
from oneplan_transport.domain.model import case_id_for
from oneplan_transport.events import ArrangementDetails, CaseSetting, EligibilityFacts, Mode

from .conftest import Service

# Slow: the fuzzer and the sweep on SQLite and PostgreSQL.
pytestmark = pytest.mark.slow

FUZZ_EXAMPLES = 5
BORN = date(2015, 3, 1)

_STAGES = {
    "POST /v1/cases/{case_id}/arrangement": "eligible",
    "PUT /v1/cases/{case_id}/arrangement": "arranged",
    "POST /v1/cases/{case_id}/arrangement/cancellation": "arranged",
    "POST /v1/cases/{case_id}/travel-training/sessions": "training",
    "POST /v1/cases/{case_id}/travel-training/conclusion": "training",
    "POST /v1/children/{child_id}/transport/review-requests": "decided",
}


class TransportState:
    """Binds calls to cases that exist, each in the state its operation needs."""

    def __init__(self, service: Service, *, sweeping: bool = False) -> None:
        self.service = service
        self.headers = service.auth()
        self.kept: UUID | None = None
        # The sweep sends each operation's example first (it must succeed, so it gets a fresh
        # case), then hostile requests refused before any handler runs: those share one case
        # per operation (if one were wrongly accepted, the sweep reports it anyway).
        self.sweeping = sweeping
        self.bound: dict[str, int] = {}
        self.shared: dict[str, UUID] = {}

    async def child_in(self, stage: str) -> UUID:
        child = uuid4()
        case_id = case_id_for(child)
        runtime: Runtime = self.service.app.state.runtime
        setting = CaseSetting(name="Brook Green School", urn="123456")
        commands: list[Any] = [
            OpenCaseFromPlan(case_id, child, uuid4(), date(2026, 9, 1), setting, date(2026, 9, 21))
        ]
        if stage in ("eligible", "arranged", "decided"):
            facts = EligibilityFacts(distance_miles=9)
            commands.append(
                DecideEligibility(
                    uuid4(), facts, date(2026, 9, 14), "o", BORN, date(2031, 6, 27), 10
                )
            )
        if stage == "arranged":
            bus = ArrangementDetails(modes=(Mode.BUS_PASS,), starts_on=date(2026, 9, 21))
            commands.append(MakeArrangement(uuid4(), bus, date(2026, 9, 14), "o"))
        if stage == "training":
            commands.append(ReferTravelTraining(uuid4(), date(2026, 9, 14), "Bus alone.", "o"))
        async with runtime.unit_of_work() as uow:
            for command in commands:
                await uow.execute(repository.CASES, case_id, command)
            await uow.commit()
        return child

    async def bind(self, call: Call, honest: bool) -> None:
        call.headers["Authorization"] = self.headers["Authorization"]
        # A drawn token names a CONSENT sequence that never comes: the read would wait its
        # full 2 s for a 503.
        call.headers.pop("Consistency-Token", None)
        if not honest:
            return
        stage = _STAGES.get(call.label, "open")
        if call.method == "GET":
            if self.kept is None:
                self.kept = await self.child_in("open")
            child = self.kept
        else:
            child = await self._child_for(call.label, stage)
        if "case_id" in call.path_parameters:
            call.path_parameters["case_id"] = str(case_id_for(child))
        if "child_id" in call.path_parameters:
            call.path_parameters["child_id"] = str(child)
        call.headers.pop("If-Match", None)  # a drawn ETag is stale: the dishonest calls say so
        if isinstance(call.body, dict):
            _bind_body(call.body)

    async def _child_for(self, label: str, stage: str) -> UUID:
        self.bound[label] = self.bound.get(label, 0) + 1
        if not self.sweeping or self.bound[label] == 1:
            return await self.child_in(stage)
        if label not in self.shared:
            self.shared[label] = await self.child_in(stage)
        return self.shared[label]


def _bind_body(body: dict[str, Any]) -> None:
    """What the rules ask beyond the schema: details with their facts, times in order, dates
    in the past where they must be."""
    if "distance_miles" in body:
        body["date_of_birth"] = BORN.isoformat()
        for flag, details in (
            ("sen_disability_or_mobility_prevents_walking", "sen_disability_or_mobility_details"),
            ("route_unsafe", "route_unsafe_details"),
        ):
            if body.get(flag) and not body.get(details):
                body[details] = "Details."
    if "modes" in body:
        body.update(modes=["bus_pass"], pick_up_time=None, drop_off_time=None)
    if "hazards" in body:
        body.update(assessed_on="2026-09-10", review_due_on="2027-03-10")
        if body.get("medical_needs"):
            body.setdefault("medical_handling", "Carried by the escort.")
            body["medical_handling"] = body["medical_handling"] or "Carried by the escort."
    if "session_on" in body:
        body["session_on"] = "2026-09-14"


async def test_every_answer_is_the_documented_one(service: Service) -> None:
    report = await fuzz(
        service.app.openapi(), service.client, TransportState(service), max_examples=FUZZ_EXAMPLES
    )
    print(report.summary())
    assert report.failures() == [], "\n\n".join(report.failures())
    assert report.writes_without_success() == []


async def test_every_string_input_refuses_hostile_values(service: Service) -> None:
    report = await sweep(
        string_inputs(service.app.openapi()),
        service.client,
        TransportState(service, sweeping=True),
        service.stored_events,
    )
    print(f"{len(report.inputs)} string inputs, {report.requests} requests")
    assert report.faults == [], "\n".join(report.faults)
    assert report.control_characters == set(CONTROL_CHARACTERS)
    covered = {(item.operation, item.location) for item in report.inputs}
    assert {
        ("POST /v1/cases/{case_id}/risk-assessments", ("body", "hazards", 0)),
        ("PUT /v1/cases/{case_id}/arrangement", ("body", "reason")),
        ("POST /v1/children/{child_id}/transport/review-requests", ("body", "grounds")),
    } <= covered
