"""Referrals: received, triaged, appointments, discharged; the waiting-list worklist and
report; a child's referrals for the family and, with a permit, other agencies.

Health's own staff (`AgencyStaff`, agency `health`) run the referral; any practitioner may
make one. Only health staff see clinical narrative.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Body, Query, Response
from pydantic_core import to_json

from oneplan_kit import ValidationProblem
from oneplan_kit.access import AgencyStaff, ChildReader, Practitioner
from oneplan_kit.clock import TodayDep
from oneplan_kit.commands import CommandDep, ReadDep
from oneplan_kit.sharing import SharingDep
from oneplan_referrals.adapters import repository
from oneplan_referrals.domain.commands import (
    AcceptReferral,
    BookAppointment,
    CancelAppointment,
    DeclineReferral,
    DischargeReferral,
    RecordAttendance,
    RecordDidNotAttend,
    RedirectReferral,
    ReferralCommand,
)
from oneplan_referrals.domain.directory import Directory
from oneplan_referrals.domain.errors import InvalidInput, NotFound
from oneplan_referrals.domain.referral import Referral
from oneplan_referrals.domain.waits import wait_on
from oneplan_referrals.entrypoints import examples
from oneplan_referrals.entrypoints.directory import DirectoryDep
from oneplan_referrals.entrypoints.schemas import (
    AppointmentIn,
    Cancellation,
    ChildReferralsOut,
    ClinicalNoteOut,
    Discharge,
    NewReferral,
    ReferralDetail,
    ReferralOut,
    Triage,
    TriageDecision,
    WaitingBand,
    WaitingItem,
    WaitingPage,
    WaitingReport,
    Withheld,
)
from oneplan_referrals.events import DATA_CLASS
from oneplan_referrals.service_layer.handlers import on_referral, receive_referral

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["referrals"])


def _out(referral: Referral, today: date, directory: Directory) -> ReferralOut:
    entry = directory.get(referral.service_id)
    return ReferralOut.of(referral, today, entry.name if entry else None)


@router.post("/referrals", status_code=201, summary="Make a referral", response_model=ReferralOut)
async def make_referral(
    body: Annotated[NewReferral, Body(openapi_examples=examples.NEW_REFERRAL)],
    caller: Practitioner,
    directory: DirectoryDep,
    cmd: CommandDep,
) -> Response:
    """A practitioner refers a child the service knows to a service of the directory.
    The reason is clinical: it stays in this service (health staff read it), never in an
    event. 422 naming `child_id` or `service_id` when either is unknown."""
    agency = body.referrer_agency or caller.agency
    if agency != caller.agency and caller.agency != "health":
        raise InvalidInput(
            "referrer_agency", "only health staff record a referral on another agency's behalf"
        )
    referral, version = await receive_referral(
        cmd.uow,
        caller,
        directory,
        child_id=body.child_id,
        service_id=body.service_id,
        referrer_agency=agency,
        urgency=body.urgency,
        received_on=body.received_on,
        reason=body.reason,
    )
    return await cmd.respond(
        _out(referral, cmd.today, directory),
        status_code=201,
        version=version,
        location=f"/v1/referrals/{referral.referral_id}",
    )


_AFTER = re.compile(
    r"^(\d{4}-\d{2}-\d{2})_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)


def _keyset(after: str | None) -> tuple[date, UUID] | None:
    if after is None:
        return None
    match = _AFTER.match(after)
    try:
        if match is None:
            raise ValueError(after)
        return date.fromisoformat(match[1]), UUID(match[2])
    except ValueError:
        raise ValidationProblem(
            [
                {
                    "location": ["query", "after"],
                    "message": "not a page position: use the `next` of the page before",
                    "type": "value_error",
                }
            ],
            detail="after: not a page position",
        ) from None


def _cursor(row: repository.WaitingRow) -> str:
    return f"{row.received_on.isoformat()}_{row.referral_id}"


def _waiting_item(row: repository.WaitingRow, today: date) -> dict[str, Any]:
    """A waiting-list item as `WaitingItem` documents it, built from the row's columns: the
    hot path of the worklist, so plain values, not models (`test_referrals` holds the JSON
    to the model)."""
    wait = wait_on(today, row.received_on, first_seen=None, booked=row.booked)
    # str(): the driver's UUIDs are a subclass pydantic_core serialises the slow way.
    return {
        "referral_id": str(row.referral_id),
        "child_id": str(row.child_id),
        "service_id": str(row.service_id),
        "service_name": row.service_name,
        "referrer_agency": row.referrer_agency,
        "urgency": row.urgency,
        "status": row.status,
        "received_on": row.received_on,
        "wait": {
            "received_on": wait.received_on,
            "breach_on": wait.breach_on,
            "first_seen_on": None,
            "days": wait.days,
            "weeks": wait.days // 7,
            "status": wait.status.value,
            "flagged": wait.flagged,
            "next_appointment_on": wait.next_appointment_on,
        },
    }


@router.get(
    "/referrals",
    summary="The waiting-list worklist",
    response_model=WaitingPage,
)
async def worklist(
    staff: AgencyStaff,
    uow: ReadDep,
    today: TodayDep,
    status: Annotated[
        Literal["open"],
        Query(description="Open referrals still waiting for a first appointment."),
    ] = "open",
    order: Annotated[
        Literal["weeks_waiting"], Query(description="Longest waiting first.")
    ] = "weeks_waiting",
    service_id: Annotated[UUID | None, Query(description="One service only.")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Page size.")] = 50,
    after: Annotated[
        str | None,
        Query(
            pattern=_AFTER.pattern,
            description="The `next` of the page before (none: the first page).",
        ),
    ] = None,
) -> Response:
    """The waiting list: open referrals not yet seen, longest waiting first, each with its
    wait and whether it is flagged (breached, or will breach 18 weeks), paged by position
    (`next`: stable while referrals join and leave the list). Health staff only."""
    rows, total = await repository.waiting_list(
        uow.session, service_id=service_id, limit=limit, after=_keyset(after)
    )
    if total is None:
        total = await repository.count_waiting(uow.session, service_id=service_id)
    page = {
        "total": total,
        "items": [_waiting_item(row, today) for row in rows],
        "next": _cursor(rows[-1]) if len(rows) == limit else None,
    }
    return Response(to_json(page), media_type="application/json")


@router.get(
    "/reports/waiting",
    summary="Open referrals by weeks waiting, flagged ones, the 18-week measure",
    response_model=WaitingReport,
)
async def waiting_report(
    staff: AgencyStaff,
    uow: ReadDep,
    today: TodayDep,
    service_id: Annotated[UUID | None, Query(description="One service only.")] = None,
) -> WaitingReport:
    """Counts of open referrals in bands of completed weeks waiting (0-5, 6-11, 12-17, 18+),
    the open referrals flagged as breached or about to breach, and of the referrals first
    seen, how many within 18 weeks. Counted by the database."""
    figures, flagged = await repository.waiting_report(uow.session, today, service_id=service_id)
    return WaitingReport(
        as_of=today,
        service_id=service_id,
        open=figures.waiting,
        bands=[WaitingBand(weeks=label, count=count) for label, count in figures.bands],
        flagged=[WaitingItem.model_validate(_waiting_item(row, today)) for row in flagged],
        first_seen=figures.first_seen,
        first_seen_within_18_weeks=figures.first_seen_within_18_weeks,
        percent_within_18_weeks=figures.percent_within_18_weeks,
    )


@router.get(
    "/referrals/{referral_id}",
    summary="One referral with its clinical narrative",
    response_model=ReferralDetail,
)
async def read_referral(
    referral_id: UUID, staff: AgencyStaff, directory: DirectoryDep, cmd: CommandDep
) -> Response:
    """Health staff only: the referral, its wait and its clinical notes."""
    referral, version = await cmd.uow.load(repository.REFERRALS, referral_id)
    if referral is None:
        raise NotFound(f"no referral {referral_id}")
    notes = await repository.clinical_notes(cmd.uow.session, referral_id)
    base = _out(referral, cmd.today, directory)
    detail = ReferralDetail(**base.model_dump(), notes=[ClinicalNoteOut.of(n) for n in notes])
    return await cmd.respond(detail, version=version)


async def _step(
    cmd: CommandDep,
    staff: AgencyStaff,
    directory: Directory,
    referral_id: UUID,
    command: ReferralCommand,
    *,
    status_code: int = 200,
    note: tuple[str, str] | None = None,
    services: tuple[str, list[UUID]] | None = None,
) -> Response:
    referral, version = await on_referral(
        cmd.uow, staff, referral_id, command, note=note, directory=directory, services=services
    )
    # A booked appointment is part of its referral: the Location of what was created is it.
    location = f"/v1/referrals/{referral_id}" if status_code == 201 else None
    return await cmd.respond(
        _out(referral, cmd.today, directory),
        status_code=status_code,
        version=version,
        location=location,
    )


@router.post(
    "/referrals/{referral_id}/triage",
    summary="Triage: accept, redirect or decline with signposting",
    response_model=ReferralOut,
)
async def triage(
    referral_id: UUID,
    body: Annotated[Triage, Body(openapi_examples=examples.TRIAGE)],
    staff: AgencyStaff,
    directory: DirectoryDep,
    cmd: CommandDep,
) -> Response:
    """Accept the referral, redirect it to another service (the wait keeps the original
    received date), or decline it naming the services the family is signposted to."""
    command: ReferralCommand
    services: tuple[str, list[UUID]] | None = None
    match body.decision:
        case TriageDecision.ACCEPTED:
            command = AcceptReferral(body.on)
        case TriageDecision.REDIRECTED:
            if body.to_service_id is None:
                raise InvalidInput("to_service_id", "a redirection names the service")
            command = RedirectReferral(body.to_service_id, body.on)
            services = ("to_service_id", [body.to_service_id])
        case TriageDecision.DECLINED:
            command = DeclineReferral(body.on, tuple(body.signposted_to))
            services = ("signposted_to", list(body.signposted_to))
    note = ("triage", body.note) if body.note else None
    return await _step(cmd, staff, directory, referral_id, command, note=note, services=services)


@router.post(
    "/referrals/{referral_id}/appointments",
    status_code=201,
    summary="Book an appointment",
    response_model=ReferralOut,
)
async def book(
    referral_id: UUID,
    body: Annotated[AppointmentIn, Body(openapi_examples=examples.APPOINTMENT)],
    staff: AgencyStaff,
    directory: DirectoryDep,
    cmd: CommandDep,
) -> Response:
    """Book an appointment for an accepted referral (not before it was received)."""
    command = BookAppointment(uuid4(), body.booked_on, body.appointment_on)
    return await _step(cmd, staff, directory, referral_id, command, status_code=201)


@router.post(
    "/referrals/{referral_id}/appointments/{appointment_id}/attended",
    summary="The child attended",
    response_model=ReferralOut,
)
async def attended(
    referral_id: UUID,
    appointment_id: UUID,
    staff: AgencyStaff,
    directory: DirectoryDep,
    cmd: CommandDep,
) -> Response:
    """The child attended the booked appointment (the first attended one ends the wait)."""
    return await _step(cmd, staff, directory, referral_id, RecordAttendance(appointment_id))


@router.post(
    "/referrals/{referral_id}/appointments/{appointment_id}/did-not-attend",
    summary="The child did not attend",
    response_model=ReferralOut,
)
async def did_not_attend(
    referral_id: UUID,
    appointment_id: UUID,
    staff: AgencyStaff,
    directory: DirectoryDep,
    cmd: CommandDep,
) -> Response:
    """The child did not attend the booked appointment: the wait goes on."""
    return await _step(cmd, staff, directory, referral_id, RecordDidNotAttend(appointment_id))


@router.post(
    "/referrals/{referral_id}/appointments/{appointment_id}/cancellation",
    summary="Cancel an appointment",
    response_model=ReferralOut,
)
async def cancel(
    referral_id: UUID,
    appointment_id: UUID,
    body: Annotated[Cancellation, Body(openapi_examples=examples.CANCELLATION)],
    staff: AgencyStaff,
    directory: DirectoryDep,
    cmd: CommandDep,
) -> Response:
    """Cancel a booked appointment, saying whether the family or the service cancelled."""
    command = CancelAppointment(appointment_id, body.by, body.on)
    return await _step(cmd, staff, directory, referral_id, command)


@router.post(
    "/referrals/{referral_id}/discharge",
    summary="Discharge with an outcome",
    response_model=ReferralOut,
)
async def discharge(
    referral_id: UUID,
    body: Annotated[Discharge, Body(openapi_examples=examples.DISCHARGE)],
    staff: AgencyStaff,
    directory: DirectoryDep,
    cmd: CommandDep,
) -> Response:
    """Close an accepted referral with an outcome code (409 for one never accepted)."""
    note = ("discharge", body.note) if body.note else None
    command = DischargeReferral(body.on, body.outcome)
    return await _step(cmd, staff, directory, referral_id, command, note=note)


@router.get(
    "/children/{child_id}/referrals",
    summary="A child's referrals, status and wait",
    response_model=ChildReferralsOut,
)
async def child_referrals(
    child_id: UUID,
    reader: ChildReader,
    sharing: SharingDep,
    directory: DirectoryDep,
    cmd: CommandDep,
) -> Response:
    """The child's family (a family token for the child) and health staff see every
    referral with its status and wait (never clinical narrative); another agency states a
    `purpose` and sees them only with a permit for `health` data, else they are listed as
    withheld. Every release to another agency is recorded in the family's disclosure log."""
    release = sharing.decide(reader, child_id, DATA_CLASS)
    if not release.permitted:
        withheld = [Withheld.model_validate(release.withheld())]
        return await cmd.respond(ChildReferralsOut(items=[], withheld=withheld), version=0)
    rows = await repository.referrals_of_child(cmd.uow.session, child_id)
    if rows:
        await sharing.record(cmd.uow, reader, child_id, [release])
    items = [_out(repository.referral_from_state(r.state), cmd.today, directory) for r in rows]
    # The list's ETag: the sum of its referrals' versions changes whenever any of them does.
    version = sum(row.version for row in rows)
    return await cmd.respond(ChildReferralsOut(items=items, withheld=[]), version=version)
