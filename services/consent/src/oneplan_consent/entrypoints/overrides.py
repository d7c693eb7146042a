"""Sharing without consent: safeguarding overrides, statutory duties, and decisions not to share."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Query, Response

from oneplan_consent.adapters import repository
from oneplan_consent.adapters.tables import DutyRow, OverrideRow, RefusalRow
from oneplan_consent.domain.commands import RecordDuty, RecordOverride, RecordRefusal
from oneplan_consent.domain.record_visibility import Entry, Involvement, RecordKind, may_see
from oneplan_consent.entrypoints.access import ensure_may_list
from oneplan_consent.entrypoints.consents import actor_of, consent_settings
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
from oneplan_events.uow import UnitOfWork
from oneplan_kit import (
    Caller,
    CommandDep,
    NotFound,
    NowDep,
    Practitioner,
    ReadDep,
    SafeguardingLead,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["sharing without consent"])


@router.post(
    "/children/{child_id}/overrides",
    status_code=201,
    response_model=OverrideOut,
    summary="Record a safeguarding override (role safeguarding_lead)",
)
async def record_override(
    child_id: UUID, body: OverrideIn, caller: SafeguardingLead, cmd: CommandDep
) -> Response:
    """Time-limited (default 30 days) and flagged for review; 403 for any other role."""
    command = RecordOverride(
        override_id=uuid4(),
        child_id=child_id,
        reason=body.reason,
        lawful_basis=body.lawful_basis,
        recipient_agencies=tuple(body.recipient_agencies),
        data_classes=tuple(body.data_classes),
        ends_at=body.ends_at,
        hide_from_family=body.hide_from_family,
        actor=actor_of(caller),
        known_agencies=consent_settings(cmd.runtime).known_agencies,
    )
    outcome = await handlers.record_override(cmd.uow, command)
    row = await _override(cmd.uow, command.override_id)
    return await cmd.respond(
        OverrideOut.of(row, cmd.now),
        status_code=201,
        version=outcome.version,
        location=f"/v1/overrides/{command.override_id}",
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
    caller: SafeguardingLead,
    uow: ReadDep,
    now: NowDep,
    needs_review: Annotated[bool | None, Query()] = None,
    child_id: Annotated[UUID | None, Query()] = None,
) -> list[OverrideOut]:
    """Filter with `needs_review=true` for the review queue, `child_id` for one child. Only
    the overrides the caller is shown (docs/consent-rules.md): the children's social care
    safeguarding lead sees every one; another agency's lead those of the children it has a
    part in, the hiding ones only when its agency is party to them."""
    rows = await repository.overrides_where(
        uow.session, needs_review=needs_review, child_id=child_id
    )
    involvements: dict[UUID, Involvement] = {}
    for row in rows:
        if row.child_id not in involvements:
            involvements[row.child_id] = await repository.involvement_of(uow.session, row.child_id)
    return [
        OverrideOut.of(row, now)
        for row in rows
        if may_see(caller, involvements[row.child_id], Entry.override(row.override_id), now)
    ]


@router.post(
    "/overrides/{override_id}/review",
    response_model=OverrideOut,
    summary="Record the review of an override",
)
async def review_override(
    override_id: UUID, body: OverrideReviewIn, caller: SafeguardingLead, cmd: CommandDep
) -> Response:
    """409 when the override has ended."""
    row = await _override(cmd.uow, override_id)
    outcome = await handlers.review_override(
        cmd.uow, override_id, actor=actor_of(caller), outcome=body.outcome
    )
    return await cmd.respond(OverrideOut.of(row, cmd.now), version=outcome.version)


@router.post(
    "/overrides/{override_id}/end", response_model=OverrideOut, summary="End an override now"
)
async def end_override(
    override_id: UUID, body: OverrideEndIn, caller: SafeguardingLead, cmd: CommandDep
) -> Response:
    """409 when the override has ended already."""
    row = await _override(cmd.uow, override_id)
    outcome = await handlers.end_override(
        cmd.uow, override_id, actor=actor_of(caller), reason=body.reason
    )
    return await cmd.respond(OverrideOut.of(row, cmd.now), version=outcome.version)


@router.post(
    "/children/{child_id}/refusals",
    status_code=201,
    response_model=RefusalOut,
    summary="Record a decision not to share, with its reason",
)
async def record_refusal(
    child_id: UUID, body: RefusalIn, caller: Practitioner, cmd: CommandDep
) -> Response:
    """Any practitioner may record why they decided not to share."""
    command = RecordRefusal(
        refusal_id=uuid4(),
        child_id=child_id,
        owner_agency=body.owner_agency,
        recipient_agency=body.recipient_agency,
        data_classes=tuple(body.data_classes),
        purpose=body.purpose,
        reason=body.reason,
        actor=actor_of(caller),
        known_agencies=consent_settings(cmd.runtime).known_agencies,
    )
    await handlers.record_refusal(cmd.uow, command)
    row = await cmd.uow.session.get(RefusalRow, command.refusal_id)
    assert row is not None
    return await cmd.respond(RefusalOut.of(row), status_code=201, version=1)


@router.post(
    "/children/{child_id}/duties",
    status_code=201,
    response_model=DutyOut,
    summary="Record a statutory duty to share (role safeguarding_lead)",
)
async def record_duty(
    child_id: UUID, body: DutyIn, caller: SafeguardingLead, cmd: CommandDep
) -> Response:
    """Sharing the law requires; decided with basis `statutory_duty`."""
    command = RecordDuty(
        duty_id=uuid4(),
        child_id=child_id,
        lawful_basis=body.lawful_basis,
        description=body.description,
        owner_agencies=tuple(body.owner_agencies),
        recipient_agencies=tuple(body.recipient_agencies),
        data_classes=tuple(body.data_classes),
        purposes=tuple(body.purposes),
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        actor=actor_of(caller),
        known_agencies=consent_settings(cmd.runtime).known_agencies,
    )
    outcome = await handlers.record_duty(cmd.uow, command)
    row = await cmd.uow.session.get(DutyRow, command.duty_id)
    assert row is not None
    return await cmd.respond(DutyOut.of(row, cmd.now), status_code=201, version=outcome.version)


@router.post(
    "/duties/{duty_id}/end",
    response_model=DutyOut,
    summary="End a statutory duty now (safeguarding_lead)",
)
async def end_duty(
    duty_id: UUID, body: OverrideEndIn, caller: SafeguardingLead, cmd: CommandDep
) -> Response:
    """404 for an unknown duty; 409 when it has been ended already."""
    outcome = await handlers.end_duty(cmd.uow, duty_id, actor=actor_of(caller), reason=body.reason)
    row = await cmd.uow.session.get(DutyRow, duty_id)
    assert row is not None
    return await cmd.respond(
        {**DutyOut.of(row, cmd.now).model_dump(mode="json"), "status": "ended"},
        version=outcome.version,
    )


@router.get(
    "/children/{child_id}/duties",
    response_model=list[DutyOut],
    summary="The child's statutory duties to share, newest first (practitioners)",
)
async def list_duties(child_id: UUID, caller: Caller, uow: ReadDep, now: NowDep) -> list[DutyOut]:
    """Ended duties included (`ended_at`); `active` says whether the duty permits now. For
    the SEND team, the safeguarding lead and agencies with a part in the child."""
    await ensure_may_list(uow.session, caller, child_id, RecordKind.DUTY)
    return [DutyOut.of(row, now) for row in await repository.duties_of(uow.session, child_id)]


@router.get(
    "/children/{child_id}/refusals",
    response_model=list[RefusalOut],
    summary="The child's recorded decisions not to share, newest first (practitioners)",
)
async def list_refusals(child_id: UUID, caller: Caller, uow: ReadDep) -> list[RefusalOut]:
    """Each with who decided, for which sharing, and why (in `record`). For the SEND team,
    the safeguarding lead and agencies with a part in the child."""
    await ensure_may_list(uow.session, caller, child_id, RecordKind.REFUSAL)
    return [RefusalOut.of(row) for row in await repository.refusals_of(uow.session, child_id)]
