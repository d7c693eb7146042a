"""A child's EHC journey across all five services, as the partner agencies use them over HTTP,
with one real nats-server between them (nothing published by hand, no stand-in for a service):

1. SEND registers the child (children service) with a date of birth and an address;
2. the parent's request for an EHC needs assessment is recorded and SEND agrees to assess
   (plans);
3. SEND asks health for advice (plans): the referrals service opens health's advice task from
   `oneplan.plans.advice.requested`;
4. a clinician submits the advice (referrals): the plans service records it received, on time,
   from `oneplan.referrals.advice.submitted`;
5. the educational psychologist's advice is entered by hand, the draft plan issued, the family
   comments, the final plan naming the school issued (plans): the transport service opens the
   child's one case from `oneplan.plans.plan.issued`, awaiting eligibility, with the setting and
   the start date;
6. transport decides; an amendment naming a new setting reopens the decision
   (`oneplan.plans.plan.amended`); transport decides again; the family's move, recorded at the
   children service, reopens it again (`oneplan.children.details.changed`).

Every wait is bounded and names what did not arrive; at the end no service has parked an event.
SQLite by default; the same journey on PostgreSQL (each service its own database) is `slow`;
and once more under the generated least-privilege NATS accounts, each service its own user
(SQLite), where no subject may be refused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_services import (
    Backend,
    Services,
    assert_nothing_parked,
    readiness_faults,
    running_services,
)
from journey import Child, poll, register_child_with_story
from nats_deployment import CapturedLogs, Deployment, assert_no_permission_violations

SERVICES = ("children", "consent", "plans", "referrals", "transport")
WAIT = 15.0
"""Seconds any one event may take to cross from one service to another here."""

TODAY = date.today()
ADDRESS = {"lines": ["1 Example Street"], "town": "Exampleton", "postcode": "EX1 2AB"}
NEW_ADDRESS = {"lines": ["3 Sample Road"], "town": "Exampleton", "postcode": "EX2 3CD"}
SCHOOL = {"name": "Example Primary School", "urn": "100001", "type": "mainstream"}
RESOURCE_BASE = {
    "name": "Example Secondary Resource Base",
    "urn": "100004",
    "type": "resourced_provision",
}
SECTIONS = {
    "B": "Speech, language and communication needs.",
    "E": "By next July Robin says sentences of 5 words in class.",
    "F": "Speech and language therapy weekly in school.",
}
FACTS = {
    "distance_miles": 2.4,
    "school_is_nearest_suitable": True,
    "among_three_nearest_suitable": False,
    "sen_disability_or_mobility_prevents_walking": True,
    "sen_disability_or_mobility_details": "Cannot walk the route safely even accompanied.",
    "route_unsafe": False,
    "low_income": False,
}


def day(offset: int) -> str:
    """A date `offset` days from today, ISO (the journey happened over the last two months)."""
    return (TODAY + timedelta(days=offset)).isoformat()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)],
)
async def running(
    request: pytest.FixtureRequest, nats_server_factory: Callable[..., Any], tmp_path: Path
) -> AsyncIterator[Services]:
    """The five services on one plain nats-server (no accounts)."""
    backend: Backend = request.param
    postgres_url = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    url = nats_server_factory().url
    async with running_services(
        SERVICES,
        backend=backend,
        nats=lambda _: {"nats_url": url},
        tmp_path=tmp_path,
        postgres_url=postgres_url,
    ) as services:
        yield services


class Agencies:
    """The callers: SEND's caseworker and manager, a health clinician, a transport officer."""

    def __init__(self, services: Services) -> None:
        self.send = services.auth("send", ("caseworker",), sub="send-caseworker")
        self.manager = services.auth("send", ("manager",), sub="send-manager")
        self.health = services.auth("health", ("clinician",), sub="health-clinician")
        self.transport = services.auth("transport", ("transport_officer",), sub="transport-1")


async def _ok(response: Awaitable[httpx.Response], status: int = 200) -> dict[str, Any]:
    """The answer's JSON body, once its status is `status` (else the URL and the answer)."""
    answer = await response
    assert answer.status_code == status, f"{answer.request.url}: {answer.text}"
    body: dict[str, Any] = answer.json()
    return body


