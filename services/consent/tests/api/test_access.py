"""Who may record, withdraw and ask: family users act only as themselves, practitioners only
about their own agency's sharing; the lists of duties and refusals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
from fastapi import FastAPI

from oneplan_events.clock import FixedClock

from ..consent_testing import (
    CHILD_CSA_END,
    CHILD_DOB,
    YOUNG_CSA_END,
    YOUNG_DOB,
    ChildMaker,
    Tokens,
    consent_body,
    decision_body,
    stored_events,
)


def young_person_body(child_id: UUID) -> dict[str, Any]:
    return consent_body(
        child_id,
        given_by={"person_id": str(child_id), "name": "Sam Example", "capacity": "young_person"},
    )


def lacking_capacity_body(parent_id: UUID, **given_by: Any) -> dict[str, Any]:
    return consent_body(
        parent_id,
        given_by={
            "person_id": str(parent_id),
            "name": "Alex Example",
            "capacity": "parent_for_young_person_lacking_capacity",
            **given_by,
        },
    )


async def give(
    client: httpx.AsyncClient, child_id: UUID, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    return await client.post(f"/v1/children/{child_id}/consents", json=body, headers=headers)


async def test_a_family_user_records_consent_only_as_themself(
    app: FastAPI,
    client: httpx.AsyncClient,
    auth: Tokens,
    make_child: ChildMaker,
) -> None:
    child_id, parent_id = await make_child(CHILD_DOB, CHILD_CSA_END)
    other_parent = await make_child.add_member(child_id)
    before = await stored_events(app)
    as_someone_else = await give(
        client, child_id, consent_body(other_parent), auth.family(child_id, parent_id)
    )
    assert as_someone_else.status_code == 403, as_someone_else.text
    assert as_someone_else.headers["content-type"] == "application/problem+json"
    problem = as_someone_else.json()
    assert "only as themself" in problem["detail"]
    assert problem["field"] == "given_by.person_id"
    not_a_member_id = await give(
        client, child_id, consent_body(parent_id), auth("family", ("parent",), [child_id])
    )
    assert not_a_member_id.status_code == 403
    gillick = consent_body(
        child_id,
        given_by={
            "person_id": str(child_id),
            "name": "Sam",
            "capacity": "gillick_competent_child",
            "gillick_assessment_reference": "GA-1",
        },
    )
    own_gillick = await give(client, child_id, gillick, auth.family(child_id, child_id))
    assert own_gillick.status_code == 403
    assert "practitioner" in own_gillick.json()["detail"]
    # The young person is not yet over compulsory school age: as themself, the rules refuse.
    too_young = await give(
        client, child_id, young_person_body(child_id), auth.family(child_id, child_id)
    )
    assert too_young.status_code == 422
    assert too_young.json()["errors"][0]["location"] == ["body", "given_by", "capacity"]
    assert await stored_events(app) == before

    own = await give(client, child_id, consent_body(parent_id), auth.family(child_id, parent_id))
    assert own.status_code == 201, own.text
    assert own.json()["record"]["recorded_by"] == str(parent_id)
    # A practitioner still records for the named person (e.g. from a signed form).
    for_other = await give(client, child_id, consent_body(other_parent), auth())
    assert for_other.status_code == 201, for_other.text


async def test_a_family_member_without_parental_responsibility_is_refused(
    app: FastAPI, client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker
) -> None:
    child_id, member_id = await make_child(CHILD_DOB, CHILD_CSA_END, pr=False)
    before = await stored_events(app)
    response = await give(
        client, child_id, consent_body(member_id), auth.family(child_id, member_id)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == ["body", "given_by", "person_id"]
    assert "parental responsibility" in response.json()["detail"]
    assert await stored_events(app) == before


async def test_a_young_person_and_a_parent_acting_for_them(
    app: FastAPI, client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker
) -> None:
    child_id, parent_id = await make_child(YOUNG_DOB, YOUNG_CSA_END)
    young = auth.family(child_id, child_id)
    parent = auth.family(child_id, parent_id)
    before = await stored_events(app)
    parent_as_young_person = await give(client, child_id, young_person_body(child_id), parent)
    assert parent_as_young_person.status_code == 403
    without_mca = await give(client, child_id, lacking_capacity_body(parent_id), parent)
    assert without_mca.status_code == 422
    locations = [e["location"] for e in without_mca.json()["errors"]]
    assert ["body", "given_by", "mca_assessment_reference"] in locations
    assert await stored_events(app) == before

    own = await give(client, child_id, young_person_body(child_id), young)
    assert own.status_code == 201, own.text
    for_them = await give(
        client, child_id, lacking_capacity_body(parent_id, mca_assessment_reference="MCA-7"), parent
    )
    assert for_them.status_code == 201, for_them.text

    # Over compulsory school age, the young person may withdraw a parent's consent about them.
    url = f"/v1/consents/{for_them.json()['consent_id']}/withdrawal"
    withdrawn = await client.post(url, json={}, headers=young)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    # The parent may not withdraw the young person's own consent.
    url = f"/v1/consents/{own.json()['consent_id']}/withdrawal"
    refused = await client.post(url, json={}, headers=parent)
    assert refused.status_code == 403
    assert "gave themself" in refused.json()["detail"]


async def test_only_the_giver_withdraws_through_a_family_token(
    app: FastAPI,
    client: httpx.AsyncClient,
    auth: Tokens,
    make_child: ChildMaker,
) -> None:
    child_id, parent_id = await make_child(CHILD_DOB, CHILD_CSA_END)
    other_parent = await make_child.add_member(child_id)
    given = await give(client, child_id, consent_body(parent_id), auth())
    assert given.status_code == 201, given.text
    url = f"/v1/consents/{given.json()['consent_id']}/withdrawal"
    before = await stored_events(app)
    for headers, status in [
        (auth.family(child_id, other_parent), 403),
        # Under compulsory school age the child may not withdraw a parent's consent.
        (auth.family(child_id, child_id), 403),
        (auth("family", ("parent",), [uuid4()], sub=parent_id), 404),
    ]:
        response = await client.post(url, json={}, headers=headers)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert await stored_events(app) == before
    by_giver = await client.post(url, json={}, headers=auth.family(child_id, parent_id))
    assert by_giver.status_code == 200, by_giver.text


async def test_decisions_only_about_the_callers_own_sharing(
    client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker
) -> None:
    child_id, _ = await make_child(CHILD_DOB, CHILD_CSA_END)
    batch = [
        decision_body(child_id, owner_agency="school", recipient_agency="health"),
        decision_body(child_id, owner_agency="send", recipient_agency="health"),
        decision_body(child_id, owner_agency="health", recipient_agency="school"),
    ]
    school = await client.post("/v1/decisions", json=batch, headers=auth("school"))
    assert school.status_code == 403
    assert school.headers["content-type"] == "application/problem+json"
    assert school.json()["offending_items"] == [1]
    assert "Item 1" in school.json()["detail"]
    assert "send -> health" in school.json()["detail"]
    single = await client.post("/v1/decisions", json=batch[1], headers=auth("transport"))
    assert single.status_code == 403
    assert "transport" in single.json()["detail"]

    allowed = await client.post("/v1/decisions", json=batch[::2], headers=auth("school"))
    assert allowed.status_code == 200, allowed.text
    assert len(allowed.json()) == 2
    admin = await client.post("/v1/decisions", json=batch, headers=auth("transport", ("admin",)))
    assert admin.status_code == 200, admin.text
    assert len(admin.json()) == 3

    family = auth("family", ("parent",), [child_id])
    own_child = await client.post("/v1/decisions", json=batch, headers=family)
    assert own_child.status_code == 200, own_child.text
    other_child = [batch[0], decision_body(uuid4())]
    refused = await client.post("/v1/decisions", json=other_child, headers=family)
    assert refused.status_code == 403
    assert refused.json()["offending_items"] == [1]


async def test_duties_and_refusals_are_listed_for_practitioners(
    client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker, clock: FixedClock
) -> None:
    child_id, _ = await make_child(CHILD_DOB, CHILD_CSA_END)
    lead = auth("send", ("safeguarding_lead",))
    duty = {
        "lawful_basis": "children_and_families_act_2014_s23",
        "description": "health tells the authority of likely SEN",
        "owner_agencies": ["health"],
        "recipient_agencies": ["send"],
        "data_classes": ["health"],
        "purposes": ["ehc_assessment"],
    }
    earlier = clock.now() - timedelta(days=3)
    first = await client.post(
        f"/v1/children/{child_id}/duties",
        json={**duty, "valid_from": earlier.isoformat()},
        headers=lead,
    )
    second = await client.post(f"/v1/children/{child_id}/duties", json=duty, headers=lead)
    assert first.status_code == second.status_code == 201
    ended = await client.post(
        f"/v1/duties/{first.json()['duty_id']}/end", json={"reason": "done"}, headers=lead
    )
    assert ended.status_code == 200
    refusal = {
        "owner_agency": "send",
        "recipient_agency": "transport",
        "data_classes": ["story"],
        "purpose": "transport_planning",
    }
    for reason in ("not needed for transport", "asked again: still not needed"):
        recorded = await client.post(
            f"/v1/children/{child_id}/refusals", json={**refusal, "reason": reason}, headers=auth()
        )
        assert recorded.status_code == 201, recorded.text
        clock.advance(timedelta(seconds=1))

    duties = await client.get(f"/v1/children/{child_id}/duties", headers=auth("health"))
    assert duties.status_code == 200, duties.text
    listed = duties.json()
    assert [d["duty_id"] for d in listed] == [second.json()["duty_id"], first.json()["duty_id"]]
    assert [d["active"] for d in listed] == [True, False]
    assert listed[1]["ended_at"] is not None
    assert listed[0]["record"]["lawful_basis"] == "children_and_families_act_2014_s23"

    # health has a part in the child (the duties name it); the school has none
    refusals = await client.get(f"/v1/children/{child_id}/refusals", headers=auth("health"))
    assert refusals.status_code == 200, refusals.text
    outsider = await client.get(f"/v1/children/{child_id}/refusals", headers=auth("school"))
    assert outsider.status_code == 403, outsider.text
    assert [r["record"]["reason"] for r in refusals.json()] == [
        "asked again: still not needed",
        "not needed for transport",
    ]
    assert refusals.json()[0]["record"]["recorded_by_agency"] == "send"
    none = await client.get(f"/v1/children/{uuid4()}/refusals", headers=auth())
    assert none.json() == []

    for path in ("duties", "refusals"):
        family = await client.get(
            f"/v1/children/{child_id}/{path}", headers=auth("family", ("parent",), [child_id])
        )
        assert family.status_code == 403
        assert family.headers["content-type"] == "application/problem+json"
        no_role = await client.get(f"/v1/children/{child_id}/{path}", headers=auth("send", ()))
        assert no_role.status_code == 403


async def test_a_person_who_left_the_network_can_no_longer_consent(
    app: FastAPI, client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker
) -> None:
    child_id, parent_id = await make_child(CHILD_DOB, CHILD_CSA_END)
    await make_child.children.member_removed(child_id, parent_id)
    await make_child.wait_for_member(child_id, parent_id, present=False)
    before = await stored_events(app)
    response = await give(client, child_id, consent_body(parent_id), auth())
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["location"] == ["body", "given_by", "person_id"]
    assert await stored_events(app) == before


async def test_reading_consents_and_disclosures_needs_a_known_role(
    client: httpx.AsyncClient, auth: Tokens, make_child: ChildMaker
) -> None:
    child_id, parent_id = await make_child(CHILD_DOB, CHILD_CSA_END)
    given = await give(client, child_id, consent_body(parent_id), auth())
    assert given.status_code == 201, given.text
    consent_url = f"/v1/consents/{given.json()['consent_id']}"
    paths = (f"/v1/children/{child_id}/consents", f"/v1/children/{child_id}/disclosures")
    for headers in (auth("health", ()), auth("send", ("viewer",)), auth("school", ("pupil",))):
        for path in (*paths, consent_url):
            refused = await client.get(path, headers=headers)
            assert refused.status_code == 403, (path, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"
            assert "Alex Example" not in refused.text
        decision = await client.post("/v1/decisions", json=decision_body(child_id), headers=headers)
        assert decision.status_code == 403, decision.text
    for headers in (auth("health", ("clinician",)), auth("family", ("parent",), [child_id])):
        for path in (*paths, consent_url):
            allowed = await client.get(path, headers=headers)
            assert allowed.status_code == 200, (path, allowed.text)
