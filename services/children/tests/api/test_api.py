"""The HTTP API through httpx.ASGITransport, with the lifespan running on real NATS."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select

from oneplan_children.bootstrap import SERVICE
from oneplan_children.config import ChildrenSettings
from oneplan_children.entrypoints.api import create_app
from oneplan_children.entrypoints.schemas import ChildOut, MemberOut, StoryOut
from oneplan_events.envelope import Envelope, dataschema_for
from oneplan_events.schema import event_store
from oneplan_kit.runtime import Runtime
from oneplan_sharing import STALE_REASON, ConsentReplica

from ..conftest import Service

NHS = "9990000018"
UPN = "B801200005001"


def at(auth: dict[str, str], etag: str) -> dict[str, str]:
    """`auth` plus an If-Match naming `etag`."""
    return {**auth, "If-Match": etag}


def story_body(text: str) -> dict[str, Any]:
    return {
        "like_and_admire": {
            "text": text,
            "author": {"name": "Ada", "role": "child"},
            "told_on": "2026-01-10",
        },
        "aspirations": {
            "text": "To work with animals",
            "author": {"name": "Sam Testworker", "role": "professional"},
            "told_on": "2026-01-10",
        },
    }


async def stored_events(service: Service) -> int:
    runtime: Runtime = service.app.state.runtime
    async with runtime.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(event_store)) or 0)


async def test_register_read_and_age_facts(service_on: Service) -> None:
    created = await service_on.register(nhs_number="999 000 0018", upn=UPN)
    assert created.status_code == 201, created.text
    child = created.json()
    assert created.headers["location"] == f"/v1/children/{child['child_id']}"
    assert created.headers["etag"] == '"1"'
    assert child["warnings"] == []
    read = await service_on.client.get(created.headers["location"], headers=service_on.auth())
    assert read.status_code == 200
    body = read.json()
    assert body["nhs_number"] == NHS
    assert body["compulsory_school_age_ends_on"] == "2031-06-27"
    assert isinstance(body["age"], int)
    assert body["key_stage"] in {"KS2", "KS3"}
    assert body["over_compulsory_school_age"] is False
    ChildOut.model_validate(child)
    ChildOut.model_validate(body)


async def test_duplicate_nhs_number_is_409_with_link_and_name_match_is_a_warning(
    service_on: Service,
) -> None:
    first = (await service_on.register(nhs_number=NHS)).json()
    again = await service_on.register(nhs_number=NHS, given_name="Other")
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    problem = again.json()
    assert problem["existing"][0]["href"] == f"/v1/children/{first['child_id']}"
    assert problem["existing"][0]["field"] == "nhs_number"
    assert f"/v1/children/{first['child_id']}" in again.headers["link"]
    similar = await service_on.register(family_name="TESTCHILD")
    assert similar.status_code == 201
    [warning] = similar.json()["warnings"]
    assert warning["type"] == "possible_duplicate"
    assert warning["child_id"] == first["child_id"]
    ChildOut.model_validate(similar.json())


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"nhs_number": "9990000019"}, "nhs_number"),
        ({"upn": "A801200005001"}, "upn"),
        ({"date_of_birth": "2099-01-01"}, "date_of_birth"),
        ({"date_of_birth": "1990-01-01"}, "date_of_birth"),
        ({"date_of_birth": "2015-02-30"}, "date_of_birth"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
        ({"given_name": "x" * 101}, "given_name"),
        ({"communication_needs": "<script>alert('x')</script>"}, "communication_needs"),
        ({"address": {"lines": ["1 Road"], "postcode": "NOT A CODE"}}, "address"),
    ],
)
async def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
    service: Service, overrides: dict[str, Any], field: str
) -> None:
    before = await stored_events(service)
    refused = await service.register(**overrides)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert field in {part for error in refused.json()["errors"] for part in error["location"]}
    assert await stored_events(service) == before


async def test_details_change_needs_if_match_and_refuses_stale_versions(service: Service) -> None:
    child = (await service.register()).json()
    url = f"/v1/children/{child['child_id']}"
    patch = {"address": {"lines": ["2 Synthetic Road"], "postcode": "ZZ99 9ZZ"}}
    missing = await service.client.patch(url, json=patch, headers=service.auth())
    assert missing.status_code == 428
    changed = await service.client.patch(
        url, json=patch, headers={**service.auth(), "If-Match": '"1"'}
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"'
    assert changed.json()["address"]["postcode"] == "ZZ99 9ZZ"
    stale = await service.client.patch(
        url, json=patch, headers={**service.auth(), "If-Match": '"1"'}
    )
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2


async def test_family_members_added_changed_and_removed(service: Service) -> None:
    child = (await service.register()).json()
    url = f"/v1/children/{child['child_id']}/family-members"
    parent = {
        "given_name": "Pat",
        "family_name": "Testchild",
        "relationship": "mother",
        "parental_responsibility": True,
        "contact": {"phone": "01632 960001", "email": "pat@example.org"},
        "preferred_contact_method": "text",
    }
    added = await service.client.post(
        url, json=parent, headers={**service.auth(), "If-Match": '"1"'}
    )
    assert added.status_code == 201, added.text
    member_url = added.headers["location"]
    changed = await service.client.put(
        member_url,
        json={**parent, "roles": ["advocate"]},
        headers={**service.auth(), "If-Match": added.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["roles"] == ["advocate"]
    MemberOut.model_validate(added.json())
    removed = await service.client.delete(
        member_url, headers={**service.auth(), "If-Match": changed.headers["etag"]}
    )
    assert removed.status_code == 200
    assert removed.json()["family"] == []
    gone = await service.client.delete(
        member_url, headers={**service.auth(), "If-Match": removed.headers["etag"]}
    )
    assert gone.status_code == 404


async def test_family_tells_the_story_and_reads_it_as_it_was(service: Service) -> None:
    child = (await service.register()).json()
    child_id = child["child_id"]
    family = service.auth("family", ("parent",), [child_id])
    url = f"/v1/children/{child_id}/story"
    first = await service.client.put(
        url, json=story_body("Kind"), headers={**family, "If-Match": '"1"'}
    )
    assert first.status_code == 200, first.text
    service.clock.advance(timedelta(minutes=1))
    between = service.clock.now()
    service.clock.advance(timedelta(minutes=1))
    second = await service.client.put(
        url,
        json=story_body("Kind and funny"),
        headers=at(family, first.headers["etag"]),
    )
    assert second.json()["revision"] == 2
    then = await service.client.get(url, params={"as_of": between.isoformat()}, headers=family)
    assert then.json()["story"]["like_and_admire"]["text"] == "Kind"
    StoryOut.model_validate(then.json())
    now = await service.client.get(url, headers=service.auth())
    assert now.json()["story"]["like_and_admire"]["text"] == "Kind and funny"
    other_family = service.auth("family", ("parent",), [uuid4()])
    assert (await service.client.get(url, headers=other_family)).status_code == 404
    assert (
        await service.client.put(
            url, json=story_body("x"), headers={**other_family, "If-Match": '"3"'}
        )
    ).status_code == 404


async def test_other_agency_needs_a_purpose_and_consent(service: Service) -> None:
    child = (await service.register(nhs_number=NHS)).json()
    child_id = child["child_id"]
    await service.client.put(
        f"/v1/children/{child_id}/story",
        json=story_body("Kind"),
        headers={**service.auth(), "If-Match": '"1"'},
    )
    health = service.auth("health", ("clinician",))
    no_purpose = await service.client.get(f"/v1/children/{child_id}", headers=health)
    assert no_purpose.status_code == 400
    minimal = await service.client.get(
        f"/v1/children/{child_id}", params={"purpose": "health_care"}, headers=health
    )
    assert minimal.status_code == 200
    assert minimal.json()["given_name"] == "Ada"
    assert "nhs_number" not in minimal.json()
    assert {w["data_class"] for w in minimal.json()["withheld"]} == {"identity", "education"}
    denied = await service.client.get(
        f"/v1/children/{child_id}/story", params={"purpose": "health_care"}, headers=health
    )
    assert denied.status_code == 403
    assert denied.json()["withheld"][0]["data_class"] == "story"
    assert "Kind" not in denied.text

    await give_consent(service, UUID(child_id), "health", ("story", "identity"))
    released = await eventually_released(service, child_id, health)
    assert released.json()["story"]["like_and_admire"]["text"] == "Kind"
    record = await service.client.get(
        f"/v1/children/{child_id}", params={"purpose": "health_care"}, headers=health
    )
    assert record.json()["nhs_number"] == NHS
    assert [w["data_class"] for w in record.json()["withheld"]] == ["education"]
    ChildOut.model_validate(record.json())
    ChildOut.model_validate(minimal.json())
    disclosures = await disclosure_events(service, child_id)
    assert {tuple(d["data_classes"]) for d in disclosures} == {("story",), ("identity",)}
    assert all(d["basis"] == "consent" and d["recipient_agency"] == "health" for d in disclosures)


async def give_consent(
    service: Service, child_id: UUID, recipient: str, data_classes: tuple[str, ...]
) -> None:
    """Publish `oneplan.consent.consent.given` as the consent service does (its documented
    contract: the children service never imports the consent service's code)."""
    now = service.clock.now()
    consent_id = uuid4()
    data = {
        "consent_id": str(consent_id),
        "child_id": str(child_id),
        "given_by": {"name": "Pat Testchild", "capacity": "parent_with_pr"},
        "owner_agencies": ["send"],
        "recipient_agencies": [recipient],
        "data_classes": list(data_classes),
        "purposes": ["health_care"],
        "valid_from": (now - timedelta(minutes=1)).isoformat(),
        "valid_until": (now + timedelta(days=30)).isoformat(),
        "capture_method": "signed_form",
        "recorded_by": "send-user",
        "recorded_by_agency": "send",
    }
    event_type = "oneplan.consent.consent.given"
    envelope = Envelope(
        id=str(uuid4()),
        source="/oneplan/consent",
        type=event_type,
        time=now,
        data=data,
        subject=f"consent/{consent_id}",
        dataschema=dataschema_for(event_type, 1),
        childid=str(child_id),
        dataclass="consent",
        streamversion=1,
    )
    headers, body = envelope.to_nats()
    await service.js.publish(envelope.nats_subject, body, headers=headers, stream="CONSENT")


async def eventually_released(service: Service, child_id: str, auth: dict[str, str]) -> Any:
    url = f"/v1/children/{child_id}/story"
    for _ in range(100):
        response = await service.client.get(url, params={"purpose": "health_care"}, headers=auth)
        if response.status_code == 200:
            return response
        await asyncio.sleep(0.05)
    raise AssertionError(f"the story was never released: {response.text}")


async def disclosure_events(service: Service, child_id: str) -> list[dict[str, Any]]:
    runtime: Runtime = service.app.state.runtime
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(event_store.c.data).where(
                event_store.c.type == "oneplan.children.disclosure.recorded"
            )
        )
        return [row.data for row in rows if row.data["child_id"] == child_id]


