"""The demo step loads its synthetic scenario through the public API."""

from __future__ import annotations

import io
from collections.abc import Sequence

from oneplan_children.demo import run
from oneplan_kit.auth import issue_dev_token
from oneplan_kit.demo import DemoContext

from ..conftest import Service


def demo_context(service: Service, out: io.StringIO) -> DemoContext:
    def mint(agency: str, roles: Sequence[str], children: Sequence[str]) -> str:
        return issue_dev_token(service.settings, agency, roles, children)

    return DemoContext(
        client=service.client,
        scenario={},
        base_urls={"children": "http://children"},
        mint=mint,
        out=out,
    )


async def test_demo_registers_children_families_and_stories(service: Service) -> None:
    out = io.StringIO()
    ctx = demo_context(service, out)
    await run(ctx)
    children = {child["key"]: child for child in ctx.scenario["children"]}
    assert set(children) == {"maya", "leo", "jordan"}
    assert children["jordan"]["over_compulsory_school_age"] is True
    maya = children["maya"]
    roles = {member["role"]: member for member in maya["family"]}
    assert roles["parent"]["parental_responsibility"] is True
    assert roles["grandparent"]["parental_responsibility"] is False
    assert roles["advocate"]["relationship"] == "other"
    story = await service.client.get(
        f"/v1/children/{maya['child_id']}/story", headers=service.auth()
    )
    assert story.json()["story"]["aspirations"]["text"] == "I want to be an illustrator."
    assert story.headers["etag"] == maya["etag"]
    assert out.getvalue().count("story told") == 3


async def test_a_second_run_finds_the_first_runs_children_and_adds_nothing(
    service: Service,
) -> None:
    first = demo_context(service, io.StringIO())
    await run(first)
    out = io.StringIO()
    second = demo_context(service, out)
    await run(second)

    assert second.scenario["children"] == first.scenario["children"]
    printed = out.getvalue()
    assert printed.count("was already registered") == 3
    assert "registered Maya" not in printed
    assert "1 family member (all already there), story already told" in printed  # jordan
    assert "family members" in printed  # maya's three
    for child in first.scenario["children"]:
        search = await service.client.get(
            "/v1/children", params={"nhs_number": child["nhs_number"]}, headers=service.auth()
        )
        assert len(search.json()["items"]) == 1


async def test_a_run_interrupted_after_registering_completes_the_family_and_story(
    service: Service,
) -> None:
    first = demo_context(service, io.StringIO())
    await run(first)
    maya = first.scenario["children"][0]
    advocate = next(m for m in maya["family"] if m["role"] == "advocate")
    record = await service.client.get(f"/v1/children/{maya['child_id']}", headers=service.auth())
    removed = await service.client.delete(
        f"/v1/children/{maya['child_id']}/family-members/{advocate['member_id']}",
        headers={**service.auth(), "If-Match": record.headers["etag"]},
    )
    assert removed.status_code in (200, 204), removed.text

    out = io.StringIO()
    second = demo_context(service, out)
    await run(second)
    again = second.scenario["children"][0]
    assert again["child_id"] == maya["child_id"]
    assert {m["role"] for m in again["family"]} == {"parent", "grandparent", "advocate"}
    assert "3 family members (1 added now), story already told" in out.getvalue()
