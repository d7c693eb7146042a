"""The demo step loads its synthetic scenario through the public API."""

from __future__ import annotations

import io
from collections.abc import Sequence

from oneplan_children.demo import run
from oneplan_kit.auth import issue_dev_token
from oneplan_kit.demo import DemoContext

from ..conftest import Service


async def test_demo_registers_children_families_and_stories(service: Service) -> None:
    def mint(agency: str, roles: Sequence[str], children: Sequence[str]) -> str:
        return issue_dev_token(service.settings, agency, roles, children)

    out = io.StringIO()
    ctx = DemoContext(
        client=service.client,
        scenario={},
        base_urls={"children": "http://children"},
        mint=mint,
        out=out,
    )
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
