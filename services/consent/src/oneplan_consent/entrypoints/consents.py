"""Consent endpoints: give, list, read and withdraw."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from oneplan_consent.adapters import repository
from oneplan_consent.adapters.tables import ConsentRow
from oneplan_consent.config import ConsentSettings
from oneplan_consent.domain.aggregates import AlreadyEnded
from oneplan_consent.domain.who_may_consent import ConsentRequest
from oneplan_consent.entrypoints.access import (
    ensure_family_records_as_themself,
    ensure_may_see_child,
    ensure_may_withdraw,
    refused,
)
from oneplan_consent.entrypoints.schemas import ConsentIn, ConsentOut, WithdrawalIn
from oneplan_consent.service_layer import handlers
from oneplan_events.catalogue.consent import ConsentGiver
from oneplan_kit import (
    Conflict,
    CurrentPrincipal,
    IdempotencyDep,
    NotFound,
    Principal,
    Runtime,
    RuntimeDep,
    UnitOfWork,
    UnitOfWorkDep,
    etag_for,
)

__all__ = ["actor_of", "consent_settings", "router", "unknown_child"]

router = APIRouter(prefix="/v1", tags=["consents"])


def consent_settings(runtime: Runtime) -> ConsentSettings:
    """The running service's settings, typed."""
    settings = runtime.settings
    if not isinstance(settings, ConsentSettings):
        raise TypeError("the consent service runs with ConsentSettings")
    return settings


def actor_of(principal: Principal) -> handlers.Actor:
    """Who is acting, for the events' `recorded_by` fields."""
    return handlers.Actor(sub=principal.sub, agency=principal.agency)


def unknown_child(child_id: UUID) -> NotFound:
    """404 for a child the children service has not told us about."""
    return NotFound(
        f"The consent service does not know child {child_id}: it learns children from the "
        "children service's events (register the child there first, or retry in a moment).",
        child_id=str(child_id),
    )


@router.post(
    "/children/{child_id}/consents",
    status_code=201,
    response_model=ConsentOut,
    summary="Record a consent given for the child",
)
async def give_consent(
    child_id: UUID,
    body: ConsentIn,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    uow: UnitOfWorkDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Refused with 422 (each broken rule named) when the person may not consent, the period
    is empty, or an agency is unknown; 404 when the child is unknown; 403 when a family user
    records for someone other than themself. Nothing is written then."""
    ensure_may_see_child(principal, child_id)
    ensure_family_records_as_themself(principal, body.given_by)
    now = datetime.now(UTC)
    request = ConsentRequest(
        given_by=body.given_by,
        owner_agencies=tuple(body.owner_agencies),
        recipient_agencies=tuple(body.recipient_agencies),
        data_classes=tuple(body.data_classes),
        purposes=tuple(body.purposes),
        valid_from=body.valid_from or now,
        valid_until=body.valid_until,
        capture_method=body.capture_method,
        witness_name=body.witness_name,
    )
    try:
        given = await handlers.give_consent(
            uow,
            child_id,
            request,
            actor=actor_of(principal),
            known_agencies=consent_settings(runtime).known_agencies,
            today=now.date(),
        )
    except handlers.ChildUnknown as exc:
        raise unknown_child(child_id) from exc
    except handlers.ConsentRefused as exc:
        raise refused(exc.issues) from exc
    row = await _row(uow, given.consent_id)
    response = JSONResponse(
        ConsentOut.of(row).model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/v1/consents/{given.consent_id}", "ETag": etag_for(row.version)},
    )
    await idem.complete(uow, response)
    await uow.commit()
    return response


async def _row(uow: UnitOfWork, consent_id: UUID) -> ConsentRow:
    row = await uow.session.get(ConsentRow, consent_id)
    if row is None:
        raise NotFound(f"No consent {consent_id}.")
    return row


@router.get(
    "/children/{child_id}/consents",
    response_model=list[ConsentOut],
    summary="The child's consents, newest first",
)
async def list_consents(
    child_id: UUID, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> list[ConsentOut]:
    """The family sees its own child's consents; practitioners any child's."""
    ensure_may_see_child(principal, child_id)
    return [ConsentOut.of(row) for row in await repository.consents_of(uow.session, child_id)]


@router.get("/consents/{consent_id}", response_model=ConsentOut, summary="One consent")
async def get_consent(
    consent_id: UUID, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> ConsentOut:
    """404 for a consent that does not exist or is not the caller's to see."""
    row = await _row(uow, consent_id)
    ensure_may_see_child(principal, row.child_id)
    return ConsentOut.of(row)


@router.post(
    "/consents/{consent_id}/withdrawal",
    response_model=ConsentOut,
    summary="Withdraw a consent: it permits no further disclosure, at once",
)
async def withdraw_consent(
    consent_id: UUID, body: WithdrawalIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> ConsentOut:
    """409 when the consent was already withdrawn or has expired; 403 when a family user did
    not give it (see `ensure_may_withdraw`)."""
    row = await _row(uow, consent_id)
    ensure_may_see_child(principal, row.child_id)
    now = datetime.now(UTC)
    giver = ConsentGiver.model_validate(row.record["given_by"])
    child = await repository.load_child_facts(uow.session, row.child_id)
    ensure_may_withdraw(principal, giver.person_id, child, now.date())
    try:
        await handlers.withdraw_consent(
            uow, consent_id, actor=actor_of(principal), reason=body.reason, now=now
        )
    except AlreadyEnded as exc:
        raise Conflict(str(exc), consent_id=str(consent_id)) from exc
    await uow.commit()
    return ConsentOut.of(row)
