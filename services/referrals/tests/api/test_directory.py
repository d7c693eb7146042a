"""The directory over HTTP: public reads from its records; health's managers list, change
and retire services, each an event; a retired service takes no new referrals but its
referrals keep its name. Bad input and who may do what."""

from __future__ import annotations

from typing import Any

from oneplan_referrals.entrypoints.examples import SERVICE

from ..referrals_testing import RISE, Service
from .test_advice import _published

NEW: dict[str, Any] = dict(SERVICE["complete"]["value"])


async def test_the_csv_loaded_at_start_is_listed_as_events(service: Service) -> None:
    listed = await _published(service, "oneplan.referrals.directory.service_listed.>", 6)
    assert {e.data["source"] for e in listed} == {"csv"}
    assert str(RISE) in {e.data["entry"]["id"] for e in listed}
    assert {e.dataclass for e in listed} == {"health"}
    names = [s["name"] for s in (await service.client.get("/v1/directory")).json()]
    assert len(names) == 6
    assert names == sorted(names)
    rise = await service.client.get(f"/v1/directory/{RISE}")
    assert (rise.status_code, rise.headers["etag"], rise.json()["retired_on"]) == (200, '"1"', None)


async def test_a_manager_lists_changes_and_retires_a_service(service: Service) -> None:
    manager = service.auth("health", ("manager",))
    added = await service.client.post("/v1/directory", json=NEW, headers=manager)
    assert added.status_code == 201, added.text
    service_id = added.json()["id"]
    url = f"/v1/directory/{service_id}"
    assert (added.headers["location"], added.headers["etag"]) == (url, '"1"')
    *_, event = await _published(service, "oneplan.referrals.directory.service_listed.>", 7)
    assert (event.data["source"], event.data["entry"]["code"]) == ("api", "sensory-clinic")
    assert len((await service.client.get("/v1/directory")).json()) == 7
    oruk = (await service.client.get("/v1/directory.oruk.json")).json()
    assert service_id in {s["id"] for s in oruk["contents"]}
    referred = await service.refer(await service.known_child(), service_id=service_id)
    assert referred.status_code == 201, referred.text

    changed = await service.client.put(
        url, json={**NEW, "phone": "01632 960099"}, headers={**manager, "If-Match": '"1"'}
    )
    assert (changed.status_code, changed.headers["etag"]) == (200, '"2"'), changed.text
    [change] = await _published(service, "oneplan.referrals.directory.service_changed.>", 1)
    assert (change.data["changed_fields"], change.data["entry"]["phone"]) == (
        ["phone"],
        "01632 960099",
    )
    stale = await service.client.put(url, json=NEW, headers={**manager, "If-Match": '"1"'})
    assert stale.status_code == 409
    assert (await service.client.put(url, json=NEW, headers=manager)).status_code == 428

    retired = await service.client.post(
        f"{url}/retirement",
        json={"on": "2026-05-29", "reason": "Merged into occupational therapy."},
        headers={**manager, "If-Match": '"2"'},
    )
    assert retired.status_code == 200, retired.text
    assert retired.json()["retired_on"] == "2026-05-29"
    [retirement] = await _published(service, "oneplan.referrals.directory.service_retired.>", 1)
    assert retirement.data["service_id"] == service_id
    assert len((await service.client.get("/v1/directory")).json()) == 6
    assert (await service.client.get(url)).json()["retired_on"] == "2026-05-29"
    again = await service.client.post(
        f"{url}/retirement", json={}, headers={**manager, "If-Match": '"3"'}
    )
    assert again.status_code == 409
    refused = await service.refer(await service.known_child(), service_id=service_id)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["location"] == ["body", "service_id"]
    kept = await service.client.get(
        f"/v1/referrals/{referred.json()['referral_id']}", headers=service.auth()
    )
    assert kept.json()["service_name"] == "Sensory clinic"


async def test_bad_directory_input_is_refused_and_nothing_is_written(service: Service) -> None:
    manager = service.auth("health", ("manager",))
    before = await service.stored_events()
    clash = await service.client.post(
        "/v1/directory", json={**NEW, "code": "rise"}, headers=manager
    )
    assert clash.status_code == 422, clash.text
    assert clash.json()["errors"][0]["location"] == ["body", "code"]
    faulty = await service.client.post(
        "/v1/directory",
        json={**NEW, "min_age": 12, "max_age": 4, "email": "nobody", "name": "<b>x</b>"},
        headers=manager,
    )
    assert faulty.status_code == 422
    assert {("body", "max_age"), ("body", "email"), ("body", "name")} <= {
        tuple(e["location"]) for e in faulty.json()["errors"]
    }
    for agency, roles in (("health", ("clinician",)), ("school", ("manager",))):
        who = service.auth(agency, roles)
        assert (
            await service.client.post("/v1/directory", json=NEW, headers=who)
        ).status_code == 403
    assert (await service.client.post("/v1/directory", json=NEW)).status_code == 401
    unknown = await service.client.put(
        "/v1/directory/3f2b8a10-4c1e-4f7a-9b61-0c5d2e7a1999",
        json=NEW,
        headers={**manager, "If-Match": '"1"'},
    )
    assert unknown.status_code == 404
    assert await service.stored_events() == before
