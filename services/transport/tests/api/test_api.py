"""The HTTP API through httpx.ASGITransport, with the lifespan running on real NATS: the team's
decision, risk assessment, arrangement and travel training; what the family and another
agency see; bad input and who may call what. Cases are opened the only way they open: by a
plan issued on NATS."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select

from oneplan_events.envelope import Envelope, dataschema_for
from oneplan_events.schema import event_store
from oneplan_transport.domain.model import case_id_for

from .conftest import NOW, Service, wait_for

TAXI = {
    "modes": ["taxi", "passenger_assistant"],
    "operator": "Shire Cars",
    "pick_up_time": "08:05",
    "drop_off_time": "08:40",
    "starts_on": "2026-09-21",
}
RISK = {
    "assessed_on": "2026-09-10",
    "hazards": ["Leaves the seat when anxious", "Busy drop-off lane"],
    "medical_needs": "Epilepsy.",
    "medical_handling": "Buccal midazolam carried by the passenger assistant.",
    "seating_and_equipment": "Five-point harness.",
    "escort_needed": True,
    "reviewer": "Sam Reviewer",
    "review_due_on": "2027-03-10",
}


async def open_case(service: Service, child: UUID | None = None) -> tuple[UUID, UUID]:
    child = child or uuid4()
    await service.publish(service.foreign.plan_issued(child, uuid4()))
    await service.wait_for_case(case_id_for(child))
    return child, case_id_for(child)


async def post(service: Service, url: str, body: Any, **headers: str) -> Any:
    return await service.client.post(url, json=body, headers=service.auth() | headers)


def fields_at_fault(response: Any) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {str(error["location"][-1]) for error in response.json()["errors"]}


async def test_a_case_from_decision_to_arrangement_and_what_the_family_sees(
    service: Service,
) -> None:
    child, case_id = await open_case(service)
    decided = await post(
        service,
        f"/v1/cases/{case_id}/eligibility-decisions",
        {
            "distance_miles": 1.2,
            "sen_disability_or_mobility_prevents_walking": True,
            "sen_disability_or_mobility_details": "Uses a wheelchair; cannot manage kerbs.",
            "date_of_birth": "2016-02-10",
        },
    )
    assert decided.status_code == 201, decided.text
    assert decided.headers["location"] == f"/v1/cases/{case_id}"
    decision = decided.json()["decision"]
    assert (decision["outcome"], decision["grounds"]) == (
        "eligible",
        ["sen_disability_or_mobility"],
    )
    # Issued Tuesday 1 September, decided Monday 14 September: 9 working days, target 10.
    assert (decision["working_days_from_issue"], decision["within_target"]) == (9, True)
    assert decision["review_request_by"] == "2026-10-12"
    again = await post(
        service,
        f"/v1/cases/{case_id}/eligibility-decisions",
        {"distance_miles": 1.2, "date_of_birth": "2016-02-10"},
    )
    assert again.status_code == 409, again.text

    arranged = await post(service, f"/v1/cases/{case_id}/arrangement", TAXI)
    assert arranged.status_code == 201, arranged.text
    assert arranged.json()["status"] == "arranged"
    etag = arranged.headers["etag"]
    changed = await service.client.put(
        f"/v1/cases/{case_id}/arrangement",
        json=TAXI | {"operator": "County Minibus", "reason": "The operator changed."},
        headers=service.auth() | {"If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    stale = await service.client.put(
        f"/v1/cases/{case_id}/arrangement",
        json=TAXI | {"reason": "A stale write."},
        headers=service.auth() | {"If-Match": etag},
    )
    assert stale.status_code == 409, stale.text

    family = await service.client.get(
        f"/v1/children/{child}/transport", headers=service.family(child)
    )
    assert family.status_code == 200, family.text
    seen = family.json()
    assert seen["status"] == "arranged"
    assert seen["arrangement"]["operator"] == "County Minibus"
    assert (seen["arrangement"]["pick_up_time"], seen["setting"]["name"]) == (
        "08:05:00",
        "Brook Green School",
    )

    # The setting is another agency: it states a purpose and needs a permit (none given).
    school = service.auth("school", ("senco",))
    url = f"/v1/children/{child}/transport"
    assert (await service.client.get(url, headers=school)).status_code == 400
    withheld = await service.client.get(
        url, params={"purpose": "transport_planning"}, headers=school
    )
    assert withheld.status_code == 200, withheld.text
    body = withheld.json()
    assert (body["arrangement"], body["status"]) == (None, None)
    assert [item["data_class"] for item in body["withheld"]] == ["transport"]

    cancelled = await post(
        service,
        f"/v1/cases/{case_id}/arrangement/cancellation",
        {"cancelled_from": "2026-12-18", "reason": "Moving out of county."},
    )
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["arrangement"]) == (
        "awaiting_arrangement",
        None,
    )


async def test_the_family_asks_for_a_review_and_the_case_is_under_review(service: Service) -> None:
    child, case_id = await open_case(service)
    refused = await post(
        service,
        f"/v1/cases/{case_id}/eligibility-decisions",
        {"distance_miles": 2.5, "date_of_birth": "2014-05-01"},
    )
    assert refused.json()["decision"]["outcome"] == "not_eligible"
    url = f"/v1/children/{child}/transport/review-requests"
    other = service.family(uuid4())
    grounds = {"grounds": "The route crosses the A38 with no crossing."}
    assert (await service.client.post(url, json=grounds, headers=other)).status_code == 404
    asked = await service.client.post(url, json=grounds, headers=service.family(child))
    assert asked.status_code == 201, asked.text
    assert asked.json()["status"] == "under_review"
    twice = await service.client.post(url, json=grounds, headers=service.family(child))
    assert twice.status_code == 409, twice.text
    answered = await post(
        service,
        f"/v1/cases/{case_id}/eligibility-decisions",
        {
            "distance_miles": 2.5,
            "route_unsafe": True,
            "route_unsafe_details": "No footway on the A38.",
            "date_of_birth": "2014-05-01",
        },
    )
    assert answered.status_code == 201, answered.text
    assert answered.json()["status"] == "awaiting_arrangement"
    nobody = await service.client.post(
        f"/v1/children/{uuid4()}/transport/review-requests", json=grounds, headers=service.auth()
    )
    assert nobody.status_code == 404, nobody.text


async def test_risk_assessment_and_travel_training_reach_the_shared_plan(service: Service) -> None:
    _, case_id = await open_case(service)
    contributions = await service.js.subscribe(
        "oneplan.transport.contribution.>", stream="TRANSPORT", ordered_consumer=True
    )
    risk = await post(service, f"/v1/cases/{case_id}/risk-assessments", RISK)
    assert risk.status_code == 201, risk.text
    assert risk.json()["risk_assessment"]["escort_needed"] is True
    referred = await post(
        service, f"/v1/cases/{case_id}/travel-training", {"goal": "Take the 42 bus alone."}
    )
    assert referred.status_code == 201, referred.text
    session = {"session_on": "2026-09-14", "trainer": "Alex Trainer"}
    assert (
        await post(service, f"/v1/cases/{case_id}/travel-training/sessions", session)
    ).status_code == 201
    done = await post(
        service,
        f"/v1/cases/{case_id}/travel-training/conclusion",
        {"outcome": "completed_successfully"},
    )
    assert done.status_code == 200, done.text
    assert (done.json()["trainings_completed"], done.json()["training"]["sessions"]) == (1, 1)
    seen = []
    for _ in range(2):
        message = await contributions.next_msg(timeout=10)
        seen.append((message.headers["ce-type"], message.headers["ce-dataclass"]))
    await contributions.unsubscribe()
    assert seen == [
        ("oneplan.transport.contribution.submitted", "transport"),
        ("oneplan.transport.contribution.submitted", "transport"),
    ]


async def test_bad_input_is_refused_naming_the_fields_and_writes_nothing(service: Service) -> None:
    _, case_id = await open_case(service)
    before = await service.stored_events()
    decisions = f"/v1/cases/{case_id}/eligibility-decisions"
    missing = await post(
        service, f"/v1/cases/{uuid4()}/eligibility-decisions", {"distance_miles": 3}
    )
    assert missing.status_code == 404, missing.text
    assert missing.headers["content-type"] == "application/problem+json"
    no_age = await post(service, decisions, {"distance_miles": 3})
    assert fields_at_fault(no_age) == {"date_of_birth"}
    faults = await post(
        service,
        decisions,
        {
            "distance_miles": -1,
            "route_unsafe": True,
            "date_of_birth": "2999-01-01",
            "discretionary_reason": "<b>yes</b>",
            "colour": "red",
        },
    )
    assert fields_at_fault(faults) == {
        "distance_miles",
        "route_unsafe_details",
        "date_of_birth",
        "discretionary_reason",
        "colour",
    }
    before_eligibility = await post(service, f"/v1/cases/{case_id}/arrangement", TAXI)
    assert before_eligibility.status_code == 409, before_eligibility.text
    assert "eligible" in before_eligibility.json()["detail"]
    backwards = await post(
        service,
        f"/v1/cases/{case_id}/arrangement",
        TAXI | {"drop_off_time": "07:30", "modes": ["taxi", "hovercraft"]},
    )
    assert fields_at_fault(backwards) == {"1", "drop_off_time"}  # modes[1]: an unknown mode
    assert ["body", "modes", "1"] in [error["location"] for error in backwards.json()["errors"]]
    no_times = await post(
        service,
        f"/v1/cases/{case_id}/arrangement",
        TAXI | {"pick_up_time": None, "drop_off_time": "07:30"},
    )
    assert fields_at_fault(no_times) == {"pick_up_time"}  # a taxi needs both times
    wrong_order = await post(
        service, f"/v1/cases/{case_id}/arrangement", TAXI | {"drop_off_time": "07:30"}
    )
    assert fields_at_fault(wrong_order) == {"drop_off_time"}
    risk = await post(
        service,
        f"/v1/cases/{case_id}/risk-assessments",
        RISK | {"hazards": [], "review_due_on": "2026-09-01", "medical_handling": None},
    )
    assert fields_at_fault(risk) == {"hazards", "review_due_on", "medical_handling"}
    session = await post(
        service,
        f"/v1/cases/{case_id}/travel-training/sessions",
        {"session_on": "2026-09-14", "trainer": "A"},
    )
    assert session.status_code == 409, session.text
    bad_status = await service.client.get(
        "/v1/cases", params={"status": "lost"}, headers=service.auth()
    )
    assert fields_at_fault(bad_status) == {"0"}
    assert bad_status.json()["errors"][0]["location"] == ["query", "status", "0"]
    assert await service.stored_events() == before


async def test_only_the_transport_team_works_cases(service: Service) -> None:
    child, case_id = await open_case(service)
    callers = [("send", ("caseworker",)), ("school", ("senco",)), ("transport", ("nobody",))]
    for agency, roles in [*callers, ("family", ("parent",))]:
        headers = service.auth(agency, roles, [child])
        assert (await service.client.get("/v1/cases", headers=headers)).status_code == 403
        read = await service.client.get(f"/v1/cases/{case_id}", headers=headers)
        assert read.status_code == 403, (agency, read.text)
        decided = await service.client.post(
            f"/v1/cases/{case_id}/eligibility-decisions",
            json={"distance_miles": 3, "date_of_birth": "2015-01-01"},
            headers=headers,
        )
        assert decided.status_code == 403, (agency, decided.text)
    for agency, roles in callers:  # the review request is the family's (or the team's)
        asked = await service.client.post(
            f"/v1/children/{child}/transport/review-requests",
            json={"grounds": "Not ours to ask."},
            headers=service.auth(agency, roles),
        )
        assert asked.status_code == 403, (agency, asked.text)
    assert (await service.client.get("/v1/cases")).status_code == 401
    assert (await service.client.get(f"/v1/children/{child}/transport")).status_code == 401
    assert (
        await service.client.get("/v1/cases", headers={"Authorization": "Bearer x"})
    ).status_code == 401


async def test_the_worklist_filters_by_status(service: Service) -> None:
    _, first = await open_case(service)
    _, second = await open_case(service)
    await post(
        service,
        f"/v1/cases/{second}/eligibility-decisions",
        {"distance_miles": 9, "date_of_birth": "2015-01-01"},
    )
    waiting = await service.client.get(
        "/v1/cases", params={"status": "awaiting_eligibility"}, headers=service.auth()
    )
    assert [item["case_id"] for item in waiting.json()["items"]] == [str(first)]
    both = await service.client.get(
        "/v1/cases",
        params=[("status", "awaiting_eligibility"), ("status", "awaiting_arrangement")],
        headers=service.auth(),
    )
    assert {item["case_id"] for item in both.json()["items"]} == {str(first), str(second)}
    assert date.fromisoformat(both.json()["items"][0]["start_date"])


async def test_the_timeliness_report_counts_first_decisions(service: Service) -> None:
    _, case_id = await open_case(service)
    await post(
        service,
        f"/v1/cases/{case_id}/eligibility-decisions",
        {"distance_miles": 9, "date_of_birth": "2015-01-01"},
    )
    url = "/v1/reports/decision-times"
    period = {"decided_from": "2026-09-01", "decided_to": "2026-09-30"}
    for headers in (service.auth(), service.auth("send", ("manager",))):
        report = await service.client.get(url, params=period, headers=headers)
        assert report.status_code == 200, report.text
        body = report.json()
        assert (body["decisions"], body["within_target"], body["target_working_days"]) == (1, 1, 10)
        assert body["median_working_days"] == 9.0
    school = await service.client.get(
        url, params=period, headers=service.auth("school", ("senco",))
    )
    assert school.status_code == 403, school.text
    backwards = {"decided_from": "2026-09-30", "decided_to": "2026-09-01"}
    refused = await service.client.get(url, params=backwards, headers=service.auth())
    assert refused.status_code == 400, refused.text
    missing = await service.client.get(
        url, params={"decided_from": "2026-09-01"}, headers=service.auth()
    )
    assert fields_at_fault(missing) == {"decided_to"}


async def give_consent(service: Service, child_id: UUID, recipient: str) -> None:
    """Publish `oneplan.consent.consent.given` as the consent service does (its documented
    contract; transport never imports the consent service's code)."""
    consent_id = uuid4()
    data = {
        "consent_id": str(consent_id),
        "child_id": str(child_id),
        "given_by": {"name": "Pat Example", "capacity": "parent_with_pr"},
        "owner_agencies": ["transport"],
        "recipient_agencies": [recipient],
        "data_classes": ["transport"],
        "purposes": ["transport_planning"],
        "valid_from": (NOW - timedelta(minutes=1)).isoformat(),
        "valid_until": (NOW + timedelta(days=30)).isoformat(),
        "capture_method": "signed_form",
        "recorded_by": "send-user",
        "recorded_by_agency": "send",
    }
    event_type = "oneplan.consent.consent.given"
    envelope = Envelope(
        id=str(uuid4()),
        source="/oneplan/consent",
        type=event_type,
        time=NOW,
        data=data,
        subject=f"consent/{consent_id}",
        dataschema=dataschema_for(event_type, 1),
        childid=str(child_id),
        dataclass="consent",
        streamversion=1,
    )
    await service.publish(envelope)


async def test_the_setting_sees_the_current_arrangement_with_consent(service: Service) -> None:
    child, case_id = await open_case(service)
    await post(
        service,
        f"/v1/cases/{case_id}/eligibility-decisions",
        {"distance_miles": 9, "date_of_birth": "2015-01-01"},
    )
    await post(service, f"/v1/cases/{case_id}/arrangement", TAXI)
    await give_consent(service, child, "school")
    school = service.auth("school", ("senco",))
    url = f"/v1/children/{child}/transport"

    async def released() -> bool:
        answer = await service.client.get(
            url, params={"purpose": "transport_planning"}, headers=school
        )
        return answer.json()["arrangement"] is not None

    await wait_for(released)
    answer = await service.client.get(url, params={"purpose": "transport_planning"}, headers=school)
    assert answer.json()["arrangement"]["pick_up_time"] == "08:05:00"
    assert answer.json()["withheld"] == []
    # Another purpose is not covered: withheld.
    other = await service.client.get(url, params={"purpose": "review"}, headers=school)
    assert other.json()["arrangement"] is None
    runtime = service.app.state.runtime
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(event_store.c.data).where(
                event_store.c.type == "oneplan.transport.disclosure.recorded"
            )
        )
        disclosures = [row.data for row in rows]
    assert disclosures
    assert {(d["recipient_agency"], d["basis"], d["purpose"]) for d in disclosures} == {
        ("school", "consent", "transport_planning")
    }
