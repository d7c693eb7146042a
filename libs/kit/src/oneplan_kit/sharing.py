"""Releasing another agency's data: one decision per item, one disclosure record per release.

::

    @router.get("/v1/children/{child_id}/story")
    async def read_story(child_id: UUID, reader: ChildReader, sharing: SharingDep, cmd: CommandDep):
        release = sharing.decide(reader, child_id, DataClass.STORY)
        if not release.permitted:
            raise release.withheld_problem()
        await sharing.record(cmd.uow, reader, child_id, [release])
        return await cmd.respond(...)

``SharingDep`` is the consent decision point of this service (its embedded replica; 503 when
it is not running, or a ``Consistency-Token`` wait runs out; a replica that cannot prove
itself fresh denies every release instead). A request carrying a ``Consistency-Token``
header (the CONSENT stream sequence a consent write returned) is answered only once the
replica has applied that sequence, so whoever withdrew a consent never sees it still used.
Every release to another agency is recorded as ``oneplan.<service>.disclosure.recorded`` in
the request's transaction: it appears in the family's disclosure log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import Depends

from oneplan_events.catalogue import register_disclosure_event
from oneplan_events.uow import UnitOfWork
from oneplan_events.vocabulary import DataClass
from oneplan_kit.access import Reader
from oneplan_kit.consistency import ReplicaDep
from oneplan_kit.errors import Forbidden
from oneplan_kit.runtime import Runtime, RuntimeDep
from oneplan_sharing import ConsentReplica, DecisionRequest

__all__ = ["Release", "Sharing", "SharingDep"]


@dataclass(frozen=True, slots=True)
class Release:
    """The decision point's answer for one data class: released (with its basis) or not."""

    data_class: DataClass
    permitted: bool
    basis: str | None = None
    reference: UUID | None = None
    reason: str | None = None

    def withheld(self) -> dict[str, str | None]:
        """How a response lists this data class as withheld (no content, only why)."""
        return {"data_class": self.data_class.value, "reason": self.reason}

    def withheld_problem(self) -> Forbidden:
        """403 naming the withheld data class and why, without any of its content."""
        return Forbidden(
            f"The {self.data_class.value} data is withheld: {self.reason}.",
            withheld=[self.withheld()],
        )


class Sharing:
    """The consent decision point of one request, fresh enough for its consistency token."""

    def __init__(self, runtime: Runtime, replica: ConsentReplica) -> None:
        self.runtime = runtime
        self.replica = replica

    def decide(
        self, reader: Reader, child_id: UUID, data_class: DataClass, *, owner: str | None = None
    ) -> Release:
        """May ``reader`` see ``owner``'s (default: this service's agency's) ``data_class``?"""
        owner_agency = owner or self.runtime.definition.owner_agency
        if owner_agency is None:
            raise RuntimeError(f"{self.runtime.definition.name} names no owner agency")
        if reader.purpose is None or owner_agency == reader.principal.agency:
            # The owning agency's staff and the child's family read without a permit.
            return Release(data_class, True, basis="own_data")
        decision = self.replica.decide(
            DecisionRequest(
                child_id=child_id,
                owner_agency=owner_agency,
                recipient_agency=reader.principal.agency,
                data_class=data_class,
                purpose=reader.purpose,
                at=self.runtime.clock.now(),
            )
        )
        if not decision.permit or decision.basis is None:
            return Release(data_class, False, reason=decision.reason or "no permit")
        return Release(data_class, True, decision.basis, decision.reference)

    async def record(
        self,
        uow: UnitOfWork,
        reader: Reader,
        child_id: UUID,
        releases: Sequence[Release],
        *,
        owner: str | None = None,
    ) -> list[UUID]:
        """Append a disclosure event for each release to another agency (in ``uow``)."""
        return await self.record_many(uow, reader, child_id, [(owner, r) for r in releases])

    async def record_many(
        self,
        uow: UnitOfWork,
        reader: Reader,
        child_id: UUID,
        releases: Sequence[tuple[str | None, Release]],
    ) -> list[UUID]:
        """Append a disclosure event for each (owner agency, release) to another agency, all
        in one stream of their own: one append however many agencies' data one read shows."""
        if reader.purpose is None:
            return []
        definition = self.runtime.definition
        model = register_disclosure_event(definition.name, definition.catalogue)
        events, recorded = [], []
        for owner, release in releases:
            if not release.permitted or release.basis == "own_data":
                continue
            disclosure_id = uuid4()
            events.append(
                model.model_validate(
                    {
                        "disclosure_id": disclosure_id,
                        "child_id": child_id,
                        "owner_agency": owner or definition.owner_agency,
                        "recipient_agency": reader.principal.agency,
                        "recipient": reader.principal.sub,
                        "data_classes": (release.data_class,),
                        "purpose": reader.purpose.value,
                        "basis": release.basis,
                        "reference_id": release.reference,
                        "disclosed_at": uow.now,
                    }
                )
            )
            recorded.append(disclosure_id)
        if events:
            # A stream of its own per read: concurrent reads of a child never contend.
            await uow.append(f"disclosure/{recorded[0]}", 0, events)
        return recorded


async def _sharing(runtime: RuntimeDep, replica: ReplicaDep) -> Sharing:
    return Sharing(runtime, replica)


SharingDep = Annotated[Sharing, Depends(_sharing)]
"""This service's consent decision point, for one request."""
