"""What the consent service consumes: child facts from CHILDREN, and every service's
disclosures (`oneplan.<service>.disclosure.recorded`) from every OnePlan stream on the server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from oneplan_consent.adapters import repository
from oneplan_events.catalogue import DisclosureRecorded, Event
from oneplan_events.catalogue.children import (
    ChildRegistered,
    DetailsChanged,
    FamilyMemberAdded,
    FamilyMemberChanged,
    FamilyMemberRemoved,
)
from oneplan_events.consumer import DurableConsumer, Handler
from oneplan_events.envelope import Envelope
from oneplan_kit import Runtime

__all__ = [
    "DisclosureLog",
    "child_facts_consumer",
    "disclosure_consumer",
    "when_child_event_record_age_facts",
    "when_family_member_added_or_changed_record_responsibility",
    "when_family_member_removed_forget_them",
]

log = logging.getLogger(__name__)

_WITH_AGE_FACTS: Final = (
    ChildRegistered,
    DetailsChanged,
    FamilyMemberAdded,
    FamilyMemberChanged,
    FamilyMemberRemoved,
)
_ONEPLAN_STREAM: Final = re.compile(r"^oneplan\.(?P<service>[a-z][a-z0-9_]*)\.>$")


async def when_child_event_record_age_facts(
    event: Event, _envelope: Envelope, session: AsyncSession
) -> None:
    """Children events repeat the age facts; keep the latest."""
    assert isinstance(event, _WITH_AGE_FACTS)
    await repository.upsert_age_facts(
        session, event.child_id, event.date_of_birth, event.compulsory_school_age_ends_on
    )


async def when_family_member_added_or_changed_record_responsibility(
    event: Event, envelope: Envelope, session: AsyncSession
) -> None:
    """Who holds parental responsibility decides who may consent."""
    assert isinstance(event, FamilyMemberAdded | FamilyMemberChanged)
    await when_child_event_record_age_facts(event, envelope, session)
    await repository.upsert_member(
        session,
        event.child_id,
        event.member_id,
        event.relationship.value,
        event.parental_responsibility,
    )


async def when_family_member_removed_forget_them(
    event: Event, envelope: Envelope, session: AsyncSession
) -> None:
    """A person who left the network can no longer consent."""
    assert isinstance(event, FamilyMemberRemoved)
    await when_child_event_record_age_facts(event, envelope, session)
    await repository.remove_member(session, event.child_id, event.member_id)


def child_facts_consumer(runtime: Runtime, *, name: str, stream: str) -> DurableConsumer:
    """Children events into the local child-facts tables."""
    handlers: dict[str, Handler] = {
        "oneplan.children.child.registered": when_child_event_record_age_facts,
        "oneplan.children.details.changed": when_child_event_record_age_facts,
        "oneplan.children.family_member.added": (
            when_family_member_added_or_changed_record_responsibility
        ),
        "oneplan.children.family_member.changed": (
            when_family_member_added_or_changed_record_responsibility
        ),
        "oneplan.children.family_member.removed": when_family_member_removed_forget_them,
    }
    return DurableConsumer(
        runtime.js,
        runtime.sessionmaker,
        name=name,
        stream=stream,
        subjects=["oneplan.children.>"],
        handlers=handlers,
    )


def disclosure_consumer(
    runtime: Runtime, *, service: str, stream: str, prefix: str
) -> DurableConsumer:
    """One service's `oneplan.<service>.disclosure.recorded` into the disclosure log."""

    async def when_disclosure_recorded_log_it(
        event: Event, _envelope: Envelope, session: AsyncSession
    ) -> None:
        assert isinstance(event, DisclosureRecorded)
        await repository.add_disclosure(session, service, event)

    subject = f"oneplan.{service}.disclosure.recorded"
    return DurableConsumer(
        runtime.js,
        runtime.sessionmaker,
        name=f"{prefix}_disclosures_{service}",
        stream=stream,
        subjects=[subject],
        handlers={subject: when_disclosure_recorded_log_it},
    )


class DisclosureLog:
    """Finds every OnePlan stream on the server (subjects `oneplan.<service>.>`) and keeps a
    durable consumer of its disclosures, so an integrator's new service is logged too."""

    def __init__(self, runtime: Runtime, *, prefix: str, interval: float) -> None:
        self._runtime = runtime
        self._prefix = prefix
        self._interval = interval
        self._consumers: dict[str, DurableConsumer] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stopping = asyncio.Event()

    @property
    def services(self) -> list[str]:
        """The services whose disclosures are being logged."""
        return sorted(self._consumers)

    async def run(self) -> None:
        """Discover streams every `interval` seconds until `stop()`."""
        while not self._stopping.is_set():
            try:
                await self.discover()
            except Exception as exc:  # NATS unreachable: try again next round
                log.warning("disclosure stream discovery failed: %r", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)

    async def discover(self) -> None:
        """Start a consumer for every OnePlan stream that has none yet."""
        for info in await self._runtime.js.streams_info():
            subjects = info.config.subjects or []
            match = _ONEPLAN_STREAM.match(subjects[0]) if len(subjects) == 1 else None
            if match is None or match["service"] in self._consumers:
                continue
            service = match["service"]
            consumer = disclosure_consumer(
                self._runtime, service=service, stream=str(info.config.name), prefix=self._prefix
            )
            self._consumers[service] = consumer
            self._tasks[service] = asyncio.create_task(consumer.run(), name=consumer.name)
            log.info("logging disclosures of %s from stream %s", service, info.config.name)

    async def stop(self) -> None:
        """Stop discovering and stop every consumer (each finishes the batch in hand)."""
        self._stopping.set()
        for service, consumer in self._consumers.items():
            with contextlib.suppress(Exception):
                await consumer.stop(grace=5)
            task = self._tasks[service]
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
