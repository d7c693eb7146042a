"""Sharing decisions (from the service's own replica) and the family's disclosure log."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from oneplan_consent.adapters import repository
from oneplan_consent.domain.record_visibility import Entry, RecordKind, may_see
from oneplan_consent.entrypoints import examples
from oneplan_consent.entrypoints.access import (
    AskedSharing,
    ensure_may_ask_about,
    ensure_may_list,
)
from oneplan_consent.entrypoints.schemas import DecisionIn, DecisionOut, DisclosureOut
from oneplan_kit import (
    BadRequest,
    Caller,
    FamilyOrPractitioner,
    NowDep,
    ReadDep,
    ReplicaDep,
)
from oneplan_kit.errors import one_or_many
from oneplan_sharing import ConsentReplica, DecisionRequest

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["decisions and disclosures"])

_MAX_BATCH = 1000

if TYPE_CHECKING:
    DecisionBody = DecisionIn | list[DecisionIn]
else:
    # The body's JSON type picks one or a batch: a fault is named once, at its field.
    DecisionBody = one_or_many(DecisionIn)


def _decide(replica: ConsentReplica, item: DecisionIn, now: datetime) -> dict[str, Any]:
    decision = replica.decide(
        DecisionRequest(
            child_id=item.child_id,
            owner_agency=item.owner_agency,
            recipient_agency=item.recipient_agency,
            data_class=item.data_class,
            purpose=item.purpose,
            at=item.at or now,
        )
    )
    return {
        "permit": decision.permit,
        "basis": decision.basis,
        "reference": None if decision.reference is None else str(decision.reference),
        "reason": decision.reason,
    }


@router.post(
    "/decisions",
    response_model=DecisionOut | list[DecisionOut],
    summary="Permit or deny: one request, or a batch (a JSON array, answered in order)",
)
async def decide(
    body: Annotated[DecisionBody, Body(openapi_examples=examples.DECISION)],
    *,
    principal: FamilyOrPractitioner,
    replica: ReplicaDep,
    now: NowDep,
) -> JSONResponse:
    """Decided by the same rules every service embeds; a stale replica denies (fail closed).

    403 (naming the offending items) unless the caller may ask about every request: a
    practitioner only where their agency is the owner or the recipient, a family user only
    about the children in their token, role `admin` about anything."""
    items = body if isinstance(body, list) else [body]
    if len(items) > _MAX_BATCH:
        raise BadRequest(f"At most {_MAX_BATCH} decisions per request.")
    ensure_may_ask_about(
        principal,
        [AskedSharing(i.child_id, i.owner_agency, i.recipient_agency) for i in items],
    )
    # Why a JSONResponse: this is the hot endpoint (p99 < 10 ms at 500/s); the answer is
    # built from plain values, so FastAPI's re-validation of the response model is skipped.
    answers = [_decide(replica, item, now) for item in items]
    return JSONResponse(answers if isinstance(body, list) else answers[0])


@router.get(
    "/children/{child_id}/disclosures",
    response_model=list[DisclosureOut],
    summary="Who saw what about the child, when and why (newest first)",
)
async def list_disclosures(
    child_id: UUID, principal: Caller, uow: ReadDep, now: NowDep
) -> list[DisclosureOut]:
    """Every entry the caller is shown (docs/consent-rules.md): the family all but those
    made under an override that hides them while a safeguarding enquiry runs; the SEND team
    and agencies with a part in the child all but the hidden ones of overrides they are not
    party to; the children's social care safeguarding lead all."""
    involvement = await ensure_may_list(uow.session, principal, child_id, RecordKind.DISCLOSURE)
    rows = await repository.disclosures_of(uow.session, child_id)
    return [
        DisclosureOut.of(row)
        for row in rows
        if may_see(principal, involvement, Entry.disclosure(row.basis, row.reference_id), now)
    ]
