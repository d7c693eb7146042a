"""The graduated response over HTTP with real NATS: a school opens a SEN support plan, runs two
cycles with progress, and asks for an EHC needs assessment that carries the history; the
public matrix, the provision map and the gaps worklist; section E outcomes tracked; bad input
and the wrong callers refused with problem documents, nothing written."""

from __future__ import annotations

from importlib.resources import files
from typing import Any
from uuid import UUID, uuid4, uuid5

from sqlalchemy import func, select

from oneplan_events.schema import event_store
from oneplan_plans.entrypoints.support_schemas import ProvisionGapsOut

from ..conftest import Service

URN = "100001"
MATRIX_YAML = files("oneplan_plans").joinpath("data/provision_matrix.yaml").read_text()


def school(service: Service) -> dict[str, str]:
    return service.auth("school", ("senco",))


async def stored_events(service: Service) -> int:
    async with service.app.state.runtime.sessionmaker() as session:
        count: int = await session.scalar(select(func.count()).select_from(event_store))
        return count


async def publish_matrix(service: Service) -> None:
    body = {
        "effective_from": "2025-09-01",
        "title": "Synthetic matrix",
        "format": "yaml",
        "text": MATRIX_YAML,
    }
    published = await service.client.post(
        "/v1/provision-matrix/imports", json=body, headers=service.manager()
    )
    assert published.status_code == 201, published.text


async def open_plan(service: Service, child_id: UUID) -> dict[str, Any]:
    body = {"child_id": str(child_id), "setting_urn": URN, "opened_on": "2025-10-06"}
    opened = await service.client.post("/v1/support-plans", json=body, headers=school(service))
    assert opened.status_code == 201, opened.text
    return dict(opened.json())


def first_cycle(need: UUID, outcome: UUID, line: UUID) -> dict[str, Any]:
    return {
        "starts_on": "2025-10-13",
        "needs": [
            {
                "need_id": str(need),
                "area": "cognition_and_learning",
                "description": "Reading and spelling well below age.",
                "expected_tier": "targeted",
            }
        ],
        "outcomes": [
            {
                "outcome_id": str(outcome),
                "description": "Reads a comic page on her own.",
                "need_ids": [str(need)],
            }
        ],
        "provision": [
            {
                "line_id": str(line),
                "entry_id": "CL-T1",
                "duration": "20 minutes",
                "starts_on": "2025-10-13",
                "cost_pence": 45000,
                "outcome_ids": [str(outcome)],
            }
        ],
        "child_views": "I like drawing. Reading is hard.",
        "child_views_helped_by": "Her teaching assistant",
        "family_views": "We read together at home but she gets upset.",
        "family_views_given_by": "Priya Example",
    }


