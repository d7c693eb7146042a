"""Referrals over HTTP: make one, triage, appointments, discharge, the worklist and report;
bad input and who may do what."""

from __future__ import annotations

from uuid import uuid4

from oneplan_referrals.entrypoints.schemas import WaitingPage

from ..referrals_testing import OT, RISE, SALT, Service


async def test_a_referral_runs_from_received_to_discharged(service: Service) -> None:
    child = await service.known_child()
    made = await service.refer(child)
    assert made.status_code == 201, made.text
    referral = made.json()
    url = f"/v1/referrals/{referral['referral_id']}"
    assert made.headers["location"] == url
    assert (referral["status"], referral["service_name"], referral["wait"]["status"]) == (
        "received",
        "Rise (CAMHS)",
        "breached",
    )
    assert "reason" not in referral
    staff = service.auth()
    redirected = await service.client.post(
        f"{url}/triage",
        json={"decision": "redirected", "on": "2026-01-09", "to_service_id": str(SALT)},
        headers=staff,
    )
    assert redirected.status_code == 200, redirected.text
    assert redirected.json()["redirected_from"] == [str(RISE)]
    accepted = await service.client.post(
        f"{url}/triage", json={"decision": "accepted", "on": "2026-01-12"}, headers=staff
    )
    assert accepted.json()["status"] == "accepted"
    booked = await service.client.post(
        f"{url}/appointments",
        json={"booked_on": "2026-01-12", "appointment_on": "2026-02-02"},
        headers=staff,
    )
    assert booked.status_code == 201, booked.text
    [appointment] = booked.json()["appointments"]
    missed = await service.client.post(
        f"{url}/appointments/{appointment['appointment_id']}/did-not-attend", headers=staff
    )
    assert missed.json()["wait"]["first_seen_on"] is None
    second = await service.client.post(
        f"{url}/appointments",
        json={"booked_on": "2026-02-03", "appointment_on": "2026-03-02"},
        headers=staff,
    )
    second_id = second.json()["appointments"][1]["appointment_id"]
    seen = await service.client.post(f"{url}/appointments/{second_id}/attended", headers=staff)
    wait = seen.json()["wait"]
    assert (wait["received_on"], wait["first_seen_on"], wait["weeks"], wait["status"]) == (
        "2026-01-05",
        "2026-03-02",
        8,
        "met",
    )
    closed = await service.client.post(
        f"{url}/discharge",
        json={"on": "2026-05-01", "outcome": "treatment_completed", "note": "Mood improved."},
        headers=staff,
    )
    assert closed.status_code == 200, closed.text
    detail = await service.client.get(url, headers=staff)
    assert detail.json()["status"] == "discharged"
    assert sorted(n["kind"] for n in detail.json()["notes"]) == ["discharge", "reason"]
    assert detail.headers["etag"] == '"8"'


async def test_the_worklist_puts_the_longest_waits_first_and_flags_breaches(
    service: Service,
) -> None:
    child = await service.known_child()
    for received_on in ("2026-04-20", "2025-12-01", "2026-03-02"):
        assert (await service.refer(child, received_on=received_on)).status_code == 201
    page = await service.client.get(
        "/v1/referrals", params={"status": "open", "order": "weeks_waiting"}, headers=service.auth()
    )
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["total"] == 3
    assert [
        (i["received_on"], i["wait"]["weeks"], i["wait"]["flagged"]) for i in body["items"]
    ] == [
        ("2025-12-01", 26, True),
        ("2026-03-02", 13, True),  # 5 weeks to its breach date, nothing booked
        ("2026-04-20", 6, False),
    ]
    assert body["next"] is None
    WaitingPage.model_validate(body)  # the hand-built JSON is what the document says
    report = await service.client.get("/v1/reports/waiting", headers=service.auth())
    assert report.status_code == 200, report.text
    assert [b["count"] for b in report.json()["bands"]] == [0, 1, 1, 1]
    assert [f["received_on"] for f in report.json()["flagged"]] == ["2025-12-01", "2026-03-02"]
    assert report.json()["open"] == 3


