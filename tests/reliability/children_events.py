"""The children service's events about synthetic children, published as its relay publishes
them: built from the children service's own catalogue (its published contract), each on
``<type>.<child id>`` with its stream version and ``Nats-Msg-Id`` its event id.

Each child's journey is five events: registered, two family members added, the first removed,
then the date of birth corrected. Records are interleaved at random, each record's events in
version order, at a bounded rate.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID, uuid4

from nats.js import JetStreamContext

from oneplan_children.domain.calendar import compulsory_school_age_ends_on
from oneplan_children.events import (
    CATALOGUE,
    ChildRegistered,
    DetailsChanged,
    FamilyMemberAdded,
    FamilyMemberRemoved,
    Relationship,
)
from oneplan_events.catalogue import Event

SOURCE = "/oneplan/children"
EVENTS_PER_JOURNEY = 5


@dataclass(frozen=True)
class Journey:
    """One child: ``leaving`` is added then removed, ``staying`` added; the date of birth is
    then corrected from ``born`` to ``corrected``."""

    child_id: UUID
    leaving: UUID
    staying: UUID
    born: date
    corrected: date

    @classmethod
    def random(cls, rng: random.Random) -> Journey:
        born = date(2012, 1, 1) + timedelta(days=rng.randrange(3000))
        return cls(uuid4(), uuid4(), uuid4(), born, born + timedelta(days=1 + rng.randrange(30)))

    @property
    def stream_id(self) -> str:
        return f"child/{self.child_id}"

    def events(self) -> list[Event]:
        before = self._age_facts(self.born)
        member = {
            "given_name": "Alex",
            "family_name": "Example",
            "relationship": Relationship.PARENT,
            "parental_responsibility": True,
        }
        return [
            ChildRegistered(**before, given_name="Sam", family_name="Example"),
            FamilyMemberAdded(**before, **member, member_id=self.leaving),
            FamilyMemberAdded(**before, **member, member_id=self.staying),
            FamilyMemberRemoved(
                **before,
                member_id=self.leaving,
                relationship=Relationship.PARENT,
                parental_responsibility=True,
                ended_on=date.today(),
            ),
            DetailsChanged(
                **self._age_facts(self.corrected),
                changed_fields=["date_of_birth"],
                address_changed=False,
            ),
        ]

    def _age_facts(self, born: date) -> dict[str, object]:
        return {
            "child_id": self.child_id,
            "date_of_birth": born,
            "compulsory_school_age_ends_on": compulsory_school_age_ends_on(born),
        }


@dataclass
class ChildrenPublisher:
    """Publishes journeys' events on the CHILDREN stream at up to ``rate`` events a second."""

    js: JetStreamContext
    rate: float
    seed: int = 7
    published: int = 0
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    async def publish(self, journeys: list[Journey]) -> None:
        """Every event of ``journeys``, records interleaved at random, each one in order."""
        pending = {journey.child_id: (journey, journey.events()) for journey in journeys}
        versions = dict.fromkeys(pending, 0)
        loop = asyncio.get_running_loop()
        started, sent = loop.time(), 0
        while pending:
            child_id = self._rng.choice(list(pending))
            journey, events = pending[child_id]
            versions[child_id] += 1
            await self._publish_one(journey, events.pop(0), versions[child_id])
            if not events:
                del pending[child_id]
            sent += 1
            # Bounded rate: never ahead of `rate` events a second since the start.
            await asyncio.sleep(max(0.0, started + sent / self.rate - loop.time()))

    async def _publish_one(self, journey: Journey, event: Event, version: int) -> None:
        envelope = CATALOGUE.envelope_for(event, source=SOURCE, subject=journey.stream_id)
        envelope = dataclasses.replace(envelope, streamversion=version)
        headers, body = envelope.to_nats()
        await self.js.publish(envelope.nats_subject, body, headers=headers)
        self.published += 1