async def test_a_school_runs_two_cycles_and_the_assessment_carries_the_history(
    service: Service,
) -> None:
    await publish_matrix(service)
    child = uuid4()
    plan = await open_plan(service, child)
    url = f"/v1/support-plans/{plan['plan_id']}"
    need, outcome, line = uuid4(), uuid4(), uuid4()

    started = await service.client.post(
        f"{url}/cycles", json=first_cycle(need, outcome, line), headers=school(service)
    )
    assert started.status_code == 201, started.text
    assert started.json()["cycles"][0]["matrix_version"] == 1
    assert started.json()["cycles"][0]["gaps"] == []

    # The need's contribution to section B names the outcome's section E contribution.
    e_id = str(uuid5(UUID(plan["plan_id"]), f"outcome:{outcome}"))
    b_event = await service.next_event(f"oneplan.plans.contribution.submitted.{plan['plan_id']}.*")
    assert (b_event.data["section"], b_event.data["outcomes"]) == ("B", [e_id])
    assert (b_event.dataclass, b_event.data["agency"]) == ("education", "school")

    delivery = {"recorded_on": "2025-11-03", "delivered_as_planned": False, "note": "TA absent"}
    recorded = await service.client.post(
        f"{url}/provision/{line}/delivery", json=delivery, headers=school(service)
    )
    assert recorded.status_code == 200, recorded.text
    assert [g["kind"] for g in recorded.json()["cycles"][0]["gaps"]] == ["provision_not_delivered"]
    gaps = await service.client.get(
        "/v1/provision-gaps", params={"setting": URN}, headers=service.auth()
    )
    assert gaps.status_code == 200, gaps.text
    assert gaps.json()["children"] == 1
    ProvisionGapsOut.model_validate(gaps.json())  # the joined JSON is the documented shape
    assert gaps.json()["plans"][0]["gaps"][0]["subject_id"] == str(line)

    review = {
        "reviewed_on": "2026-01-12",
        "progress": [
            {"outcome_id": str(outcome), "status": "not_started", "evidence": "Missed sessions."}
        ],
        "decision": "change",
        "reasons": "Sessions to be daily with a trained adult.",
    }
    reviewed = await service.client.post(f"{url}/reviews", json=review, headers=school(service))
    assert reviewed.status_code == 201, reviewed.text

    second = first_cycle(need, outcome, uuid4())
    second["starts_on"] = "2026-01-19"
    second["provision"][0].update(starts_on="2026-01-19", entry_id="CL-S1", duration="1 hour")
    second["child_views"] = "The new sessions are fun."
    started = await service.client.post(f"{url}/cycles", json=second, headers=school(service))
    assert started.status_code == 201, started.text
    new_line = started.json()["cycles"][1]["provision"][0]["line_id"]
    delivered = {"recorded_on": "2026-02-02", "delivered_as_planned": True}
    assert (
        await service.client.post(
            f"{url}/provision/{new_line}/delivery", json=delivered, headers=school(service)
        )
    ).status_code == 200
    review = {
        "reviewed_on": "2026-04-20",
        "progress": [
            {"outcome_id": str(outcome), "status": "progressing", "evidence": "Reads 3 lines."}
        ],
        "decision": "request_ehc_assessment",
        "reasons": "Two cycles of SEN support without the progress hoped for.",
    }
    reviewed = await service.client.post(f"{url}/reviews", json=review, headers=school(service))
    assert reviewed.status_code == 201, reviewed.text
    assessment_id = reviewed.json()["ehc_assessment_id"]
    assert reviewed.headers["link"] == f'</v1/assessments/{assessment_id}>; rel="related"'
    assert [p["status"] for p in reviewed.json()["outcomes"][0]["progress"]] == [
        "not_started",
        "progressing",
    ]

    assessment = await service.client.get(
        f"/v1/assessments/{assessment_id}", headers=service.auth()
    )
    assert assessment.status_code == 200, assessment.text
    body = assessment.json()
    assert (body["requested_by"], body["received_on"], body["stage"]) == (
        "school",
        "2026-04-20",
        "requested",
    )
    assert body["child_views"] == "The new sessions are fun."
    history = body["sen_support"]
    assert history["support_plan_id"] == plan["plan_id"]
    assert [c["decision"] for c in history["cycles"]] == ["change", "request_ehc_assessment"]
    assert history["cycles"][0]["family_views"] == "We read together at home but she gets upset."
    assert history["cycles"][0]["provision"][0]["delivered_as_planned"] is False
    assert history["cycles"][1]["outcomes"][0]["progress"][0]["evidence"] == "Reads 3 lines."
    requested = await service.next_event(f"oneplan.plans.assessment.requested.{assessment_id}.*")
    assert requested.data["sen_support"]["support_plan_id"] == plan["plan_id"]

    provision_map = await service.client.get(
        f"/v1/children/{child}/provision-map", headers=service.auth()
    )
    assert provision_map.status_code == 200, provision_map.text
    [mapped] = provision_map.json()["plans"]
    assert [c["cycle"] for c in mapped["cycles"]] == [1, 2]
    assert mapped["cycles"][1]["provision"][0]["entry_id"] == "CL-S1"


async def test_the_matrix_is_public_and_published_by_managers_only(service: Service) -> None:
    empty = await service.client.get("/v1/provision-matrix")
    assert empty.status_code == 200
    assert empty.json()["in_force"] is None
    body = {"effective_from": "2025-09-01", "title": "M", "format": "yaml", "text": MATRIX_YAML}
    for headers in (service.auth(), school(service), {}):
        refused = await service.client.post(
            "/v1/provision-matrix/imports", json=body, headers=headers
        )
        assert refused.status_code in (401, 403), refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    await publish_matrix(service)
    csv = (
        "entry_id,area,tier,description,typical_provider,frequency\n"
        "CL-T1,cognition_and_learning,targeted,Literacy group,Teaching assistant,Weekly\n"
    )
    later = {"effective_from": "2026-10-01", "title": "Version 2", "format": "csv", "text": csv}
    published = await service.client.post(
        "/v1/provision-matrix/imports", json=later, headers=service.manager()
    )
    assert published.status_code == 201, published.text
    now = (await service.client.get("/v1/provision-matrix")).json()
    assert now["in_force"]["matrix_version"] == 1
    assert now["in_force"]["in_force_until"] == "2026-09-30"
    assert [v["entries"] for v in now["versions"]] == [24, 1]
    october = await service.client.get("/v1/provision-matrix", params={"as_of": "2026-10-01"})
    assert october.json()["in_force"]["matrix_version"] == 2
    entry = {
        "entry_id": "CL-T1",
        "area": "cognition_and_learning",
        "tier": "targeted",
        "description": "Literacy group",
        "typical_provider": "Teaching assistant",
        "frequency": "Weekly",
    }
    version3 = {"effective_from": "2026-11-01", "title": "Version 3", "entries": [entry]}
    for path, bad, field in (
        (
            "imports",
            {**later, "effective_from": "2026-11-01", "text": csv.replace("targeted", "x")},
            "text",
        ),
        ("imports", {**later, "effective_from": "2026-08-01"}, "effective_from"),  # before today
        ("versions", {**version3, "effective_from": "2026-10-01"}, "effective_from"),  # not later
        ("versions", {**version3, "entries": [entry, entry]}, "entries"),
        ("versions", {**version3, "entries": []}, "entries"),
    ):
        refused = await service.client.post(
            f"/v1/provision-matrix/{path}", json=bad, headers=service.manager()
        )
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0]["location"][1] == field
    published = await service.client.post(
        "/v1/provision-matrix/versions", json=version3, headers=service.manager()
    )
    assert published.status_code == 201, published.text
