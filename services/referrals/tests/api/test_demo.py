"""The demo step makes its synthetic referrals through the public API, once."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime

from oneplan_kit.auth import issue_dev_token
from oneplan_kit.demo import DemoContext
from oneplan_referrals.demo import run

from ..referrals_testing import Service


async def test_the_demo_makes_two_referrals_and_a_second_run_adds_nothing(
    service: Service,
) -> None:
    service.clock.advance(datetime.now(UTC) - service.clock.now())  # the demo runs today
    children = [
        {"key": key, "child_id": str(await service.known_child())} for key in ("maya", "leo")
    ]

    def mint(agency: str, roles: Sequence[str], kids: Sequence[str]) -> str:
        return issue_dev_token(service.settings, agency, roles, kids)

    def context(out: io.StringIO) -> DemoContext:
        return DemoContext(
            client=service.client,
            scenario={"children": children},
            base_urls={"referrals": "http://referrals"},
            mint=mint,
            out=out,
        )

    first = context(io.StringIO())
    await run(first)
    out = io.StringIO()
    second = context(out)
    await run(second)
    assert second.scenario["referrals"] == first.scenario["referrals"]
    assert out.getvalue().count("already made by an earlier run") == 2
    page = await service.client.get("/v1/referrals", headers=service.auth())
    [leo] = page.json()["items"]  # Maya was seen: only Leo still waits
    assert (leo["referral_id"], leo["wait"]["weeks"], leo["wait"]["flagged"]) == (
        first.scenario["referrals"]["leo"],
        15,
        True,
    )
