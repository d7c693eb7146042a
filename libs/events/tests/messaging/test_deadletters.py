"""Replaying dead letters: the consumer that parked a message applies it again itself.

No test here publishes a replay: ``request_replay`` only marks the letter, and the running
consumer (same name) applies it through its own decoding and handler. A parked event's
version was passed over (its record's later events went on), so a delivery never applies it
again: only the operator's replay does.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from oneplan_events.catalogue import ContributionSubmitted
from oneplan_events.consumer import DurableConsumer
from oneplan_events.deadletters import (
    DeadLetter,
    DeadLetterAlreadyReplayed,
    DeadLetterNotFound,
    list_dead_letters,
    request_replay,
)
from oneplan_events.envelope import MSG_ID_HEADER
from oneplan_events.reactions import Delivery, Reactions

from .conftest import Harness, record


class Fragile:
    """A projection handler failing for the titles in ``broken`` until they are removed."""

    def __init__(self, *broken: str) -> None:
        self.broken = set(broken)
        self.attempts: Counter[str] = Counter()

    async def __call__(self, event: Any, delivery: Delivery) -> None:
        title = getattr(event, "title", "")
        self.attempts[title] += 1
        if title in self.broken:
            raise RuntimeError(f"cannot project {title} (attempt {self.attempts[title]})")
        await record(event, delivery)


def start(harness: Harness, handler: Fragile | None = None) -> DurableConsumer:
    reactions = Reactions()
    reactions.handles(ContributionSubmitted)(handler or record)
    return harness.consumer("projector", reactions, max_deliver=2, backoff=(0.1,))


async def park_poison(harness: Harness, handler: Fragile) -> tuple[DurableConsumer, DeadLetter]:
    """Publish before, poison, after; start the consumer; return it once poison is parked."""
    for title in ("before", "poison", "after"):
        await harness.publish(harness.envelope(title))
    consumer = start(harness, handler)

    async def parked() -> bool:
        return consumer.stats.parked == 1

    await harness.eventually(parked, within=10, message="poison parked")
    await harness.until_projected(2)
    [letter] = await all_letters(harness)
    assert letter.event_id == harness.published[1].id
    assert letter.state == "parked"
    return consumer, letter


async def all_letters(harness: Harness) -> list[DeadLetter]:
    async with harness.sessionmaker() as session:
        return await list_dead_letters(session, "projector", include_replayed=True)


async def request(harness: Harness, letter_id: int) -> DeadLetter:
    async with harness.sessionmaker() as session, session.begin():
        return await request_replay(session, letter_id)


async def settled(harness: Harness, letter_id: int) -> DeadLetter:
    """The letter once its consumer handled the request: replayed, or parked again."""

    async def handled() -> bool:
        letters = {letter.id: letter for letter in await all_letters(harness)}
        return letters[letter_id].state != "replay requested"

    await harness.eventually(handled, within=10, message=f"replay of {letter_id} handled")
    return {letter.id: letter for letter in await all_letters(harness)}[letter_id]


async def titles(harness: Harness) -> list[str]:
    return sorted(title for _, title in await harness.projected())


async def test_a_requested_replay_is_applied_once_by_the_consumer(harness: Harness) -> None:
    handler = Fragile("poison")
    consumer, letter = await park_poison(harness, handler)
    attempts = handler.attempts["poison"]

    handler.broken.clear()
    requested = await request(harness, letter.id)
    assert requested.state == "replay requested"
    assert requested.replay_requested_at is not None
    replayed = await settled(harness, letter.id)

    assert replayed.state == "replayed"
    assert replayed.replayed_at is not None
    assert handler.attempts["poison"] == attempts + 1
    assert await titles(harness) == ["after", "before", "poison"]
    assert (consumer.stats.replayed, consumer.stats.replays_failed) == (1, 0)
    with pytest.raises(DeadLetterAlreadyReplayed, match=f"dead letter {letter.id} of projector"):
        await request(harness, letter.id)
    with pytest.raises(DeadLetterNotFound):
        await request(harness, letter.id + 1000)
    async with harness.sessionmaker() as session:
        assert await list_dead_letters(session, "projector") == []
    assert await harness.projected_count() == 3


async def test_a_replay_that_fails_again_stays_parked_with_the_new_error(
    harness: Harness,
) -> None:
    handler = Fragile("poison")
    consumer, letter = await park_poison(harness, handler)
    attempts = handler.attempts["poison"]

    await request(harness, letter.id)
    failed = await settled(harness, letter.id)

    assert failed.state == "parked"
    assert failed.replay_requested_at is None
    assert failed.deliveries == letter.deliveries + 1
    assert failed.error == f"RuntimeError: cannot project poison (attempt {attempts + 1})"
    assert failed.error != letter.error
    assert await titles(harness) == ["after", "before"]
    assert (consumer.stats.replayed, consumer.stats.replays_failed) == (0, 1)

    # Parked again, it can be asked for again once the cause is fixed.
    handler.broken.clear()
    await request(harness, letter.id)
    assert (await settled(harness, letter.id)).state == "replayed"
    assert await titles(harness) == ["after", "before", "poison"]


async def test_a_parked_event_comes_back_only_through_its_replay(harness: Harness) -> None:
    handler = Fragile("poison")
    consumer, letter = await park_poison(harness, handler)
    handler.broken.clear()
    # The same event published again under a new message id: its version was passed over.
    headers, body = harness.published[1].to_nats()
    headers[MSG_ID_HEADER] = f"{harness.published[1].id}~again"
    duplicates = consumer.stats.duplicates
    await harness.js.publish(harness.published[1].nats_subject, body, headers=headers)

    async def recognised() -> bool:
        return consumer.stats.duplicates == duplicates + 1

    await harness.eventually(recognised, message="the copy recognised as passed over")
    assert await titles(harness) == ["after", "before"]

    await request(harness, letter.id)
    assert (await settled(harness, letter.id)).state == "replayed"
    assert await titles(harness) == ["after", "before", "poison"]


async def test_an_undecodable_message_stays_parked_with_its_reason(harness: Harness) -> None:
    headers, _ = harness.envelope("good").to_nats()
    await harness.js.publish(harness.submitted_type + ".x", b"{not json", headers=headers)
    consumer = start(harness)

    async def parked() -> bool:
        return consumer.stats.parked == 1

    await harness.eventually(parked, within=10, message="undecodable message parked")
    [letter] = await all_letters(harness)

    await request(harness, letter.id)
    failed = await settled(harness, letter.id)

    assert failed.state == "parked"
    assert failed.error == letter.error
    assert failed.error.startswith("MalformedEvent: body is not UTF-8 JSON")
    assert failed.deliveries == 2
    assert await harness.projected_count() == 0
    assert consumer.stats.replays_failed == 1
