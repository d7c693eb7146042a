"""Consent endpoints: give, list, read and withdraw."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Response

from oneplan_consent.adapters import repository
from oneplan_consent.adapters.tables import ConsentRow
from oneplan_consent.config import ConsentSettings
from oneplan_consent.domain.commands import Actor
from oneplan_consent.domain.record_visibility import Entry, RecordKind
from oneplan_consent.domain.who_may_consent import ConsentRequest
from oneplan_consent.entrypoints import examples
from oneplan_consent.entrypoints.access import (
    ensure_family_records_as_themself,
    ensure_may_list,
    ensure_may_see_record,
    ensure_may_withdraw,
)
from oneplan_consent.entrypoints.schemas import ConsentIn, ConsentOut, WithdrawalIn
from oneplan_consent.events import ConsentGiver
from oneplan_consent.service_layer import handlers
from oneplan_events.uow import UnitOfWork
from oneplan_kit import (
    Caller,
    CommandDep,
    FamilyOrPractitioner,
    NotFound,
    NowDep,
    Principal,
    ReadDep,
    Runtime,
)

__all__ = ["actor_of", "consent_settings", "router"]

router = APIRouter(prefix="/v1", tags=["consents"])


def consent_settings(runtime: Runtime) -> ConsentSettings:
    """The running service's settings, typed."""
    settings = runtime.settings
    if not isinstance(settings, ConsentSettings):
        raise TypeError("the consent service runs with ConsentSettings")
    return settings


def actor_of(principal: Principal) -> Actor:
    """Who is acting, for the events' `recorded_by` fields."""
    return Actor(sub=principal.sub, agency=principal.agency)


@router.post(
    "/children/{child_id}/consents",
    status_code=201,
    response_model=ConsentOut,
    summary="Record a consent given for the child",
)
async def give_consent(
    child_id: UUID,
    body: Annotated[ConsentIn, Body(openapi_examples=examples.CONSENT)],
    caller: Caller,
    cmd: CommandDep,
) -> Response:
    """Refused with 422 (each broken rule named) when the person may not consent, the period
    is empty, or an agency is unknown; 404 when the child is unknown; 403 when a family user
    records for someone other than themself. Nothing is written then."""
    ensure_family_records_as_themself(caller, body.given_by)
    request = ConsentRequest(
        given_by=body.given_by,
        owner_agencies=tuple(body.owner_agencies),
        recipient_agencies=tuple(body.recipient_agencies),
        data_classes=tuple(body.data_classes),
        purposes=tuple(body.purposes),
        valid_from=body.valid_from or cmd.now,
        valid_until=body.valid_until,
        capture_method=body.capture_method,
        witness_name=body.witness_name,
    )
    outcome = await handlers.give_consent(
        cmd.uow,
        child_id,
        request,
        actor=actor_of(caller),
        known_agencies=consent_settings(cmd.runtime).known_agencies,
    )
    assert outcome.state is not None
    row = await _row(cmd.uow, outcome.state.given.consent_id)
    return await cmd.respond(
        ConsentOut.of(row),
        status_code=201,
        version=row.version,
        location=f"/v1/consents/{row.consent_id}",
    )


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
async def list_consents(child_id: UUID, caller: Caller, uow: ReadDep) -> list[ConsentOut]:
    """The family sees its own child's consents; the SEND team and the safeguarding lead any
    child's; another agency those of a child it has a part in (docs/consent-rules.md)."""
    await ensure_may_list(uow.session, caller, child_id, RecordKind.CONSENT)
    return [ConsentOut.of(row) for row in await repository.consents_of(uow.session, child_id)]


@router.get("/consents/{consent_id}", response_model=ConsentOut, summary="One consent")
async def get_consent(
    consent_id: UUID, caller: FamilyOrPractitioner, uow: ReadDep, now: NowDep
) -> ConsentOut:
    """404 for a consent that does not exist or is not the caller's to see."""
    row = await _row(uow, consent_id)
    await ensure_may_see_record(uow.session, caller, row.child_id, Entry.consent(), now, consent_id)
    return ConsentOut.of(row)


@router.post(
    "/consents/{consent_id}/withdrawal",
    response_model=ConsentOut,
    summary="Withdraw a consent: it permits no further disclosure, at once",
)
async def withdraw_consent(
    consent_id: UUID,
    body: Annotated[WithdrawalIn, Body(openapi_examples=examples.WITHDRAWAL)],
    caller: FamilyOrPractitioner,
    cmd: CommandDep,
) -> Response:
    """409 when the consent was already withdrawn or has expired; 403 when a family user did
    not give it (see `ensure_may_withdraw`); 404 for a consent the caller is not shown (see
    docs/consent-rules.md: a practitioner withdraws on the family's behalf only where its
    agency has a part in the child)."""
    row = await _row(cmd.uow, consent_id)
    # It answers with the consent: only one the caller is shown (else 404, as a GET would).
    entry = Entry.consent()
    await ensure_may_see_record(cmd.uow.session, caller, row.child_id, entry, cmd.now, consent_id)
    giver = ConsentGiver.model_validate(row.record["given_by"])
    child = await repository.load_child_facts(cmd.uow.session, row.child_id)
    ensure_may_withdraw(caller, giver.person_id, child, cmd.today)
    outcome = await handlers.withdraw_consent(
        cmd.uow, consent_id, actor=actor_of(caller), reason=body.reason
    )
    return await cmd.respond(ConsentOut.of(row), version=outcome.version)
