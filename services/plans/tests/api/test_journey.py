"""A request driven to a final plan over HTTP, on SQLite and PostgreSQL, seeing the contract
events on NATS; the reactions to children events and to an agency's advice."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

from oneplan_plans.adapters.tables import ChildFactsRow
from oneplan_plans.entrypoints.schemas import AssessmentOut, ClocksOut, PlanOut, WorklistOut

from ..conftest import Service, eventually

SETTING = {"name": "Example Primary School", "urn": "100001", "type": "mainstream"}
SECTIONS = {
    "B": "Speech and language needs.",
    "E": "Says a sentence of 5 words.",
    "F": "SALT weekly.",
}


async def request(
    service: Service, child_id: UUID, received_on: str = "2026-03-02"
) -> dict[str, Any]:
    body = {
        "child_id": str(child_id),
        "received_on": received_on,
        "requested_by": "parent",
        "child_views": "I want to stay with my friends.",
        "views_helped_by": "Her key worker",
    }
    created = await service.client.post("/v1/assessments", json=body, headers=service.auth())
    assert created.status_code == 201, created.text
    return dict(created.json())


async def step(
    service: Service, path: str, body: dict[str, Any], *, manager: bool = False, status: int = 200
) -> dict[str, Any]:
    headers = service.manager() if manager else service.auth()
    response = await service.client.post(path, json=body, headers=headers)
    assert response.status_code == status, response.text
    return dict(response.json())


async def test_a_request_reaches_a_final_plan_and_transport_sees_plan_issued(
    service_on: Service,
) -> None:
    service, child = service_on, uuid4()
    created = await request(service, child)
    url = f"/v1/assessments/{created['assessment_id']}"
    assert created["stage"] == "requested"
    assert [c["due_on"] for c in created["clocks"]] == ["2026-04-13", "2026-06-22", "2026-07-20"]
    requested = await service.next_event(
        f"oneplan.plans.assessment.requested.{created['assessment_id']}.*"
    )
    assert requested.data["received_on"] == "2026-03-02"
    assert requested.data["requested_by"] == "parent"

    decided = {"outcome": "agree", "decided_on": "2026-04-10", "reasons": "Evidence of needs."}
    await step(service, f"{url}/decision", decided, manager=True)
    asked = await step(
        service,
        f"{url}/advice-requests",
        {
            "agency": "health",
            "advice_type": "health",
            "requested_on": "2026-04-13",
            "question": "Speech and language needs?",
        },
        status=201,
    )
    [advice] = asked["advice"]
    published = await service.next_event(
        f"oneplan.plans.advice.requested.{created['assessment_id']}.*"
    )
    assert published.data == {
        "assessment_id": created["assessment_id"],
        "advice_request_id": advice["advice_request_id"],
        "child_id": str(child),
        "agency": "health",
        "advice_type": "health",
        "requested_on": "2026-04-13",
        "due_on": "2026-05-25",
        "question": "Speech and language needs?",
    }
    received = await step(
        service,
        f"{url}/advice-requests/{advice['advice_request_id']}/received",
        {"received_on": "2026-05-27"},
    )
    assert received["advice"][0]["late_by_days"] == 2
    drafted = await step(
        service, f"{url}/draft-plan", {"issued_on": "2026-06-15", "sections": SECTIONS}, status=201
    )
    assert drafted["comments_due_on"] == "2026-06-30"
    await step(
        service,
        f"{url}/draft-plan/comments",
        {"received_on": "2026-06-22", "comments": "We agree.", "setting_requested": SETTING},
    )
    unknown = {"name": "Nowhere School", "urn": "999999", "type": "mainstream"}
    refused = await service.client.post(
        f"{url}/final-plan",
        json={"issued_on": "2026-07-13", "setting": unknown},
        headers=service.manager(),
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["location"] == ["body", "setting", "urn"]
    contradicted = {**SETTING, "type": "state_special"}
    refused = await service.client.post(
        f"{url}/final-plan",
        json={"issued_on": "2026-07-13", "setting": contradicted},
        headers=service.manager(),
    )
    assert refused.json()["errors"][0]["location"] == ["body", "setting", "type"]
    final = await step(
        service,
        f"{url}/final-plan",
        {"issued_on": "2026-07-13", "setting": SETTING, "start_date": "2026-09-01"},
        manager=True,
        status=201,
    )
    plan = PlanOut.model_validate(final)
    issued = await service.next_event(f"oneplan.plans.plan.issued.{plan.plan_id}.*")
    assert issued.data == {
        "plan_id": str(plan.plan_id),
        "assessment_id": created["assessment_id"],
        "child_id": str(child),
        "issued_on": "2026-07-13",
        "setting": SETTING,
        "start_date": "2026-09-01",
        "next_review_due_on": "2027-07-13",
        "new_plan": True,
    }
    assert issued.dataclass == "education"

    clock = await service.client.get(f"{url}/clock", headers=service.auth())
    clocks = {c.name: c for c in ClocksOut.model_validate(clock.json()).clocks}
    assert clocks["final_plan"].status == "met"
    assert clocks["advice"].status == "met_late"
    assert "Monday 2 March 2026" in clocks["final_plan"].explanation
    read = AssessmentOut.model_validate(
        (await service.client.get(url, headers=service.auth())).json()
    )
    assert (read.stage, read.plan_id, read.sections["I"]) == (
        "completed",
        plan.plan_id,
        "Example Primary School; type: mainstream; URN 100001",
    )

    amended = await service.client.post(
        f"/v1/plans/{plan.plan_id}/amendments",
        json={
            "amended_on": "2026-08-20",
            "changed_sections": ["I"],
            "notice_on": "2026-07-30",
            "setting": {
                "name": "Example Secondary Resource Base",
                "urn": "100004",
                "type": "resourced_provision",
            },
        },
        headers=service.manager(),
    )
    assert amended.status_code == 200, amended.text
    event = await service.next_event(f"oneplan.plans.plan.amended.{plan.plan_id}.*")
    assert event.data["changed_sections"] == ["I"]
    assert event.data["setting"]["type"] == "resourced_provision"

    reviewed = await service.client.post(
        f"/v1/plans/{plan.plan_id}/reviews",
        json={
            "meeting_on": "2026-08-25",
            "decided_on": "2026-08-28",
            "outcome": "cease",
            "preparing_for_adulthood": False,
            "reasons": "Needs met without a plan.",
        },
        headers=service.manager(),
    )
    assert reviewed.status_code == 201, reviewed.text
    assert (reviewed.json()["ceasing"], reviewed.json()["appeal_by"]) == (True, "2026-10-28")
    recorded = await service.next_event(f"oneplan.plans.review.recorded.{plan.plan_id}.*")
    assert recorded.data["decision_due_on"] == "2026-09-22"
    again = await service.client.post(
        f"/v1/plans/{plan.plan_id}/reviews",
        json={
            "meeting_on": "2026-08-30",
            "decided_on": "2026-08-31",
            "outcome": "maintain",
            "preparing_for_adulthood": False,
        },
        headers=service.manager(),
    )
    assert again.status_code == 409, again.text


async def test_the_worklist_lists_overdue_clocks_by_agency(service: Service) -> None:
    created = await request(service, uuid4())
    url = f"/v1/assessments/{created['assessment_id']}"
    await step(
        service,
        f"{url}/decision",
        {"outcome": "agree", "decided_on": "2026-04-10", "reasons": "Yes."},
        manager=True,
    )
    await step(
        service,
        f"{url}/advice-requests",
        {"agency": "social_care", "advice_type": "social_care", "requested_on": "2026-04-13"},
        status=201,
    )
    listed = await service.client.get(
        "/v1/clocks", params={"status": "overdue", "agency": "social_care"}, headers=service.auth()
    )
    assert listed.status_code == 200, listed.text
    worklist = WorklistOut.model_validate(listed.json())
    [item] = [i for i in worklist.items if str(i.assessment_id) == created["assessment_id"]]
    assert (item.name, item.due_on, item.status) == ("advice", date(2026, 5, 25), "overdue")
    assert "days overdue" in item.explanation or "overdue" in item.explanation
    everything = await service.client.get(
        "/v1/clocks", params={"status": "overdue"}, headers=service.auth()
    )
    names = {
        i["name"]
        for i in everything.json()["items"]
        if i["assessment_id"] == created["assessment_id"]
    }
    assert names == {"advice", "draft_or_decision_not_to_issue", "final_plan"}
    health = await service.client.get("/v1/clocks", headers=service.auth("health", ("clinician",)))
    assert health.status_code == 403


async def test_an_agencys_advice_event_records_the_advice_received(service: Service) -> None:
    child = uuid4()
    created = await request(service, child)
    url = f"/v1/assessments/{created['assessment_id']}"
    await step(
        service,
        f"{url}/decision",
        {"outcome": "agree", "decided_on": "2026-04-10", "reasons": "Yes."},
        manager=True,
    )
    asked = await step(
        service,
        f"{url}/advice-requests",
        {"agency": "health", "advice_type": "health", "requested_on": "2026-04-13"},
        status=201,
    )
    request_id = asked["advice"][0]["advice_request_id"]
    # `oneplan.referrals.advice.submitted` as the contract has it (plus fields we ignore).
    event_id = await service.publish(
        "referrals",
        "oneplan.referrals.advice.submitted",
        {
            "advice_request_id": request_id,
            "assessment_id": created["assessment_id"],
            "child_id": str(child),
            "agency": "health",
            "submitted_on": "2026-05-20",
            "author": {"name": "Dr B. Example", "role": "paediatrician"},
        },
        subject=f"advice/{request_id}",
        dataclass="health",
    )

    async def received() -> dict[str, Any] | None:
        read = (await service.client.get(url, headers=service.auth())).json()
        return read if read["advice"][0]["received_on"] else None

    read = await eventually(received, "the advice recorded as received")
    assert read["advice"][0]["received_on"] == "2026-05-20"
    assert read["advice"][0]["source_event_id"] == event_id
    assert read["advice"][0]["late_by_days"] == 0
    published = await service.next_event(
        f"oneplan.plans.advice.received.{created['assessment_id']}.*"
    )
    assert published.data["source_event_id"] == event_id
    assert published.causationid == event_id


async def test_children_events_give_the_year_group_and_section_a(service: Service) -> None:
    child, born = uuid4(), date(2014, 1, 10)  # Year 7 in 2026-27
    await service.child_registered(child, born)
    await service.story_revised(child, born, "To work with animals.")
    created = await request(service, child)
    url = f"/v1/assessments/{created['assessment_id']}"
    await step(
        service,
        f"{url}/decision",
        {"outcome": "agree", "decided_on": "2026-04-10", "reasons": "Yes."},
        manager=True,
    )
    pfa = {"agency": "send", "advice_type": "preparing_for_adulthood", "requested_on": "2026-04-13"}
    runtime = service.app.state.runtime

    async def story_applied() -> ChildFactsRow | None:
        async with runtime.sessionmaker() as session:
            facts = await session.get(ChildFactsRow, child)
            return facts if facts is not None and facts.story_revision == 1 else None

    await eventually(story_applied, "the children events applied")
    refused = await service.client.post(f"{url}/advice-requests", json=pfa, headers=service.auth())
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["location"] == ["body", "advice_type"]
    assert "Year 9" in refused.json()["errors"][0]["message"]
    await step(
        service,
        f"{url}/advice-reuse",
        {
            "agency": "educational_psychology",
            "advice_type": "educational_psychology",
            "given_on": "2025-11-01",
            "author": "Dr A. Example",
            "description": "EP report",
            "agreed_by_authority": True,
            "agreed_by_author": True,
            "agreed_by_family": True,
            "reused_on": "2026-04-14",
        },
        status=201,
    )
    drafted = await step(
        service, f"{url}/draft-plan", {"issued_on": "2026-06-15", "sections": SECTIONS}, status=201
    )
    assert drafted["sections"]["A"] == "My aspirations: To work with animals."
