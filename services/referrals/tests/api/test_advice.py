"""Health advice for EHC needs assessments: a reaction to the plans service's request opens a
task (once, however often it is delivered), submitting it publishes health contributions to
sections C and G and advice.submitted; earlier advice can be reused."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from oneplan_events.catalogue import Catalogue, ContributionSubmitted
from oneplan_events.envelope import Envelope

from ..referrals_testing import Service, wait_until

SUBMISSION: dict[str, Any] = {
    "author": {"name": "Dr Ada Example", "role": "community paediatrician"},
    "health_needs": "Needs support with sensory regulation.",
    "health_provision": "Occupational therapy review each term.",
    "outcomes": ["Takes part in PE with adjustments"],
    "commissioner": {"name": "Sam Example", "organisation": "Example Integrated Care Board"},
    "submitted_on": "2026-05-29",
}


async def _task_opened(service: Service, request_id: UUID) -> None:
    async def opened() -> bool:
        answer = await service.client.get(f"/v1/advice-tasks/{request_id}", headers=service.auth())
        return answer.status_code == 200

    await wait_until(opened)


async def _published(service: Service, subject: str, count: int) -> list[Envelope]:
    sub = await service.js.subscribe(subject, stream="REFERRALS", ordered_consumer=True)
    envelopes = []
    for _ in range(count):
        message = await sub.next_msg(timeout=10)
        envelopes.append(Envelope.from_nats(message.subject, message.headers, message.data))
    await sub.unsubscribe()
    return envelopes


async def test_a_request_for_health_advice_opens_a_task_once(service: Service) -> None:
    child = await service.known_child()
    request_id, envelope = await service.request_advice(child)
    await _task_opened(service, request_id)
    task = (
        await service.client.get(f"/v1/advice-tasks/{request_id}", headers=service.auth())
    ).json()
    assert (task["status"], task["requested_on"], task["due_on"], task["question"]) == (
        "open",
        "2026-05-04",
        "2026-06-15",
        "What are the child's health needs?",
    )
    stored = await service.stored_events()
    # The same request again, as a republish past the duplicate window would deliver it
    # (a new message, the same advice request): the task is open already, nothing changes.
    await service.request_advice(
        child, advice_request_id=request_id, assessment_id=UUID(envelope.data["assessment_id"])
    )
    other, _ = await service.request_advice(child, agency="social_care")
    marker, _ = await service.request_advice(child)
    await _task_opened(service, marker)
    listed = await service.client.get("/v1/advice-tasks", headers=service.auth())
    ids = {item["advice_request_id"] for item in listed.json()["items"]}
    assert ids == {str(request_id), str(marker)}
    assert str(other) not in ids
    assert await service.stored_events() == stored + 1  # only the marker's task


async def test_submitted_advice_is_published_as_health_contributions_and_advice_submitted(
    service: Service,
) -> None:
    child = await service.known_child()
    request_id, envelope = await service.request_advice(child)
    await _task_opened(service, request_id)
    url = f"/v1/advice-tasks/{request_id}/submission"
    submitted = await service.client.post(url, json=SUBMISSION, headers=service.auth())
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted"
    [needs, provision] = await _published(service, "oneplan.referrals.contribution.submitted.>", 2)
    assert {needs.data["section"], provision.data["section"]} == {"C", "G"}
    assert {needs.dataclass, provision.dataclass} == {"health"}
    g = needs if needs.data["section"] == "G" else provision
    assert "Agreed by the responsible commissioner: Sam Example" in g.data["content"]
    # Any consumer decodes them with a catalogue of its own (the generic contribution family).
    other = Catalogue("plans")
    assert all(
        isinstance(other.decode_envelope(e), ContributionSubmitted) for e in (needs, provision)
    )
    [advice] = await _published(service, "oneplan.referrals.advice.submitted.>", 1)
    assert advice.causationid is None  # a command, not a reaction
    data = advice.data
    assert (data["advice_request_id"], data["assessment_id"], data["child_id"]) == (
        str(request_id),
        envelope.data["assessment_id"],
        str(child),
    )
    assert (data["agency"], data["submitted_on"], data["author"]) == (
        "health",
        "2026-05-29",
        {"name": "Dr Ada Example", "role": "community paediatrician"},
    )
    assert "sensory" not in str(data)  # no clinical content outside the contributions
    again = await service.client.post(url, json=SUBMISSION, headers=service.auth())
    assert again.status_code == 409


async def test_the_task_opened_carries_the_request_as_its_cause(service: Service) -> None:
    child = await service.known_child()
    request_id, envelope = await service.request_advice(child)
    await _task_opened(service, request_id)
    [opened] = await _published(service, "oneplan.referrals.advice_task.opened.>", 1)
    assert (opened.causationid, opened.data["due_on"]) == (envelope.id, "2026-06-15")


async def test_bad_advice_is_refused_and_nothing_is_written(service: Service) -> None:
    child = await service.known_child()
    request_id, _ = await service.request_advice(child)
    await _task_opened(service, request_id)
    before = await service.stored_events()
    never_asked = await service.client.post(
        f"/v1/advice-tasks/{uuid4()}/submission", json=SUBMISSION, headers=service.auth()
    )
    assert never_asked.status_code == 404
    url = f"/v1/advice-tasks/{request_id}/submission"
    faulty = {
        **SUBMISSION,
        "health_needs": "bad\x00text",
        "commissioner": {"name": "Sam"},
        "submitted_on": "2026-07-01",
    }
    refused = await service.client.post(url, json=faulty, headers=service.auth())
    assert refused.status_code == 422
    locations = {tuple(e["location"]) for e in refused.json()["errors"]}
    assert {
        ("body", "health_needs"),
        ("body", "commissioner", "organisation"),
        ("body", "submitted_on"),
    } <= locations
    early = await service.client.post(
        url, json={**SUBMISSION, "submitted_on": "2026-05-01"}, headers=service.auth()
    )
    assert early.json()["errors"][0]["location"] == ["body", "submitted_on"]
    school = service.auth("school", ("senco",))
    assert (await service.client.post(url, json=SUBMISSION, headers=school)).status_code == 403
    assert (await service.client.get("/v1/advice-tasks", headers=school)).status_code == 403
    assert await service.stored_events() == before


async def test_earlier_advice_is_offered_and_reused(service: Service) -> None:
    child = await service.known_child()
    first, _ = await service.request_advice(child)
    await _task_opened(service, first)
    await service.client.post(
        f"/v1/advice-tasks/{first}/submission", json=SUBMISSION, headers=service.auth()
    )
    second, _ = await service.request_advice(child)
    await _task_opened(service, second)
    detail = await service.client.get(f"/v1/advice-tasks/{second}", headers=service.auth())
    assert [t["advice_request_id"] for t in detail.json()["reusable"]] == [str(first)]
    body = {
        "earlier_advice_request_id": str(first),
        "author": SUBMISSION["author"],
        "commissioner": SUBMISSION["commissioner"],
        "family_agreed": True,
    }
    reused = await service.client.post(
        f"/v1/advice-tasks/{second}/reuse", json=body, headers=service.auth()
    )
    assert reused.status_code == 200, reused.text
    advices = await _published(service, "oneplan.referrals.advice.submitted.>", 2)
    assert [a.data.get("reused_from") for a in advices] == [None, str(first)]
    contributions = await _published(service, "oneplan.referrals.contribution.submitted.>", 4)
    assert contributions[2].data["content"] == contributions[0].data["content"]
    other_child = await service.known_child()
    third, _ = await service.request_advice(other_child)
    await _task_opened(service, third)
    not_theirs = await service.client.post(
        f"/v1/advice-tasks/{third}/reuse", json=body, headers=service.auth()
    )
    assert not_theirs.status_code == 422
    assert not_theirs.json()["errors"][0]["location"] == ["body", "earlier_advice_request_id"]