def _advice(assessment: dict[str, Any], agency: str) -> dict[str, Any]:
    items: list[dict[str, Any]] = [a for a in assessment["advice"] if a["agency"] == agency]
    assert len(items) == 1, f"one advice request of {agency}: {assessment['advice']}"
    return items[0]


async def _consent(
    client: httpx.AsyncClient,
    child: Child,
    *,
    owner: str,
    to: str,
    data_class: str,
    purpose: str = "transport_planning",
) -> httpx.Response:
    """The parent's signed consent to `to` reading `owner`'s `data_class` for `purpose`,
    recorded by SEND (retried until consent has learnt the child and parent)."""
    body = {
        "given_by": {
            "person_id": child.member_id,
            "name": "Casey Testcase",
            "capacity": "parent_with_pr",
        },
        "owner_agencies": [owner],
        "recipient_agencies": [to],
        "data_classes": [data_class],
        "purposes": [purpose],
        "valid_until": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        "capture_method": "signed_form",
    }
    given = await poll(
        lambda: client.post(
            f"{child.services.consent}/v1/children/{child.child_id}/consents",
            json=body,
            headers=child.services.auth("send", ("caseworker",)),
        ),
        lambda r: r.status_code not in (404, 422),
        within=WAIT,
        what="the child and parent at the consent service",
    )
    assert given.status_code == 201, given.text
    return given


async def _case_of(
    client: httpx.AsyncClient, services: Services, who: Agencies, child_id: str
) -> list[dict[str, Any]]:
    """Every transport case of the child on the team's worklist."""
    worklist = await client.get(
        f"{services.url('transport')}/v1/cases", params={"limit": 100}, headers=who.transport
    )
    assert worklist.status_code == 200, worklist.text
    return [c for c in worklist.json()["items"] if c["child_id"] == child_id]


async def test_an_ehc_journey_from_request_to_transport_across_the_services(
    running: Services, logs: CapturedLogs
) -> None:
    await _journey(running)
    assert [r.getMessage() for r in logs.errors()] == []


async def test_the_ehc_journey_under_the_generated_least_privilege_config(
    deployment: Deployment, logs: CapturedLogs, tmp_path: Path
) -> None:
    """The same journey with each service connected as its own NATS user of the generated
    accounts: no service may be refused a subject it publishes or consumes."""
    async with running_services(
        SERVICES, backend="sqlite", nats=deployment.nats_settings, tmp_path=tmp_path
    ) as services:
        connected = await deployment.connections()
        assert {f"oneplan-{s}": s for s in SERVICES}.items() <= connected.items(), connected
        await _journey(services)
    assert_no_permission_violations(deployment, logs)
    assert [r.getMessage() for r in logs.errors()] == []


async def _journey(services: Services) -> None:
    """The journey; a step that fails says which services were not ready or parked events."""
    async with httpx.AsyncClient(timeout=10) as client:
        try:
            await _steps(client, services)
        except AssertionError as error:
            faults = await readiness_faults(client, services)
            raise AssertionError(f"{error}\nreadiness faults: {faults or 'none'}") from error