async def test_search_is_for_owner_staff(service: Service) -> None:
    child = (await service.register(nhs_number=NHS, upn=UPN)).json()
    by_nhs = await service.client.get(
        "/v1/children", params={"nhs_number": "999 000 0018"}, headers=service.auth()
    )
    assert [item["child_id"] for item in by_nhs.json()["items"]] == [child["child_id"]]
    by_name = await service.client.get(
        "/v1/children",
        params={"family_name": "testchild", "date_of_birth": "2015-03-01"},
        headers=service.auth(),
    )
    assert len(by_name.json()["items"]) == 1
    vague = await service.client.get(
        "/v1/children", params={"family_name": "testchild"}, headers=service.auth()
    )
    assert vague.status_code == 400
    invalid = await service.client.get(
        "/v1/children", params={"nhs_number": "9990000019"}, headers=service.auth()
    )
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["location"] == ["query", "nhs_number"]
    other = await service.client.get(
        "/v1/children", params={"nhs_number": NHS}, headers=service.auth("health", ("caseworker",))
    )
    assert other.status_code == 403


async def test_writes_are_for_owner_staff_only(service: Service) -> None:
    body = {"given_name": "Ada", "family_name": "Testchild", "date_of_birth": "2015-03-01"}
    for auth in (service.auth("health", ("caseworker",)), service.auth("send", ("viewer",))):
        refused = await service.client.post("/v1/children", json=body, headers=auth)
        assert refused.status_code == 403
    assert await stored_events(service) == 0
    assert (await service.client.post("/v1/children", json=body)).status_code == 401
    child = (await service.register()).json()
    viewer = service.auth("send", ("viewer",))
    read = await service.client.get(f"/v1/children/{child['child_id']}", headers=viewer)
    assert read.status_code == 403


