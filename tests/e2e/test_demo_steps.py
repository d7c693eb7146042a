"""The children and consent demo steps, run in journey order against the running services."""

from __future__ import annotations

import io
from collections.abc import Sequence

import httpx
from e2e_services import Services

from oneplan_children import demo as children_demo
from oneplan_consent import demo as consent_demo
from oneplan_kit import issue_dev_token
from oneplan_kit.demo import DemoContext


async def test_consent_demo_step_gives_overrides_and_withdraws(services: Services) -> None:
    def mint(agency: str, roles: Sequence[str], children: Sequence[str]) -> str:
        return issue_dev_token(services.settings, agency, roles, children)

    out = io.StringIO()
    async with httpx.AsyncClient(timeout=30) as client:
        ctx = DemoContext(
            client=client,
            scenario={},
            base_urls={"children": services.children, "consent": services.consent},
            mint=mint,
            out=out,
        )
        await children_demo.run(ctx)
        await consent_demo.run(ctx)
        consents = ctx.scenario["consents"]
        assert set(consents) == {"maya", "leo", "jordan"}
        leo = await client.get(
            f"{services.consent}/v1/consents/{consents['leo']}",
            headers=ctx.auth("send", ["caseworker"]),
        )
        assert leo.json()["status"] == "withdrawn"
        jordan = await client.get(
            f"{services.consent}/v1/consents/{consents['jordan']}",
            headers=ctx.auth("send", ["caseworker"]),
        )
        assert jordan.json()["record"]["given_by"]["capacity"] == "young_person"
        queue = await client.get(
            f"{services.consent}/v1/overrides",
            params={"needs_review": "true"},
            headers=ctx.auth("social_care", ["safeguarding_lead"]),
        )
        assert [o["override_id"] for o in queue.json()] == [ctx.scenario["overrides"]["maya"]]
        assert "withdrew consent" in out.getvalue()

        # A second run finds everything the first recorded and records nothing again.
        again = io.StringIO()
        rerun = DemoContext(
            client=client, scenario={}, base_urls=ctx.base_urls, mint=mint, out=again
        )
        await children_demo.run(rerun)
        await consent_demo.run(rerun)
        assert rerun.scenario == ctx.scenario  # the same children, consents and override
        listed = await client.get(
            f"{services.consent}/v1/children/{ctx.scenario['children'][0]['child_id']}/consents",
            headers=ctx.auth("send", ["caseworker"]),
        )
        assert len(listed.json()) == 1
        printed = again.getvalue()
        assert printed.count("already recorded by an earlier run") == 3
        assert "override for Maya already recorded" in printed
        assert "had already withdrawn" in printed