async def _steps(client: httpx.AsyncClient, services: Services) -> None:
    who = Agencies(services)
    plans, referrals, transport = (services.url(s) for s in ("plans", "referrals", "transport"))
    # 1. The child, with a date of birth (8 this year) and an address.
    child = await register_child_with_story(client, services, address=ADDRESS)
    child_id = child.child_id

    # 2. The parent's request, SEND agrees to assess.
    assessment = await _ok(
        client.post(
            f"{plans}/v1/assessments",
            json={
                "child_id": child_id,
                "received_on": day(-60),
                "requested_by": "parent",
                "requester_name": "Casey Testcase",
                "child_views": "I want help with talking in class.",
            },
            headers=who.send,
        ),
        201,
    )
    at = f"{plans}/v1/assessments/{assessment['assessment_id']}"
    await _ok(
        client.post(
            f"{at}/decision",
            json={"outcome": "agree", "decided_on": day(-50), "reasons": "Needs unmet."},
            headers=who.manager,
        )
    )

    # 3. Health advice asked for: health's task opens at the referrals service.
    asked = await _ok(
        client.post(
            f"{at}/advice-requests",
            json={
                "agency": "health",
                "advice_type": "health",
                "requested_on": day(-30),
                "question": "What are Robin's speech and language needs?",
            },
            headers=who.send,
        ),
        201,
    )
    health_request = _advice(asked, "health")
    assert health_request["due_on"] == day(12)  # requested + 6 weeks
    asked = await _ok(
        client.post(
            f"{at}/advice-requests",
            json={
                "agency": "educational_psychology",
                "advice_type": "educational_psychology",
                "requested_on": day(-30),
            },
            headers=who.send,
        ),
        201,
    )
    ep_request = _advice(asked, "educational_psychology")
    task_url = f"{referrals}/v1/advice-tasks/{health_request['advice_request_id']}"
    task = await poll(
        lambda: client.get(task_url, headers=who.health),
        lambda r: r.status_code == 200,
        within=WAIT,
        what="health's advice task at referrals (from oneplan.plans.advice.requested)",
    )
    opened = task.json()
    assert (opened["child_id"], opened["assessment_id"]) == (
        child_id,
        assessment["assessment_id"],
    )
    assert (opened["requested_on"], opened["due_on"]) == (day(-30), day(12))
    assert opened["question"] == "What are Robin's speech and language needs?"

    # 4. The clinician submits: plans records the advice received, on time.
    await _ok(
        client.post(
            f"{task_url}/submission",
            json={
                "author": {"name": "Dr Ada Example", "role": "community paediatrician"},
                "health_needs": "Speech sound disorder; understands more than says.",
                "health_provision": "Speech and language therapy each week in term.",
                "outcomes": ["Takes part in class discussion"],
                "commissioner": {"name": "Sam Example", "organisation": "Example ICB"},
                "submitted_on": day(-5),
            },
            headers=who.health,
        )
    )
    received = await poll(
        lambda: client.get(at, headers=who.send),
        lambda r: r.status_code == 200 and _advice(r.json(), "health")["received_on"],
        within=WAIT,
        what="the health advice received at plans (from oneplan.referrals.advice.submitted)",
    )
    health_advice = _advice(received.json(), "health")
    assert (health_advice["received_on"], health_advice["late_by_days"]) == (day(-5), 0)
    assert health_advice["source_event_id"] is not None
    assert _advice(received.json(), "educational_psychology")["received_on"] is None

    # 5. The EP's advice entered by hand, the draft, the family's comments, the final plan.
    await _ok(
        client.post(
            f"{at}/advice-requests/{ep_request['advice_request_id']}/received",
            json={"received_on": day(-4)},
            headers=who.send,
        )
    )
    # Section A of the draft comes from the child's story, which the plans service learnt
    # from the children stream: wait until it has (its shared plan shows the story).
    await poll(
        lambda: client.get(f"{plans}/v1/children/{child_id}/plan", headers=child.family()),
        lambda r: (
            r.status_code == 200
            and any("trains" in line["content"] for line in _lines(r.json(), "A"))
        ),
        within=WAIT,
        what="the child's story at plans (from oneplan.children.story.revised)",
    )
    drafted = await _ok(
        client.post(
            f"{at}/draft-plan",
            json={"issued_on": day(-3), "sections": SECTIONS},
            headers=who.send,
        ),
        201,
    )
    assert "trains" in drafted["sections"]["A"]  # section A from the child's own story
    await _ok(
        client.post(
            f"{at}/draft-plan/comments",
            json={
                "received_on": day(-2),
                "comments": "We agree.",
                "setting_requested": SCHOOL,
            },
            headers=who.send,
        )
    )
    plan = await _ok(
        client.post(
            f"{at}/final-plan",
            json={"issued_on": day(-1), "setting": SCHOOL, "start_date": day(30)},
            headers=who.manager,
        ),
        201,
    )
    cases = await poll(
        lambda: client.get(f"{transport}/v1/cases", params={"limit": 100}, headers=who.transport),
        lambda r: (
            r.status_code == 200 and any(c["child_id"] == child_id for c in r.json()["items"])
        ),
        within=WAIT,
        what="the child's transport case (from oneplan.plans.plan.issued)",
    )
    [line] = [c for c in cases.json()["items"] if c["child_id"] == child_id]
    assert (line["status"], line["setting_urn"]) == ("awaiting_eligibility", SCHOOL["urn"])
    case_url = f"{transport}/v1/cases/{line['case_id']}"
    case = await _ok(client.get(case_url, headers=who.transport))
    assert case["status"] == "awaiting_eligibility"
    assert (case["plan_id"], case["plan_issued_on"]) == (plan["plan_id"], day(-1))
    assert case["setting"] == SCHOOL
    assert case["start_date"] == day(30)

    # 6. Decided; a new setting reopens the decision; decided again; a move reopens it.
    decided = await _ok(
        client.post(f"{case_url}/eligibility-decisions", json=FACTS, headers=who.transport),
        201,
    )
    assert decided["status"] == "awaiting_arrangement", decided
    await _ok(
        client.post(
            f"{plans}/v1/plans/{plan['plan_id']}/amendments",
            json={
                "amended_on": day(0),
                "changed_sections": ["I"],
                "setting": RESOURCE_BASE,
                "start_date": day(40),
                "notice_on": day(0),
            },
            headers=who.manager,
        )
    )
    moved_school = await poll(
        lambda: client.get(case_url, headers=who.transport),
        lambda r: r.status_code == 200 and r.json()["setting"]["urn"] == RESOURCE_BASE["urn"],
        within=WAIT,
        what="the new setting at transport (from oneplan.plans.plan.amended)",
    )
    assert moved_school.json()["status"] == "awaiting_eligibility"
    assert moved_school.json()["decision"] is None
    assert moved_school.json()["start_date"] == day(40)

    decided = await _ok(
        client.post(f"{case_url}/eligibility-decisions", json=FACTS, headers=who.transport),
        201,
    )
    assert decided["status"] == "awaiting_arrangement", decided
    record = await client.get(f"{services.children}/v1/children/{child_id}", headers=who.send)
    moved = await client.patch(
        f"{services.children}/v1/children/{child_id}",
        json={"address": NEW_ADDRESS},
        headers={**who.send, "If-Match": record.headers["etag"]},
    )
    assert moved.status_code == 200, moved.text
    reopened = await poll(
        lambda: client.get(case_url, headers=who.transport),
        lambda r: r.status_code == 200 and r.json()["status"] == "awaiting_eligibility",
        within=WAIT,
        what="the decision reopened at transport (from oneplan.children.details.changed)",
    )
    assert reopened.json()["decision"] is None
    assert reopened.json()["setting"] == RESOURCE_BASE

    assert len(await _case_of(client, services, who, child_id)) == 1  # one case, still

    # The transport team reads the child's EHC records at plans with the parent's consent:
    # the release reaches the family's disclosure log at the consent service.
    records = f"{plans}/v1/children/{child_id}/assessments"
    purpose = {"purpose": "transport_planning"}
    withheld = await _ok(client.get(records, params=purpose, headers=who.transport))
    assert [w["data_class"] for w in withheld["withheld"]] == ["education"], withheld
    await _consent(client, child, owner="send", to="transport", data_class="education")
    shown = await poll(
        lambda: client.get(records, params=purpose, headers=who.transport),
        lambda r: r.status_code == 200 and not r.json()["withheld"],
        within=WAIT,
        what="the parent's consent at plans (its consent replica)",
    )
    assert shown.json()["plans"][0]["plan_id"] == plan["plan_id"], shown.text
    log = await poll(
        lambda: client.get(child.log_url, headers=child.family()),
        lambda r: r.status_code == 200 and any(e["owner_agency"] == "send" for e in r.json()),
        within=WAIT,
        what="plans' release in the family's log (from oneplan.plans.disclosure.recorded)",
    )
    [entry] = [e for e in log.json() if e["owner_agency"] == "send"]
    assert (entry["recipient_agency"], entry["data_classes"]) == ("transport", ["education"])
    await _shared_plan(client, services, who, child)
    await assert_nothing_parked(client, services)


