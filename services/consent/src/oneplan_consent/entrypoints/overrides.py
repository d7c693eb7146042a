"""Sharing without consent: safeguarding overrides, statutory duties, and decisions not to share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from oneplan_consent.adapters import repository
from oneplan_consent.adapters.tables import OverrideRow
from oneplan_consent.domain.aggregates import AlreadyEnded
from oneplan_consent.domain.who_may_consent import Issue
from oneplan_consent.entrypoints.access import (
    ensure_known_agencies,
    ensure_practitioner,
    ensure_safeguarding_lead,
    refused,
)
from oneplan_consent.entrypoints.consents import actor_of, consent_settings, unknown_child
from oneplan_consent.entrypoints.schemas import (
    DutyIn,
    DutyOut,
    OverrideEndIn,
    OverrideIn,
    OverrideOut,
    OverrideReviewIn,
    RefusalIn,
    RefusalOut,
)
from oneplan_consent.service_layer import handlers
from oneplan_events.catalogue.consent import StatutoryDutyRecorded
from oneplan_kit import Conflict, CurrentPrincipal, NotFound, RuntimeDep, UnitOfWork, UnitOfWorkDep

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["sharing without consent"])


@router.post(
    "/children/{child_id}/overrides",
    status_code=201,
    response_model=OverrideOut,
    summary="Record a safeguarding override (role safeguarding_lead)",
)
async def record_override(
    child_id: UUID,
    body: OverrideIn,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    uow: UnitOfWorkDep,
) -> JSONResponse:
    """Time-limited (default 30 days) and flagged for review; 403 for any other role."""
    ensure_safeguarding_lead(principal)
    ensure_known_agencies(
        consent_settings(runtime).known_agencies, recipient_agencies=body.recipient_agencies
    )
    now = datetime.now(UTC)
    request = handlers.OverrideRequest(
        reason=body.reason,
        lawful_basis=body.lawful_basis,
        recipient_agencies=tuple(body.recipient_agencies),
        data_classes=tuple(body.data_classes),
        ends_at=body.ends_at,
        hide_from_family=body.hide_from_family,
    )
    try:
        recorded = await handlers.record_override(
            uow, child_id, request, actor=actor_of(principal), now=now
        )
    except handlers.ChildUnknown as exc:
        raise unknown_child(child_id) from exc
    except handlers.ConsentRefused as exc:
        raise refused(exc.issues) from exc
    row = await _override(uow, recorded.override_id)
    await uow.commit()
    return JSONResponse(
        OverrideOut.of(row, now).model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/v1/overrides/{recorded.override_id}"},
    )


async def _override(uow: UnitOfWork, override_id: UUID) -> OverrideRow:
    row = await uow.session.get(OverrideRow, override_id)
    if row is None:
        raise NotFound(f"No override {override_id}.")
    return row


@router.get(
    "/overrides",
    response_model=list[OverrideOut],
    summary="Overrides, e.g. those awaiting review (role safeguarding_lead)",
)
async def list_overrides(
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    needs_review: Annotated[bool | None, Query()] = None,
    child_id: Annotated[UUID | None, Query()] = None,
) -> list[OverrideOut]:
    """Filter with `needs_review=true` for the review queue, `child_id` for one child."""
    ensure_safeguarding_lead(principal)
    now = datetime.now(UTC)
    rows = await repository.overrides_where(
        uow.session, needs_review=needs_review, child_id=child_id
    )
    return [OverrideOut.of(row, now) for row in rows]


@router.post(
    "/overrides/{override_id}/review",
    response_model=OverrideOut,
    summary="Record the review of an override",
)
async def review_override(
    override_id: UUID, body: OverrideReviewIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> OverrideOut:
    """409 when the override has ended."""
    ensure_safeguarding_lead(principal)
    row = await _override(uow, override_id)
    now = datetime.now(UTC)
    try:
        await handlers.review_override_now(
            uow, override_id, actor=actor_of(principal), outcome=body.outcome, now=now
        )
    except AlreadyEnded as exc:
        raise Conflict(str(exc)) from exc
    await uow.commit()
    return OverrideOut.of(row, now)


@router.post(
    "/overrides/{override_id}/end",
    response_model=OverrideOut,
    summary="End an override now",
)
async def end_override(
    override_id: UUID, body: OverrideEndIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> OverrideOut:
    """409 when the override has ended already."""
    ensure_safeguarding_lead(principal)
    row = await _override(uow, override_id)
    now = datetime.now(UTC)
    try:
        await handlers.end_override_now(
            uow, override_id, actor=actor_of(principal), reason=body.reason, now=now
        )
    except AlreadyEnded as exc:
        raise Conflict(str(exc)) from exc
    await uow.commit()
    return OverrideOut.of(row, now)


@router.post(
    "/children/{child_id}/refusals",
    status_code=201,
    summary="Record a decision not to share, with its reason",
)
async def record_refusal(
    child_id: UUID,
    body: RefusalIn,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    uow: UnitOfWorkDep,
) -> dict[str, str]:
    """Any practitioner may record why they decided not to share."""
    ensure_practitioner(principal)
    ensure_known_agencies(
        consent_settings(runtime).known_agencies,
        owner_agency=[body.owner_agency],
        recipient_agency=[body.recipient_agency],
    )
    try:
        recorded = await handlers.record_refusal(
            uow,
            child_id,
            owner_agency=body.owner_agency,
            recipient_agency=body.recipient_agency,
            data_classes=tuple(body.data_classes),
            purpose=body.purpose,
            reason=body.reason,
            actor=actor_of(principal),
            now=datetime.now(UTC),
        )
    except handlers.ChildUnknown as exc:
        raise unknown_child(child_id) from exc
    await uow.commit()
    return {"refusal_id": str(recorded.refusal_id)}


@router.post(
    "/children/{child_id}/duties",
    status_code=201,
    summary="Record a statutory duty to share (role safeguarding_lead)",
)
async def record_duty(
    child_id: UUID,
    body: DutyIn,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    uow: UnitOfWorkDep,
) -> dict[str, str]:
    """Sharing the law requires; decided with basis `statutory_duty`."""
    ensure_safeguarding_lead(principal)
    ensure_known_agencies(
        consent_settings(runtime).known_agencies,
        owner_agencies=body.owner_agencies,
        recipient_agencies=body.recipient_agencies,
    )
    now = datetime.now(UTC)
    valid_from = body.valid_from or now
    if body.valid_until is not None and body.valid_until <= valid_from:
        raise refused([Issue("valid_until", "the period must end after it starts")])
    event = StatutoryDutyRecorded(
        duty_id=uuid4(),
        child_id=child_id,
        lawful_basis=body.lawful_basis,
        description=body.description,
        owner_agencies=tuple(body.owner_agencies),
        recipient_agencies=tuple(body.recipient_agencies),
        data_classes=tuple(body.data_classes),
        purposes=tuple(body.purposes),
        valid_from=valid_from,
        valid_until=body.valid_until,
        recorded_by=principal.sub,
        recorded_by_agency=principal.agency,
    )
    try:
        await handlers.record_duty(uow, event)
    except handlers.ChildUnknown as exc:
        raise unknown_child(child_id) from exc
    await uow.commit()
    return {"duty_id": str(event.duty_id)}


@router.post("/duties/{duty_id}/end", summary="End a statutory duty now (safeguarding_lead)")
async def end_duty(
    duty_id: UUID, body: OverrideEndIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> dict[str, str]:
    """404 for an unknown duty; 409 when it has been ended already."""
    ensure_safeguarding_lead(principal)
    try:
        await handlers.end_duty_now(
            uow, duty_id, actor=actor_of(principal), reason=body.reason, now=datetime.now(UTC)
        )
    except handlers.NotRecorded as exc:
        raise NotFound(str(exc)) from exc
    except AlreadyEnded as exc:
        raise Conflict(str(exc)) from exc
    await uow.commit()
    return {"duty_id": str(duty_id), "status": "ended"}


@router.get(
    "/children/{child_id}/duties",
    response_model=list[DutyOut],
    summary="The child's statutory duties to share, newest first (practitioners)",
)
async def list_duties(
    child_id: UUID, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> list[DutyOut]:
    """Ended duties included (`ended_at`); `active` says whether the duty permits now."""
    ensure_practitioner(principal)
    now = datetime.now(UTC)
    return [DutyOut.of(row, now) for row in await repository.duties_of(uow.session, child_id)]


@router.get(
    "/children/{child_id}/refusals",
    response_model=list[RefusalOut],
    summary="The child's recorded decisions not to share, newest first (practitioners)",
)
async def list_refusals(
    child_id: UUID, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> list[RefusalOut]:
    """Each with who decided, for which sharing, and why (in `record`)."""
    ensure_practitioner(principal)
    return [RefusalOut.of(row) for row in await repository.refusals_of(uow.session, child_id)]
