"""The consent API end to end inside one service: real NATS, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from nats.js import JetStreamContext

from oneplan_events.clock import FixedClock
from oneplan_events.streams import service_stream

from ..consent_testing import (
    CHILD_CSA_END,
    CHILD_DOB,
    YOUNG_CSA_END,
    YOUNG_DOB,
    ChildMaker,
    Tokens,
    consent_body,
    decision_body,
    disclosure,
    disclosure_envelope,
    publish,
    stored_events,
)


async def decide(client: httpx.AsyncClient, auth: Tokens, body: Any) -> Any:
    response = await client.post("/v1/decisions", json=body, headers=auth("health"))
    assert response.status_code == 200, response.text
    return response.json()


async def eventually_decided(
    client: httpx.AsyncClient, auth: Tokens, child_id: UUID, permit: bool
) -> dict[str, Any]:
    for _ in range(200):
        decision: dict[str, Any] = await decide(client, auth, decision_body(child_id))
        if decision["permit"] is permit:
            return decision
        await asyncio.sleep(0.02)
    raise AssertionError(f"decision never became permit={permit}")


async def test_parent_consents_then_withdraws(
    client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker
) -> None:
    child_id, parent_id = await make_child(CHILD_DOB, CHILD_CSA_END)
    given = await client.post(
        f"/v1/children/{child_id}/consents", json=consent_body(parent_id), headers=auth()
    )
    assert given.status_code == 201, given.text
    consent = given.json()
    consent_id = consent["consent_id"]
    assert given.headers["location"] == f"/v1/consents/{consent_id}"
    assert consent["status"] == "given"
    assert consent["record"]["given_by"]["capacity"] == "parent_with_pr"

    listed = await client.get(f"/v1/children/{child_id}/consents", headers=auth())
    assert [c["consent_id"] for c in listed.json()] == [consent_id]

    permit = await eventually_decided(client, auth, child_id, permit=True)
    assert permit["basis"] == "consent"
    assert permit["reference"] == consent_id

    withdrawn = await client.post(
        f"/v1/consents/{consent_id}/withdrawal",
        json={"reason": "changed my mind"},
        headers=auth.family(child_id, parent_id),
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    await eventually_decided(client, auth, child_id, permit=False)

    again = await client.post(f"/v1/consents/{consent_id}/withdrawal", json={}, headers=auth())
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert "withdrawn" in again.json()["detail"]


async def test_young_person_over_compulsory_school_age_consents_for_themself(
    client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker
) -> None:
    child_id, parent_id = await make_child(YOUNG_DOB, YOUNG_CSA_END)
    by_parent = await client.post(
        f"/v1/children/{child_id}/consents", json=consent_body(parent_id), headers=auth()
    )
    assert by_parent.status_code == 422
    assert by_parent.json()["errors"][0]["location"] == ["body", "given_by", "capacity"]
    own = consent_body(
        child_id,
        given_by={"person_id": str(child_id), "name": "Sam Example", "capacity": "young_person"},
        capture_method="verbal_with_witness",
        witness_name="Jo Witness",
    )
    response = await client.post(f"/v1/children/{child_id}/consents", json=own, headers=auth())
    assert response.status_code == 201, response.text


async def test_refusals_name_the_reason_and_write_nothing(
    app: FastAPI, client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker
) -> None:
    child_id, parent_id = await make_child(CHILD_DOB, CHILD_CSA_END)
    before = await stored_events(app)
    now = datetime.now(UTC)
    cases: list[tuple[dict[str, Any], int, list[str], str]] = [
        (consent_body(uuid4()), 422, ["body", "given_by", "person_id"], "parental responsibility"),
        (
            consent_body(
                parent_id,
                valid_from=now.isoformat(),
                valid_until=(now - timedelta(days=1)).isoformat(),
            ),
            422,
            ["body", "valid_until"],
            "end after it starts",
        ),
        (
            consent_body(parent_id, owner_agencies=["ministry_of_magic"]),
            422,
            ["body", "owner_agencies"],
            "unknown agency 'ministry_of_magic'",
        ),
        (
            consent_body(parent_id, data_classes=["horoscope"]),
            422,
            ["body", "data_classes", "0"],
            "identity",
        ),
        (
            consent_body(parent_id, purposes=["marketing"]),
            422,
            ["body", "purposes", "0"],
            "ehc_assessment",
        ),
        (
            consent_body(parent_id, capture_method="verbal_with_witness"),
            422,
            ["body", "witness_name"],
            "witness",
        ),
        (
            consent_body(
                child_id,
                given_by={
                    "person_id": str(child_id),
                    "name": "Sam",
                    "capacity": "gillick_competent_child",
                },
            ),
            422,
            ["body", "given_by", "gillick_assessment_reference"],
            "Gillick",
        ),
    ]
    for body, status, location, words in cases:
        response = await client.post(f"/v1/children/{child_id}/consents", json=body, headers=auth())
        assert response.status_code == status, (body, response.text)
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert problem["errors"][0]["location"] == location
        assert words in problem["errors"][0]["message"], problem

    unknown = await client.post(
        f"/v1/children/{uuid4()}/consents", json=consent_body(parent_id), headers=auth()
    )
    assert unknown.status_code == 404
    assert "does not know child" in unknown.json()["detail"]

    override = {
        "reason": "s47",
        "lawful_basis": "children_act_1989_s47",
        "recipient_agencies": ["health"],
        "data_classes": ["health"],
    }
    forbidden = await client.post(
        f"/v1/children/{child_id}/overrides", json=override, headers=auth("social_care")
    )
    assert forbidden.status_code == 403
    assert "safeguarding_lead" in forbidden.json()["detail"]
    other_family = await client.get(
        f"/v1/children/{child_id}/consents", headers=auth("family", ("parent",), [uuid4()])
    )
    assert other_family.status_code == 404

    assert await stored_events(app) == before
    listed = await client.get(f"/v1/children/{child_id}/consents", headers=auth())
    assert listed.json() == []


async def test_override_is_flagged_reviewed_and_ended(
    client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker, clock: FixedClock
) -> None:
    child_id, _ = await make_child(CHILD_DOB, CHILD_CSA_END)
    lead = auth("social_care", ("safeguarding_lead",))
    recorded = await client.post(
        f"/v1/children/{child_id}/overrides",
        json={
            "reason": "section 47 enquiry",
            "lawful_basis": "children_act_1989_s47",
            "recipient_agencies": ["social_care"],
            "data_classes": ["health", "story"],
        },
        headers=lead,
    )
    assert recorded.status_code == 201, recorded.text
    override = recorded.json()
    override_id = override["override_id"]
    ends_at = datetime.fromisoformat(override["record"]["ends_at"])
    assert ends_at == clock.now() + timedelta(days=30)

    queue = await client.get("/v1/overrides", params={"needs_review": "true"}, headers=lead)
    assert override_id in [o["override_id"] for o in queue.json()]
    decision = await decide(
        client,
        auth,
        decision_body(
            child_id, owner_agency="health", recipient_agency="social_care", data_class="health"
        ),
    )
    for _ in range(100):
        if decision["permit"]:
            break
        await asyncio.sleep(0.02)
        decision = await decide(
            client,
            auth,
            decision_body(
                child_id, owner_agency="health", recipient_agency="social_care", data_class="health"
            ),
        )
    assert decision["basis"] == "override"
    assert decision["reference"] == override_id

    reviewed = await client.post(
        f"/v1/overrides/{override_id}/review",
        json={"outcome": "enquiry continues"},
        headers=lead,
    )
    assert reviewed.status_code == 200
    assert reviewed.json()["needs_review"] is False
    queue = await client.get("/v1/overrides", params={"needs_review": "true"}, headers=lead)
    assert override_id not in [o["override_id"] for o in queue.json()]

    ended = await client.post(
        f"/v1/overrides/{override_id}/end", json={"reason": "enquiry closed"}, headers=lead
    )
    assert ended.status_code == 200
    assert ended.json()["active"] is False
    again = await client.post(
        f"/v1/overrides/{override_id}/end", json={"reason": "again"}, headers=lead
    )
    assert again.status_code == 409


async def test_batch_decisions_and_statutory_duty(
    client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker
) -> None:
    child_id, _ = await make_child(CHILD_DOB, CHILD_CSA_END)
    duty = await client.post(
        f"/v1/children/{child_id}/duties",
        json={
            "lawful_basis": "children_and_families_act_2014_s23",
            "description": "health tells the authority of likely SEN",
            "owner_agencies": ["health"],
            "recipient_agencies": ["send"],
            "data_classes": ["health"],
            "purposes": ["ehc_assessment"],
        },
        headers=auth("send", ("safeguarding_lead",)),
    )
    assert duty.status_code == 201, duty.text
    batch = [
        decision_body(
            child_id,
            owner_agency="health",
            recipient_agency="send",
            data_class="health",
            purpose="ehc_assessment",
        ),
        decision_body(child_id),
        decision_body(child_id, owner_agency="health", recipient_agency="health"),
    ]
    for _ in range(100):
        answers = await decide(client, auth, batch)
        if answers[0]["permit"]:
            break
        await asyncio.sleep(0.02)
    assert [a["permit"] for a in answers] == [True, False, True]
    assert answers[0]["basis"] == "statutory_duty"
    assert answers[0]["reference"] == duty.json()["duty_id"]
    assert "no consent" in answers[1]["reason"]
    assert answers[2]["basis"] == "own_data"
    duty_id = duty.json()["duty_id"]
    lead = auth("send", ("safeguarding_lead",))
    ended = await client.post(f"/v1/duties/{duty_id}/end", json={"reason": "done"}, headers=lead)
    assert ended.status_code == 200, ended.text
    for _ in range(100):
        if not (await decide(client, auth, batch[0]))["permit"]:
            break
        await asyncio.sleep(0.02)
    assert not (await decide(client, auth, batch[0]))["permit"]
    again = await client.post(f"/v1/duties/{duty_id}/end", json={"reason": "x"}, headers=lead)
    assert again.status_code == 409
    unknown = await client.post(f"/v1/duties/{uuid4()}/end", json={"reason": "x"}, headers=lead)
    assert unknown.status_code == 404
    family = await client.post(
        "/v1/decisions", json=batch[0], headers=auth("family", ("parent",), [child_id])
    )
    assert family.status_code == 200, family.text
    assert family.json()["permit"] is False

    refusal = await client.post(
        f"/v1/children/{child_id}/refusals",
        json={
            "owner_agency": "send",
            "recipient_agency": "transport",
            "data_classes": ["story"],
            "purpose": "transport_planning",
            "reason": "not needed for transport",
        },
        headers=auth(),
    )
    assert refusal.status_code == 201, refusal.text


async def test_consent_expires_without_anyone_acting(
    client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker, clock: FixedClock
) -> None:
    child_id, parent_id = await make_child(CHILD_DOB, CHILD_CSA_END)
    until = clock.now() + timedelta(hours=1)
    given = await client.post(
        f"/v1/children/{child_id}/consents",
        json=consent_body(parent_id, valid_until=until.isoformat()),
        headers=auth(),
    )
    assert given.status_code == 201, given.text
    consent_id = given.json()["consent_id"]
    await asyncio.sleep(0.5)  # the expiry worker looks several times: not due yet
    current = await client.get(f"/v1/consents/{consent_id}", headers=auth())
    assert current.json()["status"] == "given"
    clock.advance(timedelta(hours=2))  # the service's clock, not the wall clock, says when
    for _ in range(150):
        current = await client.get(f"/v1/consents/{consent_id}", headers=auth())
        if current.json()["status"] == "expired":
            break
        await asyncio.sleep(0.05)
    assert current.json()["status"] == "expired"
    assert datetime.fromisoformat(current.json()["ended_at"]) == until
    assert (await decide(client, auth, decision_body(child_id)))["permit"] is False


async def test_disclosure_log_shows_enquiry_entries_only_to_the_lead_and_the_parties(
    client: httpx.AsyncClient,
    auth: Tokens,
    make_child: ChildMaker,
    js: JetStreamContext,
) -> None:
    child_id, _ = await make_child(CHILD_DOB, CHILD_CSA_END)
    override = await client.post(
        f"/v1/children/{child_id}/overrides",
        json={
            "reason": "section 47 enquiry",
            "lawful_basis": "children_act_1989_s47",
            "recipient_agencies": ["social_care"],
            "data_classes": ["story"],
            "hide_from_family": True,
        },
        headers=auth("social_care", ("safeguarding_lead",)),
    )
    override_id = override.json()["override_id"]
    seen_by_health = disclosure(child_id)
    under_enquiry = disclosure(
        child_id,
        recipient_agency="social_care",
        recipient="sw-1",
        purpose="early_help",
        basis="override",
        reference_id=UUID(override_id),
    )
    await publish(js, disclosure_envelope("children", seen_by_health))
    await publish(js, disclosure_envelope("children", under_enquiry))

    lead = auth("social_care", ("safeguarding_lead",))
    for _ in range(200):
        log = await client.get(f"/v1/children/{child_id}/disclosures", headers=lead)
        if len(log.json()) == 2:
            break
        await asyncio.sleep(0.05)
    assert len(log.json()) == 2
    # the SEND team is not party to the override: its hidden entry is left out for it too
    send = await client.get(
        f"/v1/children/{child_id}/disclosures", headers=auth("send", ("caseworker",))
    )
    assert [d["disclosure_id"] for d in send.json()] == [str(seen_by_health.disclosure_id)]
    family = await client.get(
        f"/v1/children/{child_id}/disclosures", headers=auth("family", ("parent",), [child_id])
    )
    assert family.status_code == 200
    assert [d["disclosure_id"] for d in family.json()] == [str(seen_by_health.disclosure_id)]
    assert family.json()[0]["recipient_agency"] == "health"
    assert family.json()[0]["service"] == "children"

    await client.post(
        f"/v1/overrides/{override_id}/end",
        json={"reason": "enquiry closed"},
        headers=auth("social_care", ("safeguarding_lead",)),
    )
    family = await client.get(
        f"/v1/children/{child_id}/disclosures", headers=auth("family", ("parent",), [child_id])
    )
    assert len(family.json()) == 2
    send = await client.get(
        f"/v1/children/{child_id}/disclosures", headers=auth("send", ("caseworker",))
    )
    assert len(send.json()) == 2


async def test_concurrent_withdrawals_one_wins_the_other_is_a_conflict(
    app: FastAPI, client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker
) -> None:
    child_id, parent_id = await make_child(CHILD_DOB, CHILD_CSA_END)
    given = await client.post(
        f"/v1/children/{child_id}/consents", json=consent_body(parent_id), headers=auth()
    )
    consent_id = given.json()["consent_id"]
    before = await stored_events(app)
    answers = await asyncio.gather(
        *(
            client.post(f"/v1/consents/{consent_id}/withdrawal", json={}, headers=auth())
            for _ in range(2)
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert await stored_events(app) == before + 1


@pytest.mark.parametrize("partitioned", [True, False], ids=["partitioned", "unpartitioned"])
async def test_an_integrators_new_stream_is_found_and_its_disclosures_logged(
    client: httpx.AsyncClient,
    auth: Tokens,
    make_child: ChildMaker,
    js: JetStreamContext,
    partitioned: bool,
) -> None:
    child_id, _ = await make_child(CHILD_DOB, CHILD_CSA_END)
    if partitioned:  # created with the kit, as a new OnePlan service does
        spec = service_stream("edpsych")
        await js.add_stream(spec.config())
    else:  # an integrator's own stream, with no record partitions
        await js.add_stream(name="EDPSYCH", subjects=["oneplan.edpsych.>"])
    seen = disclosure(
        child_id,
        owner_agency="educational_psychology",
        recipient_agency="school",
        recipient="senco-1",
        data_classes=("education",),
        purpose="plan_delivery",
    )
    await publish(js, disclosure_envelope("edpsych", seen))
    for _ in range(200):
        log = await client.get(f"/v1/children/{child_id}/disclosures", headers=auth())
        if log.json():
            break
        await asyncio.sleep(0.05)
    assert [(d["service"], d["owner_agency"]) for d in log.json()] == [
        ("edpsych", "educational_psychology")
    ]


async def test_refusals_and_duties_answer_their_full_records(
    client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker, clock: FixedClock
) -> None:
    child_id, _ = await make_child(CHILD_DOB, CHILD_CSA_END)
    refusal = await client.post(
        f"/v1/children/{child_id}/refusals",
        json={
            "owner_agency": "send",
            "recipient_agency": "transport",
            "data_classes": ["story"],
            "purpose": "transport_planning",
            "reason": "not needed for transport",
        },
        headers=auth(),
    )
    assert refusal.status_code == 201, refusal.text
    body = refusal.json()
    assert set(body) == {"refusal_id", "child_id", "recorded_at", "record"}
    assert body["child_id"] == str(child_id)
    assert datetime.fromisoformat(body["recorded_at"]) == clock.now()
    assert body["record"]["reason"] == "not needed for transport"
    assert refusal.headers["etag"] == '"1"'

    lead = auth("send", ("safeguarding_lead",))
    duty = await client.post(
        f"/v1/children/{child_id}/duties",
        json={
            "lawful_basis": "children_and_families_act_2014_s23",
            "description": "health tells the authority of likely SEN",
            "owner_agencies": ["health"],
            "recipient_agencies": ["send"],
            "data_classes": ["health"],
            "purposes": ["ehc_assessment"],
        },
        headers=lead,
    )
    assert duty.status_code == 201, duty.text
    recorded = duty.json()
    assert {"duty_id", "child_id", "active", "ended_at", "version", "record"} <= set(recorded)
    assert (recorded["active"], recorded["ended_at"], recorded["version"]) == (True, None, 1)
    assert datetime.fromisoformat(recorded["record"]["valid_from"]) == clock.now()
    ended = await client.post(
        f"/v1/duties/{recorded['duty_id']}/end", json={"reason": "done"}, headers=lead
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["duty_id"] == recorded["duty_id"]
    assert ended.json()["status"] == "ended"
    assert ended.json()["active"] is False
    assert datetime.fromisoformat(ended.json()["ended_at"]) == clock.now()
    assert ended.json()["version"] == 2
    assert ended.headers["etag"] == '"2"'


async def test_consent_writes_honour_the_idempotency_key(
    app: FastAPI, client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker
) -> None:
    child_id, parent_id = await make_child(CHILD_DOB, CHILD_CSA_END)
    lead = auth("social_care", ("safeguarding_lead",))
    override = {
        "reason": "section 47 enquiry",
        "lawful_basis": "children_act_1989_s47",
        "recipient_agencies": ["social_care"],
        "data_classes": ["health"],
    }
    duty = {
        "lawful_basis": "children_and_families_act_2014_s23",
        "description": "health tells the authority of likely SEN",
        "owner_agencies": ["health"],
        "recipient_agencies": ["send"],
        "data_classes": ["health"],
        "purposes": ["ehc_assessment"],
    }
    refusal = {
        "owner_agency": "send",
        "recipient_agency": "transport",
        "data_classes": ["story"],
        "purpose": "transport_planning",
        "reason": "not needed for transport",
    }
    writes = [
        (f"/v1/children/{child_id}/consents", consent_body(parent_id), auth(), "consent_id"),
        (f"/v1/children/{child_id}/overrides", override, lead, "override_id"),
        (f"/v1/children/{child_id}/duties", duty, lead, "duty_id"),
        (f"/v1/children/{child_id}/refusals", refusal, auth(), "refusal_id"),
    ]
    made: dict[str, str] = {}
    for number, (url, body, headers, id_field) in enumerate(writes):
        keyed = {**headers, "Idempotency-Key": f"write-{number}"}
        before = await stored_events(app)
        first = await client.post(url, json=body, headers=keyed)
        again = await client.post(url, json=body, headers=keyed)
        assert first.status_code == again.status_code == 201, (url, again.text)
        assert again.json()[id_field] == first.json()[id_field]
        assert await stored_events(app) == before + 1, url
        made[id_field] = first.json()[id_field]

    follow_ups = [
        (f"/v1/consents/{made['consent_id']}/withdrawal", {"reason": "changed my mind"}, auth()),
        (f"/v1/overrides/{made['override_id']}/review", {"outcome": "continues"}, lead),
        (f"/v1/overrides/{made['override_id']}/end", {"reason": "closed"}, lead),
        (f"/v1/duties/{made['duty_id']}/end", {"reason": "done"}, lead),
    ]
    for number, (url, body, headers) in enumerate(follow_ups):
        keyed = {**headers, "Idempotency-Key": f"follow-up-{number}"}
        before = await stored_events(app)
        first = await client.post(url, json=body, headers=keyed)
        # The retry answers what the first answered and writes nothing; without the key it
        # would be a second command, refused as the write is done (the last check below).
        again = await client.post(url, json=body, headers=keyed)
        assert first.status_code == again.status_code == 200, (url, again.text)
        assert again.json() == first.json()
        assert await stored_events(app) == before + 1, url
    unkeyed = await client.post(follow_ups[0][0], json={}, headers=auth())
    assert unkeyed.status_code == 409
