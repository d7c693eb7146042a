"""A child's referrals: the family sees its own child's referrals, status and wait (never
clinical narrative); another agency needs a permit for health data."""

from __future__ import annotations

from ..referrals_testing import Service, wait_until


async def test_the_family_sees_its_childs_referrals_status_and_wait(service: Service) -> None:
    child = await service.known_child()
    other = await service.known_child()
    made = await service.refer(child)
    await service.refer(other)
    family = service.auth("family", ("parent",), [child])
    read = await service.client.get(f"/v1/children/{child}/referrals", headers=family)
    assert read.status_code == 200, read.text
    [referral] = read.json()["items"]
    assert referral["referral_id"] == made.json()["referral_id"]
    assert (referral["status"], referral["service_name"], referral["wait"]["weeks"]) == (
        "received",
        "Rise (CAMHS)",
        21,
    )
    assert "Low mood" not in read.text  # the reason is clinical narrative
    not_theirs = await service.client.get(f"/v1/children/{other}/referrals", headers=family)
    assert not_theirs.status_code == 404


async def test_another_agency_states_a_purpose_and_needs_a_permit(service: Service) -> None:
    child = await service.known_child()
    await service.refer(child)
    replica = service.runtime.replica
    assert replica is not None

    async def ready() -> bool:
        return replica.ready

    await wait_until(ready)
    send = service.auth("send", ("caseworker",))
    url = f"/v1/children/{child}/referrals"
    assert (await service.client.get(url, headers=send)).status_code == 400
    read = await service.client.get(url, params={"purpose": "ehc_assessment"}, headers=send)
    assert read.status_code == 200, read.text
    body = read.json()
    assert body["items"] == []
    [withheld] = body["withheld"]
    assert (withheld["data_class"], bool(withheld["reason"])) == ("health", True)
    staff = await service.client.get(url, headers=service.auth())
    assert len(staff.json()["items"]) == 1
    assert (await service.client.get(url)).status_code == 401
