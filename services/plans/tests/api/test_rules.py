"""Bad input, who may call what, steps out of order, concurrent edits, and the consent-aware
read of a child's assessments: refused with problem documents naming the fault, nothing
written."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import func, select

from oneplan_events.schema import event_store

from ..conftest import Service, eventually

AGREE = {"outcome": "agree", "decided_on": "2026-04-10", "reasons": "Evidence of needs."}


async def request(service: Service, child_id: UUID) -> str:
    body = {"child_id": str(child_id), "received_on": "2026-03-02", "requested_by": "school"}
    created = await service.client.post("/v1/assessments", json=body, headers=service.auth())
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    assert created.headers["location"] == f"/v1/assessments/{created.json()['assessment_id']}"
    return str(created.json()["assessment_id"])


async def stored_events(service: Service) -> int:
    async with service.app.state.runtime.sessionmaker() as session:
        count: int = await session.scalar(select(func.count()).select_from(event_store))
        return count


async def test_bad_input_names_every_faulty_field_and_writes_nothing(service: Service) -> None:
    body = {
        "child_id": "not-a-uuid",
        "received_on": "2026-09-02",  # tomorrow
        "requested_by": "neighbour",
        "child_views": "<script>alert(1)</script>",
        "surprise": True,
    }
    refused = await service.client.post("/v1/assessments", json=body, headers=service.auth())
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    fields = {error["location"][-1] for error in refused.json()["errors"]}
    assert fields == {"child_id", "received_on", "requested_by", "child_views", "surprise"}
    assert await stored_events(service) == 0


async def test_rules_of_the_law_are_named_at_their_field(service: Service) -> None:
    url = f"/v1/assessments/{await request(service, uuid4())}"
    early = {"outcome": "decline", "decided_on": "2026-03-01", "reasons": "No."}
    refused = await service.client.post(f"{url}/decision", json=early, headers=service.manager())
    assert refused.status_code == 422, refused.text
    assert [e["location"] for e in refused.json()["errors"]] == [
        ["body", "decided_on"],
        ["body", "letter_sent_on"],
    ]
    assert (
        await service.client.post(f"{url}/decision", json=AGREE, headers=service.manager())
    ).status_code == 200
    short = {
        "kind": "absence_from_area",
        "starts_on": "2026-05-01",
        "ends_on": "2026-05-10",
        "evidence": "Family abroad.",
    }
    refused = await service.client.post(f"{url}/exceptions", json=short, headers=service.auth())
    assert refused.status_code == 422
    assert "4 weeks or more" in refused.json()["errors"][0]["message"]
    own_delay = {**short, "kind": "waiting_list", "ends_on": "2026-06-10"}
    refused = await service.client.post(f"{url}/exceptions", json=own_delay, headers=service.auth())
    assert refused.status_code == 422  # the authority's own delays are no exception
    reuse = {
        "agency": "educational_psychology",
        "advice_type": "educational_psychology",
        "given_on": "2025-11-01",
        "author": "Dr A. Example",
        "description": "EP report",
        "agreed_by_authority": True,
        "agreed_by_author": False,
        "agreed_by_family": False,
        "reused_on": "2026-04-14",
    }
    refused = await service.client.post(f"{url}/advice-reuse", json=reuse, headers=service.auth())
    assert refused.status_code == 422
    assert [e["location"][-1] for e in refused.json()["errors"]] == [
        "agreed_by_author",
        "agreed_by_family",
    ]


async def test_who_may_call_each_step(service: Service) -> None:
    child = uuid4()
    body = {"child_id": str(child), "received_on": "2026-03-02", "requested_by": "parent"}
    assert (await service.client.post("/v1/assessments", json=body)).status_code == 401
    for headers in (
        service.auth("family", ("parent",), [child]),
        service.auth("health", ("clinician",)),
        service.auth("send", ("senco",)),
    ):
        assert (
            await service.client.post("/v1/assessments", json=body, headers=headers)
        ).status_code == 403
    url = f"/v1/assessments/{await request(service, child)}"
    # Deciding needs a SEND manager; a caseworker records the request but not the decision.
    caseworker = await service.client.post(f"{url}/decision", json=AGREE, headers=service.auth())
    assert caseworker.status_code == 403
    assert (
        await service.client.get(url, headers=service.auth("health", ("clinician",)))
    ).status_code == 403
    assert await stored_events(service) == 1


async def test_steps_out_of_order_and_unknown_records(service: Service) -> None:
    url = f"/v1/assessments/{await request(service, uuid4())}"
    final = {"issued_on": "2026-07-13", "setting": {"name": "Example School", "type": "mainstream"}}
    early = await service.client.post(f"{url}/final-plan", json=final, headers=service.manager())
    assert early.status_code == 409, early.text
    assert "draft_issued" in early.json()["detail"]
    advice = {"agency": "health", "advice_type": "health", "requested_on": "2026-04-13"}
    before_decision = await service.client.post(
        f"{url}/advice-requests", json=advice, headers=service.auth()
    )
    assert before_decision.status_code == 409
    unknown = f"/v1/assessments/{uuid4()}"
    assert (await service.client.get(unknown, headers=service.auth())).status_code == 404
    missing = await service.client.post(
        f"{unknown}/decision", json=AGREE, headers=service.manager()
    )
    assert missing.status_code == 404
    bad_urn = {**final, "setting": {"name": "Example School", "type": "mainstream", "urn": "12345"}}
    refused = await service.client.post(
        f"{url}/final-plan", json=bad_urn, headers=service.manager()
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["location"][-2:] == ["setting", "urn"]
    assert (
        await service.client.get(f"/v1/plans/{uuid4()}", headers=service.auth())
    ).status_code == 404


async def test_concurrent_edits_one_wins_the_other_gets_409(service: Service) -> None:
    url = f"/v1/assessments/{await request(service, uuid4())}"
    first = await service.client.post(
        f"{url}/decision", json=AGREE, headers={**service.manager(), "If-Match": '"1"'}
    )
    assert first.status_code == 200, first.text
    assert first.headers["etag"] == '"2"'
    stale = {
        "kind": "exceptional_personal_circumstances",
        "starts_on": "2026-05-01",
        "ends_on": "2026-05-10",
        "evidence": "Bereavement.",
    }
    second = await service.client.post(
        f"{url}/exceptions", json=stale, headers={**service.auth(), "If-Match": '"1"'}
    )
    assert second.status_code == 409, second.text
    assert await stored_events(service) == 2


async def test_a_decline_shows_the_family_their_appeal_deadline(service: Service) -> None:
    child = uuid4()
    url = f"/v1/assessments/{await request(service, child)}"
    decline = {
        "outcome": "decline",
        "decided_on": "2026-04-10",
        "letter_sent_on": "2026-04-10",
        "reasons": "Needs can be met at SEN support.",
    }
    declined = await service.client.post(f"{url}/decision", json=decline, headers=service.manager())
    assert declined.status_code == 200, declined.text
    assert declined.json()["appeal_by"] == "2026-06-10"
    family = service.auth("family", ("parent",), [child])
    view = await service.client.get(f"/v1/children/{child}/assessments", headers=family)
    assert view.status_code == 200, view.text
    [assessment] = view.json()["assessments"]
    appeal = assessment["clocks"][-1]
    assert (appeal["name"], appeal["due_on"]) == ("mediation_and_appeal", "2026-06-10")
    assert "Friday 10 April 2026" in appeal["explanation"]
    certificate = await service.client.post(
        f"{url}/mediation-certificate", json={"issued_on": "2026-06-01"}, headers=service.auth()
    )
    assert certificate.json()["appeal_by"] == "2026-07-01"


async def test_a_childs_assessments_are_read_as_consent_permits(service: Service) -> None:
    child = uuid4()
    await request(service, child)
    url = f"/v1/children/{child}/assessments"
    mine = await service.client.get(url, headers=service.auth("family", ("parent",), [child]))
    assert mine.status_code == 200
    assert mine.json()["assessments"][0]["clocks"][0]["explanation"]
    other_family = service.auth("family", ("parent",), [uuid4()])
    assert (await service.client.get(url, headers=other_family)).status_code == 404
    health = service.auth("health", ("clinician",))
    assert (await service.client.get(url, headers=health)).status_code == 400  # no purpose
    params = {"purpose": "ehc_assessment"}
    withheld = await service.client.get(url, params=params, headers=health)
    assert withheld.status_code == 200, withheld.text
    assert withheld.json()["assessments"] == []
    assert withheld.json()["withheld"][0]["data_class"] == "education"

    await service.consent_given(child, "health")

    async def released() -> dict[str, Any] | None:
        response = await service.client.get(url, params=params, headers=health)
        return dict(response.json()) if response.json()["assessments"] else None

    body = await eventually(released, "the assessments released to health under consent")
    assert body["withheld"] == []
    disclosure = await service.next_event("oneplan.plans.disclosure.recorded.>")
    assert (disclosure.data["recipient_agency"], disclosure.data["basis"]) == ("health", "consent")


async def test_the_settings_directory_is_public(service: Service) -> None:
    listed = await service.client.get("/v1/settings", params={"type": "resourced_provision"})
    assert listed.status_code == 200, listed.text
    [base] = listed.json()
    assert (base["urn"], base["resourced_places"], base["resourced_need"]) == (
        "100004",
        12,
        "Autism",
    )
    every = (await service.client.get("/v1/settings")).json()
    assert {"state_special", "post16_fe", "supported_internship"} <= {
        e["setting_type"] for e in every
    }
    assert [e["inclusion_kitemark"] for e in every if e["urn"] == "100009"] == [True]
