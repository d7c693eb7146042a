"""The shared plan over HTTP: one plan per child, each line passing the consent decision for
its owning agency, every release recorded; as it stands or as it stood on a day; JSON or a
printable page; and the lead professional who coordinates the team around the child."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import HTMLResponse

from oneplan_events.decider import Aggregate
from oneplan_events.types import BoundedDate
from oneplan_events.vocabulary import Agency, DataClass
from oneplan_kit.access import (
    PRACTITIONER_ROLES,
    SEND_STAFF,
    Allow,
    Policy,
    PurposeReader,
    Reader,
    Refusal,
)
from oneplan_kit.auth import Principal
from oneplan_kit.commands import CommandDep
from oneplan_kit.errors import BadRequest, NotFound
from oneplan_kit.sharing import Release, Sharing, SharingDep
from oneplan_plans.adapters import shared_plan_store as store
from oneplan_plans.adapters.shared_plan_store import end_of
from oneplan_plans.domain.lead_professional import (
    LEAD_PROFESSIONAL,
    Lead,
    NameLeadProfessional,
)
from oneplan_plans.domain.shared_plan import Decision, LeadProfessional, assemble
from oneplan_plans.entrypoints import examples
from oneplan_plans.entrypoints.common import OptionalIfMatch
from oneplan_plans.entrypoints.shared_plan_html import render_plan
from oneplan_plans.entrypoints.shared_plan_schemas import (
    LeadProfessionalIn,
    LeadProfessionalOut,
    SharedPlanOut,
)
from oneplan_plans.events import LeadProfessionalNamed

__all__ = ["LEADS", "router"]

router = APIRouter(prefix="/v1", tags=["shared plan"])

LEADS: Aggregate[Lead | None, NameLeadProfessional] = Aggregate(LEAD_PROFESSIONAL)
"""Lead professionals as the kit runs them (the shared plan's read model shows them)."""


def _early_help(principal: Principal, _: object) -> Refusal | None:
    if principal.agency == Agency.SOCIAL_CARE and principal.has_role(*PRACTITIONER_ROLES):
        return None
    return Refusal(
        "Only early help (a social care practitioner) may do this.",
        needs="an early help practitioner (agency social_care with a known role)",
    )


EARLY_HELP = Policy("early_help", _early_help, "an early help practitioner")
LeadNamer = Annotated[Principal, Allow(SEND_STAFF | EARLY_HELP)]

AsOf = Annotated[
    BoundedDate | None,
    Query(description="The plan as it stood at the end of this day (its consents as now)."),
]


@router.get(
    "/children/{child_id}/plan",
    summary="The child's shared plan, as this reader may see it",
    response_model=SharedPlanOut,
)
async def read_plan(
    child_id: UUID, reader: PurposeReader, sharing: SharingDep, cmd: CommandDep, as_of: AsOf = None
) -> Response:
    """Sections A to K in statutory order, from every agency's contributions, the child's story
    and the issued plan, each line with its provenance; the journey across the agencies; the
    team around the child and the lead professional; the golden thread checked. Each line
    passes the consent decision for (its agency -> yours, its data class, your `purpose`);
    withheld lines never appear, and `withheld` says which sections had some, whose and why.
    Every release of another agency's data is recorded in the family's disclosure log.
    `as_of` shows the plan as it stood at the end of that day, with today's consents."""
    body, etag = await _plan_for(child_id, reader, sharing, cmd, as_of)
    return await cmd.respond(body, headers={"ETag": etag})


@router.get(
    "/children/{child_id}/plan.html",
    summary="The child's shared plan as a printable page",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}}},
)
async def read_plan_page(
    child_id: UUID, reader: PurposeReader, sharing: SharingDep, cmd: CommandDep, as_of: AsOf = None
) -> Response:
    """The same plan as an accessible page a family can keep or print: sections in statutory
    order, provenance beside each line, the team and the journey."""
    body, etag = await _plan_for(child_id, reader, sharing, cmd, as_of)
    return await cmd.respond_with(HTMLResponse(render_plan(body), headers={"ETag": etag}))


