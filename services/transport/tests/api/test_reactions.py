"""Cases opened by reactions: the plans and children services' events published on a real
nats-server, consumed by the running service."""

from __future__ import annotations

import dataclasses
from datetime import date
from uuid import UUID, uuid4

from sqlalchemy import select

from oneplan_events.envelope import Envelope
from oneplan_transport.adapters.tables import ChildFactsRow
from oneplan_transport.domain.model import case_id_for

from .conftest import Service, wait_for


async def age_known(service: Service, child: UUID) -> bool:
    async with service.app.state.runtime.sessionmaker() as session:
        row = await session.scalar(select(ChildFactsRow).where(ChildFactsRow.child_id == child))
        return row is not None


async def test_a_plan_issued_on_nats_opens_one_case_even_when_redelivered(
    service: Service,
) -> None:
    child, plan = uuid4(), uuid4()
    issued = service.foreign.plan_issued(child, plan)
    published = await service.js.subscribe(
        "oneplan.transport.case.opened.>", stream="TRANSPORT", ordered_consumer=True
    )
    await service.publish(issued)
    case = await service.wait_for_case(case_id_for(child))
    assert (case["status"], case["child_id"], case["plan_id"]) == (
        "awaiting_eligibility",
        str(child),
        str(plan),
    )
    assert case["setting"] == {
        "name": "Brook Green School",
        "urn": "123456",
        "type": "state_special",
    }
    message = await published.next_msg(timeout=10)
    opened = Envelope.from_nats(message.subject, message.headers, message.data)
    assert (opened.causationid, opened.childid, opened.dataclass) == (
        issued.id,
        str(child),
        "transport",
    )
    # The same event again: within the duplicate window (same id) and after it (a republish
    # under a new message id, at the same stream version); then the plan's next event.
    await service.publish(issued)
    await service.publish(dataclasses.replace(issued, id=str(uuid4())))
    await service.publish(
        service.foreign.plan_amended(child, plan, start_date="2026-10-05", setting=None)
    )
    case = await service.wait_for_case(
        case_id_for(child), lambda body: body["start_date"] == "2026-10-05"
    )
    listed = await service.client.get("/v1/cases", headers=service.auth())
    assert [item["case_id"] for item in listed.json()["items"]] == [str(case_id_for(child))]
    assert await service.stored_events() == 2  # opened, placement changed: nothing twice
    await published.unsubscribe()


async def test_an_amended_setting_and_a_move_reopen_the_decision(service: Service) -> None:
    child, plan = uuid4(), uuid4()
    born = date(2019, 5, 1)
    await service.publish(service.foreign.child_registered(child, born))
    await service.publish(service.foreign.plan_issued(child, plan))
    case_id = case_id_for(child)
    await service.wait_for_case(case_id)

    async def decide() -> None:
        decided = await service.client.post(
            f"/v1/cases/{case_id}/eligibility-decisions",
            json={"distance_miles": 2.4},
            headers=service.auth(),
        )
        assert decided.status_code == 201, decided.text
        assert decided.json()["decision"]["outcome"] == "eligible"

    # The child's age arrives from the children service's event: no date_of_birth needed.
    await wait_for(lambda: age_known(service, child))
    await decide()
    riverside = {"name": "Riverside Academy", "urn": "654321", "type": "mainstream"}
    await service.publish(service.foreign.plan_amended(child, plan, setting=riverside))
    reopened = await service.wait_for_case(
        case_id, lambda body: body["status"] == "awaiting_eligibility"
    )
    assert (reopened["setting"]["name"], reopened["decision"]) == ("Riverside Academy", None)
    await decide()
    await service.publish(service.foreign.details_changed(child, born, address_changed=True))
    moved = await service.wait_for_case(
        case_id, lambda body: body["status"] == "awaiting_eligibility"
    )
    assert moved["decision"] is None
