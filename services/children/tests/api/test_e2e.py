"""End to end: a child registered over HTTP arrives on NATS as oneplan.children.child.registered."""

from __future__ import annotations

import asyncio
import json

from nats.js.api import ConsumerConfig, DeliverPolicy

from ..conftest import Service


async def test_registration_is_published_on_jetstream(service_on: Service) -> None:
    # Subscribe first (new messages only), so the test sees exactly what the relay publishes.
    # The subject carries the record key (and, stored, its partition): filter by type with `.>`.
    subscription = await service_on.js.subscribe(
        "oneplan.children.child.registered.>",
        stream="CHILDREN",
        config=ConsumerConfig(deliver_policy=DeliverPolicy.NEW),
        ordered_consumer=True,
    )
    try:
        created = await service_on.register(nhs_number="9990000026")
        assert created.status_code == 201, created.text
        child_id = created.json()["child_id"]
        async with asyncio.timeout(10):
            while True:
                message = await subscription.next_msg(timeout=10)
                data = json.loads(message.data)
                if data["child_id"] == child_id:
                    break
    finally:
        await subscription.unsubscribe()
    # Stored as <type>.<record key>.<partition>: the key is the child's id.
    event_type, key, partition = message.subject.rsplit(".", 2)
    assert (event_type, key) == ("oneplan.children.child.registered", child_id)
    assert 0 <= int(partition) < 4
    assert message.headers is not None
    assert message.headers["ce-type"] == "oneplan.children.child.registered"
    assert message.headers["Nats-Msg-Id"] == message.headers["ce-id"]
    assert message.headers["ce-subject"] == f"child/{child_id}"
    assert message.headers["ce-streamversion"] == "1"
    assert data["compulsory_school_age_ends_on"] == "2031-06-27"
    assert data["nhs_number"] == "9990000026"