def _lines(plan: dict[str, Any], section: str) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = next(
        s["lines"] for s in plan["sections"] if s["section"] == section
    )
    return lines


async def _shared_plan(
    client: httpx.AsyncClient, services: Services, who: Agencies, child: Child
) -> None:
    """The shared plan: health's advice (contributions to C and G) reaches it; SEND sees it
    only while a consent covers it, transport never without one for transport planning; every
    release is in the family's log; the family sees it all."""
    url = f"{services.url('plans')}/v1/children/{child.child_id}/plan"
    family = await poll(
        lambda: client.get(url, headers=child.family()),
        lambda r: r.status_code == 200 and bool(_lines(r.json(), "C") and _lines(r.json(), "B")),
        within=WAIT,
        what="health's contribution in the shared plan (oneplan.referrals.contribution.*)",
    )
    [need] = _lines(family.json(), "C")
    assert need["content"] == "Speech sound disorder; understands more than says."
    assert need["provenance"]["agency"] == "health"
    assert _lines(family.json(), "B")  # the issued plan's own sections
    words = {line["title"]: line["content"] for line in _lines(family.json(), "A")}
    assert words["What I said about my EHC needs assessment"] == (
        "I want help with talking in class."
    )
    assert any(step["agency"] == "transport" for step in family.json()["timeline"])

    purpose = {"purpose": "ehc_assessment"}
    send = await _ok(client.get(url, params=purpose, headers=who.send))
    assert _lines(send, "C") == [], "health content shown to SEND without consent"
    assert {"C", "G"} <= {w["section"] for w in send["withheld"] if w["agency"] == "health"}
    given = await _consent(
        client, child, owner="health", to="send", data_class="health", purpose="ehc_assessment"
    )
    shown = await _read_after(client, url, purpose, who.send, given, lambda p: _lines(p, "C"))
    assert [line["content"] for line in _lines(shown, "C")] == [need["content"]]

    transport = await _ok(
        client.get(url, params={"purpose": "transport_planning"}, headers=who.transport)
    )
    assert _lines(transport, "C") == [], "health content shown to transport without consent"
    assert _lines(transport, "G") == []

    log = await poll(
        lambda: client.get(child.log_url, headers=child.family()),
        lambda r: r.status_code == 200 and any(e["owner_agency"] == "health" for e in r.json()),
        within=WAIT,
        what="the shared plan's release of health data in the family's log",
    )
    released = [e for e in log.json() if e["owner_agency"] == "health"]
    assert {(e["recipient_agency"], tuple(e["data_classes"])) for e in released} == {
        ("send", ("health",))
    }

    consent_id = given.json()["consent_id"]
    withdrawn = await client.post(
        f"{services.consent}/v1/consents/{consent_id}/withdrawal",
        json={"reason": "We changed our minds."},
        headers=child.family(),
    )
    assert withdrawn.status_code == 200, withdrawn.text
    after = await _read_after(
        client, url, purpose, who.send, withdrawn, lambda p: not _lines(p, "C")
    )
    assert _lines(after, "C") == [], "health content shown after the consent was withdrawn"


async def _read_after(
    client: httpx.AsyncClient,
    url: str,
    params: dict[str, str],
    headers: dict[str, str],
    write: httpx.Response,
    settled: Callable[[dict[str, Any]], object],
) -> dict[str, Any]:
    """The plan read after a consent write: at once with the write's Consistency-Token (the
    read waits for the replica), else (the write answered without one, its publication slow)
    polled until it reflects the write."""
    token = write.headers.get("consistency-token")
    if token is not None:
        return await _ok(
            client.get(url, params=params, headers={**headers, "Consistency-Token": token})
        )
    answer = await poll(
        lambda: client.get(url, params=params, headers=headers),
        lambda r: r.status_code == 200 and bool(settled(r.json())),
        within=WAIT,
        what="the consent write at the plans service's replica",
    )
    body: dict[str, Any] = answer.json()
    return body