async def _plan_for(
    child_id: UUID, reader: Reader, sharing: Sharing, cmd: CommandDep, as_of: date | None
) -> tuple[SharedPlanOut, str]:
    session = cmd.uow.session
    known, registered_at = await store.child_known(session, child_id)
    if not known:
        raise NotFound(f"No child {child_id} is known to the plans service (yet).")
    if as_of is not None:
        _check_as_of(as_of, cmd.today, registered_at.date() if registered_at else None)
        lines = await store.lines_as_of(session, child_id, as_of)
        steps = await store.steps_of(session, child_id, until=end_of(as_of))
        lead = await _lead_as_of(cmd, child_id, as_of)
    else:
        lines = await store.current_lines(session, child_id)
        steps = await store.steps_of(session, child_id)
        lead = await store.lead_professional(session, child_id)
    releases: dict[tuple[str, str], Release] = {}
    view = assemble(lines, steps, lead, _decider(sharing, reader, child_id, releases))
    shown = [(agency, releases[(agency, dc)]) for agency, dc in view.released]
    await sharing.record_many(cmd.uow, reader, child_id, shown)
    sources = list(await store.sources_of(session, child_id))
    purpose = None if reader.purpose is None else reader.purpose.value
    body = SharedPlanOut.of(child_id, view, as_of=as_of, purpose=purpose, sources=sources)
    return body, f'"{view.fingerprint([str(as_of), purpose])}"'


def _check_as_of(as_of: date, today: date, registered_on: date | None) -> None:
    if as_of > today:
        raise BadRequest(f"as_of {as_of} is in the future: the plan is shown up to today.")
    if registered_on is not None and as_of < registered_on:
        raise BadRequest(
            f"as_of {as_of} is before the child was registered ({registered_on}): "
            "there was no plan then."
        )


def _decider(
    sharing: Sharing, reader: Reader, child_id: UUID, releases: dict[tuple[str, str], Release]
) -> Callable[[str, str], Decision]:
    def decide(agency: str, data_class: str) -> Decision:
        try:
            wanted = DataClass(data_class)
        except ValueError:
            return Decision(False, reason=f"unknown data class {data_class}")
        release = sharing.decide(reader, child_id, wanted, owner=agency)
        releases[(agency, data_class)] = release
        return Decision(release.permitted, release.basis, release.reason)

    return decide


async def _lead_as_of(cmd: CommandDep, child_id: UUID, day: date) -> LeadProfessional | None:
    lead = None
    for recorded in await cmd.uow.read_stream(LEADS.stream_id(child_id)):
        event = recorded.event
        if recorded.envelope.time >= end_of(day) or not isinstance(event, LeadProfessionalNamed):
            continue
        lead = LeadProfessional(
            event.name, event.role, event.agency, event.contact, event.named_on, event.named_by
        )
    return lead


@router.put(
    "/children/{child_id}/lead-professional",
    summary="Name the child's lead professional",
    response_model=LeadProfessionalOut,
)
async def name_lead_professional(
    child_id: UUID,
    caller: LeadNamer,
    cmd: CommandDep,
    expected: OptionalIfMatch,
    body: Annotated[LeadProfessionalIn, Body(openapi_examples=examples.LEAD_PROFESSIONAL)],
) -> Response:
    """The SEND team or early help names who coordinates the team around the child, as
    Worcestershire's policy asks, so the family knows whom to call; it shows in the plan's
    team and on its timeline. The same person with the same details again is a 409."""
    outcome = await cmd.uow.execute(
        LEADS,
        child_id,
        NameLeadProfessional(
            child_id=child_id,
            name=body.name,
            role=body.role,
            agency=body.agency,
            contact=body.contact,
            named_on=body.named_on,
            named_by=caller.sub,
        ),
        expected_version=expected,
    )
    state = outcome.state
    assert state is not None
    lead = LeadProfessional(
        state.name, state.role, state.agency, state.contact, state.named_on, state.named_by
    )
    return await cmd.respond(LeadProfessionalOut.of(child_id, lead), version=outcome.version)