async def test_the_worklist_pages_by_position(service: Service) -> None:
    child = await service.known_child()
    for received_on in ("2026-04-20", "2025-12-01", "2026-03-02", "2026-03-02", "2026-05-04"):
        assert (await service.refer(child, received_on=received_on)).status_code == 201
    seen: list[str] = []
    after = None
    for _ in range(3):
        params = {"limit": 2, **({"after": after} if after else {})}
        page = await service.client.get("/v1/referrals", params=params, headers=service.auth())
        assert page.status_code == 200, page.text
        assert page.json()["total"] == 5
        seen += [item["referral_id"] for item in page.json()["items"]]
        after = page.json()["next"]
        if after is None:
            break
    received = []
    for referral_id in seen:
        detail = await service.client.get(f"/v1/referrals/{referral_id}", headers=service.auth())
        received.append(detail.json()["received_on"])
    assert received == ["2025-12-01", "2026-03-02", "2026-03-02", "2026-04-20", "2026-05-04"]
    assert len(set(seen)) == 5
    assert after is None
    only_salt = await service.client.get(
        "/v1/referrals", params={"service_id": str(SALT)}, headers=service.auth()
    )
    assert only_salt.json() == {"total": 0, "items": [], "next": None}
    for bad in ("2026-01-05", "2026-13-40_3f2b8a10-4c1e-4f7a-9b61-0c5d2e7a1001", "x" * 61):
        refused = await service.client.get(
            "/v1/referrals", params={"after": bad}, headers=service.auth()
        )
        assert refused.status_code == 422, bad
        assert refused.json()["errors"][0]["location"] == ["query", "after"]


async def test_bad_input_is_refused_naming_each_field_and_nothing_is_written(
    service: Service,
) -> None:
    child = await service.known_child()
    before = await service.stored_events()
    unknown_child = await service.refer(uuid4())
    assert unknown_child.status_code == 422, unknown_child.text
    assert unknown_child.headers["content-type"] == "application/problem+json"
    assert unknown_child.json()["errors"][0]["location"] == ["body", "child_id"]
    unknown_service = await service.refer(child, service_id=str(uuid4()))
    assert unknown_service.json()["errors"][0]["location"] == ["body", "service_id"]
    many = await service.refer(
        child, reason="<script>x</script>", received_on="2026-07-01", urgency="soon"
    )
    assert many.status_code == 422
    faulty = {tuple(e["location"]) for e in many.json()["errors"]}
    assert {("body", "reason"), ("body", "received_on"), ("body", "urgency")} <= faulty
    assert await service.stored_events() == before
    made = (await service.refer(child)).json()
    url = f"/v1/referrals/{made['referral_id']}"
    staff = service.auth()
    early = await service.client.post(
        f"{url}/triage", json={"decision": "accepted", "on": "2026-01-01"}, headers=staff
    )
    assert early.status_code == 422
    assert early.json()["errors"][0]["location"] == ["body", "accepted_on"]
    never_accepted = await service.client.post(
        f"{url}/discharge", json={"on": "2026-05-01", "outcome": "moved_away"}, headers=staff
    )
    assert never_accepted.status_code == 409, never_accepted.text
    await service.client.post(
        f"{url}/triage", json={"decision": "accepted", "on": "2026-01-12"}, headers=staff
    )
    before_received = await service.client.post(
        f"{url}/appointments",
        json={"booked_on": "2026-01-12", "appointment_on": "2025-12-24"},
        headers=staff,
    )
    assert before_received.status_code == 422
    assert before_received.json()["errors"][0]["location"] == ["body", "appointment_on"]
    signposted_nowhere = await service.client.post(
        f"/v1/referrals/{uuid4()}/triage",
        json={"decision": "accepted", "on": "2026-01-12"},
        headers=staff,
    )
    assert signposted_nowhere.status_code == 404
    redirect_unknown = (await service.refer(child)).json()
    refused = await service.client.post(
        f"/v1/referrals/{redirect_unknown['referral_id']}/triage",
        json={"decision": "declined", "on": "2026-01-12", "signposted_to": [str(uuid4()), str(OT)]},
        headers=staff,
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["location"] == ["body", "signposted_to"]


async def test_who_may_do_what(service: Service) -> None:
    child = await service.known_child()
    school = service.auth("school", ("senco",))
    made = await service.client.post(
        "/v1/referrals",
        json={
            "child_id": str(child),
            "service_id": str(RISE),
            "reason": "Anxiety in class.",
            "received_on": "2026-05-01",
        },
        headers=school,
    )
    assert made.status_code == 201, made.text
    assert made.json()["referrer_agency"] == "school"
    url = f"/v1/referrals/{made.json()['referral_id']}"
    assert (await service.client.get(url, headers=school)).status_code == 403
    triage = {"decision": "accepted", "on": "2026-05-02"}
    assert (
        await service.client.post(f"{url}/triage", json=triage, headers=school)
    ).status_code == 403
    assert (await service.client.get("/v1/referrals", headers=school)).status_code == 403
    family = service.auth("family", ("parent",), [child])
    assert (
        await service.client.post(f"{url}/triage", json=triage, headers=family)
    ).status_code == 403
    assert (await service.client.get(url)).status_code == 401
    on_behalf = await service.client.post(
        "/v1/referrals",
        json={
            "child_id": str(child),
            "service_id": str(RISE),
            "reason": "Anxiety.",
            "received_on": "2026-05-01",
            "referrer_agency": "social_care",
        },
        headers=school,
    )
    assert on_behalf.status_code == 422
    assert on_behalf.json()["errors"][0]["location"] == ["body", "referrer_agency"]