async def test_merge_retires_the_duplicate_and_the_survivor_takes_its_identifiers(
    service: Service,
) -> None:
    survivor = (await service.register(upn=UPN)).json()
    duplicate = (await service.register(nhs_number=NHS)).json()
    merged = await service.client.post(
        f"/v1/children/{survivor['child_id']}/merge",
        json={"duplicate_id": duplicate["child_id"], "reason": "registered twice"},
        headers=service.auth("send", ("manager",)),
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["nhs_number"] == NHS
    assert merged.json()["upn"] == UPN
    assert merged.headers["etag"] == '"2"'
    retired_url = f"/v1/children/{duplicate['child_id']}"
    retired = await service.client.get(retired_url, headers=service.auth())
    assert retired.json()["merged_into"] == survivor["child_id"]
    refused = await service.client.patch(
        retired_url, json={"preferred_name": "X"}, headers=at(service.auth(), '"2"')
    )
    assert refused.status_code == 409
    assert refused.json()["survivor"] == f"/v1/children/{survivor['child_id']}"
    found = await service.client.get(
        "/v1/children", params={"nhs_number": NHS}, headers=service.auth()
    )
    assert [item["child_id"] for item in found.json()["items"]] == [survivor["child_id"]]


async def test_concurrent_changes_one_wins_the_other_gets_409(service_on: Service) -> None:
    child = (await service_on.register()).json()
    url = f"/v1/children/{child['child_id']}"
    results = await asyncio.gather(
        *(
            service_on.client.patch(
                url, json={"preferred_name": name}, headers=at(service_on.auth(), '"1"')
            )
            for name in ("Addy", "Ada-Lou")
        )
    )
    assert sorted(response.status_code for response in results) == [200, 409]
    assert await stored_events(service_on) == 2


async def test_idempotent_registration_is_replayed(service: Service) -> None:
    body = {"given_name": "Ada", "family_name": "Testchild", "date_of_birth": "2015-03-01"}
    headers = {**service.auth(), "Idempotency-Key": "register-ada-1"}
    first = await service.client.post("/v1/children", json=body, headers=headers)
    again = await service.client.post("/v1/children", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["location"] == first.headers["location"]
    assert await stored_events(service) == 1


async def test_markup_in_the_story_is_refused_and_nothing_written(service: Service) -> None:
    child = (await service.register()).json()
    before = await stored_events(service)
    body = story_body("I like <b>bold</b> things")
    refused = await service.client.put(
        f"/v1/children/{child['child_id']}/story", json=body, headers=at(service.auth(), '"1"')
    )
    assert refused.status_code == 422
    locations = [error["location"] for error in refused.json()["errors"]]
    assert ["body", "like_and_admire", "text"] in locations
    oversized = story_body("x" * 4001)
    too_long = await service.client.put(
        f"/v1/children/{child['child_id']}/story", json=oversized, headers=at(service.auth(), '"1"')
    )
    assert too_long.status_code == 422
    assert await stored_events(service) == before


async def test_merge_patch_content_type_is_accepted(service: Service) -> None:
    child = (await service.register(upn=UPN)).json()
    cleared = await service.client.patch(
        f"/v1/children/{child['child_id']}",
        content=b'{"upn": null, "preferred_name": "Addy"}',
        headers={**at(service.auth(), '"1"'), "Content-Type": "application/merge-patch+json"},
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["upn"] is None
    assert cleared.json()["preferred_name"] == "Addy"


async def test_a_replica_that_cannot_prove_freshness_releases_nothing(service: Service) -> None:
    child = (await service.register()).json()
    runtime: Runtime = service.app.state.runtime
    live = runtime.replica
    # A real replica of a stream that does not exist never proves it is up to date.
    runtime.replica = ConsentReplica(service.js, stream="NO_SUCH_CONSENT_STREAM")
    try:
        refused = await service.client.get(
            f"/v1/children/{child['child_id']}/story",
            params={"purpose": "health_care"},
            headers=service.auth("health", ("clinician",)),
        )
    finally:
        runtime.replica = live
    assert refused.status_code == 403
    assert refused.json()["withheld"][0]["reason"] == STALE_REASON
    assert await disclosure_events(service, child["child_id"]) == []


async def test_age_facts_and_refusals_follow_the_services_clock(service: Service) -> None:
    child = (await service.register(date_of_birth="2015-03-01")).json()
    url = f"/v1/children/{child['child_id']}"
    service.clock.moment = datetime(2031, 6, 27, 12, tzinfo=UTC)  # the last day of CSA
    on_the_day = (await service.client.get(url, headers=service.auth())).json()
    assert (on_the_day["age"], on_the_day["over_compulsory_school_age"]) == (16, False)
    service.clock.moment = datetime(2031, 6, 28, 12, tzinfo=UTC)
    day_after = (await service.client.get(url, headers=service.auth())).json()
    assert day_after["over_compulsory_school_age"] is True
    # "In the future" is judged by the clock too: born on the clock's tomorrow is refused.
    refused = await service.register(date_of_birth="2031-06-29", given_name="Bo")
    assert refused.status_code == 422, refused.text
    accepted = await service.register(date_of_birth="2031-06-28", given_name="Bo")
    assert accepted.status_code == 201, accepted.text


async def test_reading_a_child_needs_a_known_practitioner_role(service: Service) -> None:
    child = (await service.register(nhs_number=NHS)).json()
    url = f"/v1/children/{child['child_id']}"
    read = {"purpose": "health_care"}
    for auth in (
        service.auth("health", ()),
        service.auth("health", ("viewer",)),
        service.auth("send", ("viewer",)),
    ):
        for path in (url, f"{url}/story"):
            refused = await service.client.get(path, params=read, headers=auth)
            assert refused.status_code == 403, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert "Ada" not in refused.text
    for role in ("clinician", "senco", "social_worker"):
        allowed = await service.client.get(
            url, params=read, headers=service.auth("health", (role,))
        )
        assert allowed.status_code == 200, allowed.text
    assert await disclosure_events(service, child["child_id"]) == []


async def test_every_post_honours_the_idempotency_key(service: Service) -> None:
    child = (await service.register()).json()
    parent = {
        "given_name": "Pat",
        "family_name": "Testchild",
        "relationship": "mother",
        "parental_responsibility": True,
    }
    headers = {**at(service.auth(), '"1"'), "Idempotency-Key": "add-pat-1"}
    url = f"/v1/children/{child['child_id']}/family-members"
    first = await service.client.post(url, json=parent, headers=headers)
    again = await service.client.post(url, json=parent, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"] == '"2"'
    assert await stored_events(service) == 2
    other = await service.client.post(url, json={**parent, "given_name": "Sam"}, headers=headers)
    assert other.status_code == 422, other.text
    assert await stored_events(service) == 2


def test_the_entrypoint_builds_the_service(tmp_path: Any) -> None:
    app = create_app(ChildrenSettings(var_dir=tmp_path))
    assert app.state.definition is SERVICE
    paths = set(app.openapi()["paths"])
    assert {"/v1/children", "/v1/children/{child_id}/story", "/healthz", "/readyz"} <= paths
