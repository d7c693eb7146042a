"""The shared plan over HTTP and NATS: contributions from several agencies (one the plans
service has never heard of), consent deciding each line for each reader, every release in
the disclosure log, the plan as it stood on a day, bad contributions parked, the lead
professional, the printable page, and a rebuild that gives the same read model."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select

from oneplan_events.schema import dead_letters, event_store
from oneplan_events.streams import ensure_stream, service_stream
from oneplan_kit.rebuild import rebuild_read_model
from oneplan_plans.adapters import shared_plan_tables as shared
from oneplan_plans.bootstrap import SERVICE

from ..conftest import Service, eventually
from .test_graduated import first_cycle, open_plan, publish_matrix, school

DOB = date(2015, 3, 14)


async def _plan(service: Service, child_id: UUID, **params: Any) -> Any:
    headers = params.pop("headers", None) or service.auth()
    params.setdefault("purpose", "plan_delivery")
    answer = await service.client.get(
        f"/v1/children/{child_id}/plan", params=params, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return answer


def _titles(plan: dict[str, Any], section: str) -> list[str]:
    lines = next(s for s in plan["sections"] if s["section"] == section)["lines"]
    return [line["title"] for line in lines]


async def _shows(service: Service, child_id: UUID, section: str, title: str, **params: Any) -> Any:
    headers = params.pop("headers", None) or service.auth()

    async def probe() -> Any:
        answer = await service.client.get(
            f"/v1/children/{child_id}/plan",
            params={"purpose": "plan_delivery", **params},
            headers=headers,
        )
        if answer.status_code == 200 and title in _titles(answer.json(), section):
            return answer.json()
        return None

    return await eventually(probe, f"{title} in section {section}")


async def _disclosures(service: Service) -> list[dict[str, Any]]:
    async with service.app.state.runtime.sessionmaker() as session:
        rows = await session.execute(
            select(event_store.c.data).where(
                event_store.c.type == "oneplan.plans.disclosure.recorded"
            )
        )
        return [dict(row.data) for row in rows]


async def _registered_child(service: Service) -> UUID:
    child_id = uuid4()
    await service.child_registered(child_id, DOB)
    await service.story_revised(child_id, DOB, "I want to be a vet.")
    return child_id


async def _health_lines(service: Service, child_id: UUID) -> tuple[UUID, UUID]:
    need, provision = uuid4(), uuid4()
    outcome = uuid4()
    await service.contribution(
        "plans",
        "submitted",
        child_id,
        outcome,
        section="E",
        data_class="education",
        agency="send",
        title="Reads with confidence",
        version=1,
    )
    await service.contribution(
        "referrals",
        "submitted",
        child_id,
        need,
        section="C",
        data_class="health",
        agency="health",
        title="Speech and language needs",
        outcomes=[str(outcome)],
        author="Dr Example",
        author_role="Speech and language therapist",
        author_contact="slt@example.invalid",
    )
    await service.contribution(
        "referrals",
        "submitted",
        child_id,
        provision,
        section="G",
        data_class="health",
        agency="health",
        title="Weekly therapy",
        outcomes=[str(outcome)],
    )
    return need, provision


async def test_each_reader_sees_what_consent_allows_and_every_release_is_logged(
    service_on: Service,
) -> None:
    service = service_on
    child_id = await _registered_child(service)
    await _health_lines(service, child_id)
    await service.contribution(
        "transport",
        "submitted",
        child_id,
        uuid4(),
        section="K",
        data_class="transport",
        agency="transport",
        title="Travel risk assessment",
    )
    family = service.auth("family", ("parent",), children=[child_id])
    await _shows(service, child_id, "C", "Speech and language needs", headers=family)
    await _shows(service, child_id, "G", "Weekly therapy", headers=family)
    whole = await _shows(service, child_id, "K", "Travel risk assessment", headers=family)
    assert "Speech and language needs" in _titles(whole, "C")
    assert _titles(whole, "A") == ["My aspirations"]
    assert whole["withheld"] == []
    assert await _disclosures(service) == []

    send = (await _plan(service, child_id)).json()
    assert _titles(send, "C") == []
    assert _titles(send, "G") == []
    assert _titles(send, "K") == []
    assert {(w["section"], w["agency"]) for w in send["withheld"]} >= {
        ("C", "health"),
        ("G", "health"),
        ("K", "transport"),
    }
    assert all("Speech" not in str(w) for w in send["withheld"])
    assert _titles(send, "A") == ["My aspirations"]  # the SEND team's own (children) data
    assert await _disclosures(service) == []

    consent = await service.consent_given(
        child_id, "send", owners=["health"], data_classes=["health"], purposes=["plan_delivery"]
    )
    shown = await _shows(service, child_id, "C", "Speech and language needs")
    assert _titles(shown, "K") == []  # transport's data has no consent
    line = next(s for s in shown["sections"] if s["section"] == "C")["lines"][0]
    assert line["provenance"]["agency"] == "health"
    assert line["provenance"]["author"] == "Dr Example"
    assert {m["name"] for m in shown["team"]} >= {"Dr Example"}
    logged = await _disclosures(service)
    assert logged
    assert {d["owner_agency"] for d in logged} == {"health"}
    assert logged[-1]["recipient_agency"] == "send"
    assert logged[-1]["basis"] == "consent"
    assert logged[-1]["purpose"] == "plan_delivery"

    await service.consent_withdrawn(child_id, consent)

    async def withdrawn() -> Any:
        plan = (await _plan(service, child_id)).json()
        return plan if _titles(plan, "C") == [] else None

    await eventually(withdrawn, "the withdrawn consent's lines gone")

    transport = service.auth("transport", ("caseworker",))
    seen = (await _plan(service, child_id, headers=transport, purpose="transport_planning")).json()
    assert _titles(seen, "K") == ["Travel risk assessment"]  # its own
    assert _titles(seen, "C") == []
    assert _titles(seen, "A") == []


async def test_a_reader_states_a_purpose_and_a_family_sees_only_its_child(service: Service) -> None:
    child_id = await _registered_child(service)
    url = f"/v1/children/{child_id}/plan"
    missing = await service.client.get(url, headers=service.auth())
    assert missing.status_code == 400
    assert "purpose" in missing.json()["detail"]
    other = service.auth("family", ("parent",), children=[uuid4()])
    assert (await service.client.get(url, headers=other)).status_code == 404
    unknown = await service.client.get(
        f"/v1/children/{uuid4()}/plan?purpose=plan_delivery", headers=service.auth()
    )
    assert unknown.status_code == 404


async def test_the_golden_thread_links_needs_outcomes_and_provision(service: Service) -> None:
    child_id = await _registered_child(service)
    _need, _provision = await _health_lines(service, child_id)
    family = service.auth("family", ("parent",), children=[child_id])
    await _shows(service, child_id, "E", "Reads with confidence", headers=family)
    await _shows(service, child_id, "C", "Speech and language needs", headers=family)
    plan = await _shows(service, child_id, "G", "Weekly therapy", headers=family)
    assert plan["golden_thread"]["complete"] is True
    orphan = uuid4()
    await service.contribution(
        "referrals",
        "submitted",
        child_id,
        orphan,
        section="G",
        data_class="health",
        agency="health",
        title="Sensory circuit",
    )
    plan = await _shows(service, child_id, "G", "Sensory circuit", headers=family)
    assert plan["golden_thread"]["complete"] is False
    assert plan["golden_thread"]["provision_without_need"] == [str(orphan)]


async def test_revisions_withdrawals_and_the_plan_as_it_stood(service_on: Service) -> None:
    service = service_on
    child_id = await _registered_child(service)
    item = uuid4()
    family = service.auth("family", ("parent",), children=[child_id])
    first_day = service.clock.now().date()
    await service.contribution(
        "referrals",
        "submitted",
        child_id,
        item,
        section="C",
        data_class="health",
        agency="health",
        title="First view",
    )
    before = await _shows(service, child_id, "C", "First view", headers=family)
    service.clock.advance(timedelta(days=3))
    await service.contribution(
        "referrals",
        "revised",
        child_id,
        item,
        section="C",
        data_class="health",
        agency="health",
        title="Second view",
        version=2,
    )
    after = await _shows(service, child_id, "C", "Second view", headers=family)
    assert after["sections"][2]["lines"][0]["provenance"]["revision"] == 2
    assert before["sources"] != after["sources"]
    then = await _plan(service, child_id, headers=family, as_of=first_day.isoformat())
    assert _titles(then.json(), "C") == ["First view"]
    now = await _plan(service, child_id, headers=family)
    assert then.headers["etag"] != now.headers["etag"]
    again = await _plan(service, child_id, headers=family)
    assert again.headers["etag"] == now.headers["etag"]  # nothing changed

    await service.contribution(
        "referrals",
        "withdrawn",
        child_id,
        item,
        section="C",
        data_class="health",
        agency="health",
        version=3,
        reason="superseded",
    )

    async def gone() -> Any:
        plan = (await _plan(service, child_id, headers=family)).json()
        return plan if _titles(plan, "C") == [] else None

    await eventually(gone, "the withdrawn line gone")
    then = await _plan(service, child_id, headers=family, as_of=first_day.isoformat())
    assert _titles(then.json(), "C") == ["First view"]

    tomorrow = (service.clock.now().date() + timedelta(days=1)).isoformat()
    url = f"/v1/children/{child_id}/plan"
    future = await service.client.get(url, params={"as_of": tomorrow}, headers=family)
    assert future.status_code == 400
    assert "future" in future.json()["detail"]
    early = (first_day - timedelta(days=1)).isoformat()
    before_child = await service.client.get(url, params={"as_of": early}, headers=family)
    assert before_child.status_code == 400
    assert "registered" in before_child.json()["detail"]


async def _parked(service: Service, event_id: str) -> str | None:
    async with service.app.state.runtime.sessionmaker() as session:
        error: str | None = await session.scalar(
            select(dead_letters.c.error).where(dead_letters.c.event_id == event_id)
        )
        return error


async def test_bad_contributions_are_parked_with_their_reason(service: Service) -> None:
    child_id = await _registered_child(service)
    family = service.auth("family", ("parent",), children=[child_id])
    item = uuid4()
    await service.contribution(
        "referrals",
        "submitted",
        child_id,
        item,
        section="C",
        data_class="health",
        agency="health",
        title="Health needs",
    )
    await _shows(service, child_id, "C", "Health needs", headers=family)
    hijack = await service.contribution(
        "transport",
        "revised",
        child_id,
        item,
        section="C",
        data_class="transport",
        agency="transport",
        title="Not theirs",
    )
    unknown = await service.contribution(
        "referrals",
        "submitted",
        child_id,
        uuid4(),
        section="Z",
        data_class="health",
        agency="health",
        title="Nowhere",
    )
    spoofed = await service.contribution(
        "referrals",
        "submitted",
        child_id,
        uuid4(),
        section="B",
        data_class="health",
        agency="send",
        title="Pretending",
    )
    await service.contribution(
        "referrals",
        "withdrawn",
        child_id,
        item,
        section="C",
        data_class="health",
        agency="health",
        version=2,
    )
    revived = await service.contribution(
        "referrals",
        "revised",
        child_id,
        item,
        section="C",
        data_class="health",
        agency="health",
        title="Back again",
        version=3,
    )
    assert "may not" in await eventually(lambda: _parked(service, hijack), "hijack parked")
    assert "section" in await eventually(lambda: _parked(service, unknown), "unknown section")
    assert "not for send" in await eventually(lambda: _parked(service, spoofed), "spoof parked")
    assert "withdrawn" in await eventually(lambda: _parked(service, revived), "revival parked")
    after = uuid4()
    await service.contribution(
        "referrals",
        "submitted",
        child_id,
        after,
        section="G",
        data_class="health",
        agency="health",
        title="Still applied",
    )
    plan = await _shows(service, child_id, "G", "Still applied", headers=family)
    assert _titles(plan, "C") == []
    assert _titles(plan, "B") == []


async def test_an_agency_never_heard_of_contributes_before_the_child_is_known(
    service: Service,
) -> None:
    # An integrator's housing service: its stream is new, its contribution type too.
    await ensure_stream(service.js, service_stream("housing"))
    child_id = uuid4()
    await service.contribution(
        "housing",
        "submitted",
        child_id,
        uuid4(),
        section="H2",
        data_class="social_care",
        agency="housing",
        title="Adapted housing",
        author_role="Housing officer",
    )
    url = f"/v1/children/{child_id}/plan"
    family = service.auth("family", ("parent",), children=[child_id])
    assert (await service.client.get(url, headers=family)).status_code == 404
    await service.child_registered(child_id, DOB)
    plan = await _shows(service, child_id, "H2", "Adapted housing", headers=family)
    assert plan["team"] == [
        {
            "name": "housing-clinician",
            "agency": "housing",
            "role": "Housing officer",
            "contact": None,
            "lead": False,
        }
    ]


async def test_the_lead_professional_is_named_once_and_shown(service: Service) -> None:
    child_id = await _registered_child(service)
    url = f"/v1/children/{child_id}/lead-professional"
    body = {
        "name": "Sam Example",
        "role": "Early help worker",
        "agency": "social_care",
        "contact": "01234 567890",
        "named_on": "2026-08-31",
    }
    health = service.auth("health", ("caseworker",))
    assert (await service.client.put(url, json=body, headers=health)).status_code == 403
    early_help = service.auth("social_care", ("caseworker",))
    named = await service.client.put(url, json=body, headers=early_help)
    assert named.status_code == 200, named.text
    assert named.headers["etag"] == '"1"'
    again = await service.client.put(url, json=body, headers=service.auth())
    assert again.status_code == 409
    stale = await service.client.put(
        url, json={**body, "name": "Alex Other"}, headers={**service.auth(), "If-Match": '"0"'}
    )
    assert stale.status_code == 409
    future = {**body, "named_on": "2026-09-02"}
    refused = await service.client.put(url, json=future, headers=service.auth())
    assert refused.status_code == 422

    family = service.auth("family", ("parent",), children=[child_id])

    async def shown() -> Any:
        answer = await service.client.get(f"/v1/children/{child_id}/plan", headers=family)
        plan = answer.json()
        return plan if answer.status_code == 200 and plan["lead_professional"] else None

    plan = await eventually(shown, "the lead professional in the plan")
    assert plan["team"][0] == {
        "name": "Sam Example",
        "agency": "social_care",
        "role": "Early help worker",
        "contact": "01234 567890",
        "lead": True,
    }
    assert any(step["label"].startswith("Lead professional named") for step in plan["timeline"])


async def test_the_printable_page_escapes_and_orders_the_sections(service: Service) -> None:
    child_id = await _registered_child(service)
    await service.contribution(
        "referrals",
        "submitted",
        child_id,
        uuid4(),
        section="C",
        data_class="health",
        agency="health",
        title="<script>alert(1)</script>",
        content="Line one\nLine two",
    )
    family = service.auth("family", ("parent",), children=[child_id])
    await _shows(service, child_id, "C", "<script>alert(1)</script>", headers=family)
    page = await service.client.get(f"/v1/children/{child_id}/plan.html", headers=family)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="en-GB">' in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    positions = [html.index(f'id="section-{s}"') for s in ("A", "B", "C", "E", "K")]
    assert positions == sorted(positions)
    assert "From health-clinician (health)" in html


async def _read_model(service: Service) -> dict[str, list[tuple[Any, ...]]]:
    async with service.app.state.runtime.sessionmaker() as session:
        snapshot = {}
        for model in (
            shared.PlanItemRow,
            shared.PlanItemVersionRow,
            shared.TimelineStepRow,
            shared.PlanSourceRow,
            shared.LeadProfessionalRow,
        ):
            table = model.__table__
            rows = (await session.execute(select(table))).all()
            snapshot[table.name] = sorted(tuple(map(str, row)) for row in rows)
        return snapshot


async def test_a_rebuild_from_the_streams_gives_the_same_read_model(service_on: Service) -> None:
    service = service_on
    child_id = await _registered_child(service)
    await _health_lines(service, child_id)
    item = uuid4()
    await service.contribution(
        "referrals",
        "submitted",
        child_id,
        item,
        section="C",
        data_class="health",
        agency="health",
        title="Revised later",
    )
    await service.contribution(
        "referrals",
        "revised",
        child_id,
        item,
        section="C",
        data_class="health",
        agency="health",
        title="Revised now",
        version=2,
    )
    family = service.auth("family", ("parent",), children=[child_id])
    await _shows(service, child_id, "C", "Revised now", headers=family)
    await _shows(service, child_id, "E", "Reads with confidence", headers=family)
    await _shows(service, child_id, "G", "Weekly therapy", headers=family)
    named = await service.client.put(
        f"/v1/children/{child_id}/lead-professional",
        json={
            "name": "Sam Example",
            "role": "SENCO",
            "agency": "school",
            "contact": "senco@example.invalid",
            "named_on": "2026-08-31",
        },
        headers=service.auth(),
    )
    assert named.status_code == 200

    async def settled() -> Any:
        return (await _plan(service, child_id, headers=family)).json()["lead_professional"]

    await eventually(settled, "the lead professional applied")
    live = await _read_model(service)
    runtime = service.app.state.runtime
    report = await rebuild_read_model(
        SERVICE.read_models[0],
        service="plans",
        nc=runtime.nc,
        sessionmaker=runtime.sessionmaker,
        catalogue=SERVICE.catalogue,
        work_factory=runtime.reaction_work,
    )
    assert report.applied > 0
    rebuilt = await _read_model(service)
    mine = {name: [row for row in rows if str(child_id) in row] for name, rows in rebuilt.items()}
    theirs = {name: [row for row in rows if str(child_id) in row] for name, rows in live.items()}
    assert mine == theirs


async def test_a_schools_sen_support_plan_is_in_the_shared_plan_with_its_thread(
    service: Service,
) -> None:
    await publish_matrix(service)
    child_id = await _registered_child(service)
    plan = await open_plan(service, child_id)
    need, outcome, provision = uuid4(), uuid4(), uuid4()
    started = await service.client.post(
        f"/v1/support-plans/{plan['plan_id']}/cycles",
        json=first_cycle(need, outcome, provision),
        headers=school(service),
    )
    assert started.status_code == 201, started.text
    family = service.auth("family", ("parent",), children=[child_id])
    for section in ("B", "E"):
        await eventually(
            lambda s=section: _any_line(service, child_id, s, family), f"a line in {section}"
        )
    shown = await eventually(lambda: _any_line(service, child_id, "F", family), "provision")
    assert {line["provenance"]["agency"] for s in shown["sections"] for line in s["lines"]} >= {
        "school"
    }
    assert shown["golden_thread"]["complete"] is True, shown["golden_thread"]


async def _any_line(service: Service, child_id: UUID, section: str, headers: Any) -> Any:
    answer = await service.client.get(f"/v1/children/{child_id}/plan", headers=headers)
    return answer.json() if answer.status_code == 200 and _titles(answer.json(), section) else None
