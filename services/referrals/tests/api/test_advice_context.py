"""What a clinician answering a request for health advice is shown: the child's story only
where consent releases the SEND team's story data to health (each release a disclosure
event, in the read's transaction; a withdrawal honoured from the next read), and the existing
health picture, health's own: the child's referrals here and earlier health advice."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

from oneplan_events.envelope import Envelope
from oneplan_referrals.adapters import repository

from ..referrals_testing import Service, foreign_envelope, wait_until
from .test_advice import SUBMISSION, _published, _task_opened

AUTHOR = {"name": "Sam Testchild", "role": "child"}


async def _publish(service: Service, envelope: Envelope) -> int:
    """Publish as its service's relay does; the stream sequence (a consistency token)."""
    headers, body = envelope.to_nats()
    ack = await service.js.publish(envelope.nats_subject, body, headers=headers)
    return int(ack.seq)


async def _story_revised(service: Service, child: UUID, revision: int, text: str) -> None:
    stream = f"child/{child}"
    service.versions[stream] += 1
    await _publish(
        service,
        foreign_envelope(
            "children",
            "oneplan.children.story.revised",
            stream,
            service.versions[stream],
            child,
            "story",
            {
                "child_id": child,
                "date_of_birth": date(2015, 3, 1),
                "compulsory_school_age_ends_on": date(2031, 6, 26),
                "revision": revision,
                "story": {"what_helps": {"text": text, "author": AUTHOR, "told_on": "2026-05-01"}},
            },
        ),
    )


async def _consent(service: Service, child: UUID, consent_id: UUID, data_classes: list[str]) -> int:
    """`oneplan.consent.consent.given` as the consent service publishes it: the SEND
    team's data of ``data_classes`` to health, for EHC assessments."""
    now = service.clock.now()
    return await _publish(
        service,
        foreign_envelope(
            "consent",
            "oneplan.consent.consent.given",
            f"consent/{consent_id}",
            1,
            child,
            "consent",
            {
                "consent_id": consent_id,
                "child_id": child,
                "given_by": {"name": "Pat Testchild", "capacity": "parent_with_pr"},
                "owner_agencies": ["send"],
                "recipient_agencies": ["health"],
                "data_classes": data_classes,
                "purposes": ["ehc_assessment"],
                "valid_from": (now - timedelta(days=1)).isoformat(),
                "valid_until": (now + timedelta(days=30)).isoformat(),
                "capture_method": "signed_form",
                "recorded_by": "send-user",
                "recorded_by_agency": "send",
            },
        ),
    )


async def _withdrawn(service: Service, child: UUID, consent_id: UUID) -> int:
    return await _publish(
        service,
        foreign_envelope(
            "consent",
            "oneplan.consent.consent.withdrawn",
            f"consent/{consent_id}",
            2,
            child,
            "consent",
            {
                "consent_id": consent_id,
                "child_id": child,
                "withdrawn_at": service.clock.now().isoformat(),
                "withdrawn_by": "send-user",
            },
        ),
    )


async def _context(service: Service, request_id: UUID, token: int | None = None) -> Any:
    headers = service.auth()
    if token is not None:
        headers["Consistency-Token"] = str(token)
    read = await service.client.get(f"/v1/advice-tasks/{request_id}/context", headers=headers)
    assert read.status_code == 200, read.text
    return read.json()


async def _disclosures(service: Service) -> int:
    """How many disclosures the service has published."""
    sub = await service.js.subscribe(
        "oneplan.referrals.disclosure.recorded.>", stream="REFERRALS", ordered_consumer=True
    )
    count = 0
    try:
        while True:
            await sub.next_msg(timeout=0.5)
            count += 1
    except TimeoutError:
        return count
    finally:
        await sub.unsubscribe()


async def _ready(service: Service, child: UUID) -> UUID:
    """The child's story learnt, an earlier advice submitted, a referral here, and a new
    request for health advice open; the consent replica running."""
    replica = service.runtime.replica
    assert replica is not None

    async def replica_ready() -> bool:
        return replica.ready

    await wait_until(replica_ready)
    await _story_revised(service, child, 1, "Quiet time before lessons.")
    earlier, _ = await service.request_advice(child, requested_on=date(2026, 3, 2))
    await _task_opened(service, earlier)
    submitted = await service.client.post(
        f"/v1/advice-tasks/{earlier}/submission",
        json={**SUBMISSION, "submitted_on": "2026-04-10"},
        headers=service.auth(),
    )
    assert submitted.status_code == 200, submitted.text
    assert (await service.refer(child)).status_code == 201
    request_id, _ = await service.request_advice(child)
    await _task_opened(service, request_id)

    async def story_learnt() -> bool:
        async with service.runtime.sessionmaker() as session:
            return await repository.child_story(session, child) is not None

    await wait_until(story_learnt)
    return request_id


async def test_the_story_is_shown_only_under_consent_and_each_release_is_recorded(
    service: Service,
) -> None:
    child = await service.known_child()
    request_id = await _ready(service, child)

    # No consent: the story is withheld (why, never what); health's own picture is there.
    first = await _context(service, request_id)
    assert first["story"] is None
    [withheld] = first["withheld"]
    assert (withheld["data_class"], bool(withheld["reason"])) == ("story", True)
    assert "Quiet time" not in str(first)
    [referral] = first["referrals"]
    assert (referral["status"], referral["service_name"]) == ("received", "Rise (CAMHS)")
    [earlier] = first["earlier_advice"]
    assert (earlier["status"], earlier["health_needs"]) == (
        "submitted",
        SUBMISSION["health_needs"],
    )

    # A consent for the SEND team's education data releases nothing of the story.
    education = await _consent(service, child, uuid4(), ["education"])
    assert (await _context(service, request_id, education))["story"] is None

    consent_id = uuid4()
    given = await _consent(service, child, consent_id, ["story"])
    released = await _context(service, request_id, given)
    assert released["withheld"] == []
    assert released["story"]["revision"] == 1
    assert released["story"]["story"]["what_helps"]["text"] == "Quiet time before lessons."
    [disclosure] = await _published(service, "oneplan.referrals.disclosure.recorded.>", 1)
    assert disclosure.childid == str(child)
    data = disclosure.data
    assert (data["owner_agency"], data["recipient_agency"], data["data_classes"]) == (
        "send",
        "health",
        ["story"],
    )
    assert (data["purpose"], data["basis"], data["reference_id"]) == (
        "ehc_assessment",
        "consent",
        str(consent_id),
    )

    # Withdrawn: the next read (carrying the withdrawal's token) omits it, and records
    # nothing.
    withdrawn = await _withdrawn(service, child, consent_id)
    after = await _context(service, request_id, withdrawn)
    assert after["story"] is None
    assert after["withheld"][0]["data_class"] == "story"
    assert len(after["earlier_advice"]) == 1
    assert await _disclosures(service) == 1


async def test_only_health_staff_see_the_context_of_a_task_that_exists(service: Service) -> None:
    child = await service.known_child()
    request_id, _ = await service.request_advice(child)
    await _task_opened(service, request_id)
    url = f"/v1/advice-tasks/{request_id}/context"
    for agency, roles in (("send", ("caseworker",)), ("family", ("parent",))):
        refused = await service.client.get(url, headers=service.auth(agency, roles, [child]))
        assert refused.status_code == 403, refused.text
    assert (await service.client.get(url)).status_code == 401
    missing = await service.client.get(
        f"/v1/advice-tasks/{uuid4()}/context", headers=service.auth()
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
