"""The graduated response over HTTP: the SEND Provision Matrix, SEN support plans (assess,
plan, do, review), their provision maps and gaps, and section E outcomes tracked.

Who may call each route is in its signature. Reading the matrix and the plan types is public;
publishing a matrix version needs a SEND manager. A SEN support plan is opened by a
practitioner of an agency its plan type names (`opened_by`: schools and settings) and run by
that agency; refusals name the field (422), the step (409) or what is needed (403), and write
nothing.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Body, Query, Request, Response

from oneplan_events.decider import Outcome
from oneplan_events.types import BoundedDate
from oneplan_kit.access import (
    PRACTITIONER,
    SEND_STAFF,
    Allow,
    ChildReader,
    Policy,
    Practitioner,
    Public,
    SendManager,
    SendStaff,
)
from oneplan_kit.access import Refusal as _Refusal
from oneplan_kit.auth import Principal
from oneplan_kit.clock import TodayDep
from oneplan_kit.commands import CommandDep, ReadDep
from oneplan_kit.errors import Forbidden, NotFound
from oneplan_kit.runtime import RuntimeDep
from oneplan_kit.sharing import SharingDep
from oneplan_plans.adapters import support_repository as repository
from oneplan_plans.adapters.support_repository import EHC_OUTCOMES, SUPPORT_PLANS
from oneplan_plans.config import PlansSettings
from oneplan_plans.domain.ehc_outcomes import EhcOutcomes
from oneplan_plans.domain.provision_checks import check_plan
from oneplan_plans.domain.provision_matrix import parse_matrix_csv, parse_matrix_yaml
from oneplan_plans.domain.support_commands import CloseSupportPlan, RecordDelivery
from oneplan_plans.domain.support_plan import SupportPlan
from oneplan_plans.entrypoints import support_examples as examples
from oneplan_plans.entrypoints.common import OptionalIfMatch
from oneplan_plans.entrypoints.schemas import Withheld
from oneplan_plans.entrypoints.support_schemas import (
    CloseIn,
    CycleIn,
    DeliveryIn,
    EhcOutcomesIn,
    EhcOutcomesOut,
    EhcProgressIn,
    LineBody,
    MatrixImportIn,
    MatrixOut,
    MatrixVersionIn,
    MatrixVersionOut,
    PlanTypeOut,
    ProvisionGapsOut,
    ProvisionMapOut,
    SupportPlanIn,
    SupportPlanOut,
    SupportReviewIn,
)
from oneplan_plans.events import DATA_CLASS, MatrixEntry, Urn
from oneplan_plans.service_layer import support_handlers as handlers

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["graduated response"])


def _settings(runtime_settings: object) -> PlansSettings:
    assert isinstance(runtime_settings, PlansSettings)
    return runtime_settings


def _setting_staff(principal: Principal, request: Request) -> _Refusal | None:
    """A practitioner of an agency that opens plans of a cycled type (schools, settings)."""
    types = _settings(request.app.state.runtime.settings).plan_types()
    agencies = {a for t in types if t.cycles for a in t.opened_by}
    if PRACTITIONER.refusal(principal, request) is None and principal.agency in agencies:
        return None
    needs = f"a practitioner of {' or '.join(sorted(agencies))} (the agencies that run SEN support)"
    return _Refusal(f"This needs {needs}.", needs=needs)


SETTING_STAFF = Policy("setting_staff", _setting_staff, "a school's or setting's practitioner")
SettingOrSendStaff = Annotated[Principal, Allow(SETTING_STAFF | SEND_STAFF)]


# -- the vocabulary and the matrix ---------------------------------------------------------


@router.get("/plan-types", summary="The plan types", response_model=list[PlanTypeOut])
async def plan_types(caller: Public, runtime: RuntimeDep) -> list[PlanTypeOut]:
    """The EHC plan, the SEN support plan and any a deployment adds: whether each is
    statutory, runs cycles, who opens one, and the sections its content goes to."""
    return [PlanTypeOut.of(t) for t in _settings(runtime.settings).plan_types()]


@router.get(
    "/provision-matrix", summary="The SEND Provision Matrix in force", response_model=MatrixOut
)
async def read_matrix(
    caller: Public,
    uow: ReadDep,
    today: TodayDep,
    as_of: Annotated[
        BoundedDate | None, Query(description="The version in force on this day (default today).")
    ] = None,
) -> MatrixOut:
    """What is ordinarily available for each area of need at each tier (universal, targeted,
    specialist): the version in force on `as_of`, and every version published. Public:
    families and schools see what to expect."""
    return MatrixOut.of(await handlers.matrix(uow), as_of or today)


async def _publish(
    cmd: CommandDep,
    body: MatrixVersionIn | MatrixImportIn,
    entries: tuple[MatrixEntry, ...],
    caller: Principal,
    version: int | None,
) -> Response:
    outcome = await handlers.publish_matrix(
        cmd.uow,
        effective_from=body.effective_from,
        title=body.title,
        entries=entries,
        published_by=caller.sub,
        expected_version=version,
    )
    published = outcome.state.versions[-1]
    return await cmd.respond(
        MatrixVersionOut.of(published, outcome.state),
        status_code=201,
        version=outcome.version,
        location=f"/v1/provision-matrix?as_of={published.effective_from.isoformat()}",
    )


@router.post(
    "/provision-matrix/versions",
    status_code=201,
    summary="Publish a version of the SEND Provision Matrix",
    response_model=MatrixVersionOut,
)
async def publish_matrix(
    body: Annotated[MatrixVersionIn, Body(openapi_examples=examples.MATRIX_VERSION)],
    caller: SendManager,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """The first version may be in force from any day; a later one from a day after today
    and after the latest version's (cycles already recorded keep the version they were judged
    by). Entry ids are unique within a version. `If-Match` is the matrix record's version.
    Publishes `oneplan.plans.provision_matrix.version_published`."""
    return await _publish(cmd, body, tuple(body.entries), caller, version)


@router.post(
    "/provision-matrix/imports",
    status_code=201,
    summary="Publish a version of the SEND Provision Matrix from CSV or YAML",
    response_model=MatrixVersionOut,
)
async def import_matrix(
    body: Annotated[MatrixImportIn, Body(openapi_examples=examples.MATRIX_IMPORT)],
    caller: SendManager,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """As `POST /v1/provision-matrix/versions`, the entries read from `text`
    (`data/provision_matrix.yaml` is the demo's); a row at fault is named by its line."""
    parse = parse_matrix_csv if body.format == "csv" else parse_matrix_yaml
    return await _publish(cmd, body, parse(body.text, "text"), caller, version)


# -- SEN support plans ---------------------------------------------------------------------


async def _respond(
    cmd: CommandDep, plan: SupportPlan | None, version: int, *, status_code: int = 200
) -> Response:
    assert plan is not None
    gaps = check_plan(plan, await repository.published_matrix(cmd.uow.session))
    return await cmd.respond(
        SupportPlanOut.of(plan, gaps),
        status_code=status_code,
        version=version,
        location=f"/v1/support-plans/{plan.plan_id}",
    )


@router.post(
    "/support-plans",
    status_code=201,
    summary="Open a SEN support plan for a child",
    response_model=SupportPlanOut,
)
async def open_support_plan(
    body: Annotated[SupportPlanIn, Body(openapi_examples=examples.SUPPORT_PLAN)],
    caller: Practitioner,
    cmd: CommandDep,
) -> Response:
    """By a practitioner of an agency the plan type names (schools and settings), for a
    setting of the settings directory. Publishes `oneplan.plans.support_plan.opened`."""
    types = _settings(cmd.runtime.settings).plan_types()
    kind = types.cycled(body.plan_type)
    if caller.agency not in kind.opened_by:
        raise Forbidden(
            f"A {kind.title} is opened by {', '.join(sorted(kind.opened_by))}.",
            required=f"a practitioner of {' or '.join(sorted(kind.opened_by))}",
        )
    outcome = await handlers.open_support_plan(
        cmd.uow,
        types,
        _settings(cmd.runtime.settings).directory(),
        plan_id=uuid4(),
        child_id=body.child_id,
        plan_type=body.plan_type,
        urn=body.setting_urn,
        opened_on=body.opened_on,
        opened_by=caller.sub,
        opened_by_agency=caller.agency,
    )
    return await _respond(cmd, outcome.state, outcome.version, status_code=201)


@router.get("/support-plans/{plan_id}", summary="A SEN support plan", response_model=SupportPlanOut)
async def read_support_plan(plan_id: UUID, caller: SettingOrSendStaff, uow: ReadDep) -> Response:
    """Every cycle with its provision map and gaps, every outcome with its progress."""
    plan, version = await uow.load(SUPPORT_PLANS, plan_id)
    if plan is None:
        raise NotFound(f"No SEN support plan {plan_id}.")
    gaps = check_plan(plan, await repository.published_matrix(uow.session))
    body = SupportPlanOut.of(plan, gaps).model_dump_json()
    return Response(body, media_type="application/json", headers={"ETag": f'"{version}"'})


@router.post(
    "/support-plans/{plan_id}/cycles",
    status_code=201,
    summary="Start an assess-plan-do-review cycle",
    response_model=SupportPlanOut,
)
async def start_cycle(
    plan_id: UUID,
    body: Annotated[CycleIn, Body(openapi_examples=examples.CYCLE)],
    caller: SettingOrSendStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """Needs (area, description, the tier they call for), the child's and the family's views
    in their words, outcomes (linked to needs) and the provision map (each line names an entry
    of the matrix version in force on `starts_on`). Not before the plan opened or the last
    review; the previous cycle must be reviewed. Publishes `support_plan.cycle_started`,
    `provision.planned` per line and the contributions to sections B, E and F."""
    outcome = await handlers.start_cycle(
        cmd.uow,
        plan_id,
        starts_on=body.starts_on,
        needs=tuple(n.need() for n in body.needs),
        outcomes=tuple(o.outcome() for o in body.outcomes),
        lines=tuple(line.line() for line in body.provision),
        recorded_by=caller.sub,
        by_agency=caller.agency,
        views={
            "child_views": body.child_views,
            "child_views_helped_by": body.child_views_helped_by,
            "family_views": body.family_views,
            "family_views_given_by": body.family_views_given_by,
        },
        expected_version=version,
    )
    return await _respond(cmd, outcome.state, outcome.version, status_code=201)


@router.post(
    "/support-plans/{plan_id}/provision",
    status_code=201,
    summary="Add a line to the current cycle's provision map",
    response_model=SupportPlanOut,
)
async def plan_provision(
    plan_id: UUID,
    body: Annotated[LineBody, Body(openapi_examples=examples.LINE)],
    caller: SettingOrSendStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """The entry must be in the matrix version of the cycle's date."""
    outcome = await handlers.plan_provision(
        cmd.uow, plan_id, body.line(), caller.sub, caller.agency, version
    )
    return await _respond(cmd, outcome.state, outcome.version, status_code=201)


@router.post(
    "/support-plans/{plan_id}/provision/{line_id}/delivery",
    summary="Record whether a provision line was delivered as planned",
    response_model=SupportPlanOut,
)
async def record_delivery(
    plan_id: UUID,
    line_id: UUID,
    body: Annotated[DeliveryIn, Body(openapi_examples=examples.DELIVERY)],
    caller: SettingOrSendStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """During "do", for a line of the current cycle. Publishes
    `provision.delivery_recorded`."""
    command = RecordDelivery(
        line_id, body.recorded_on, body.delivered_as_planned, caller.sub, caller.agency, body.note
    )
    outcome = await cmd.execute(SUPPORT_PLANS, plan_id, command, expected_version=version)
    return await _respond(cmd, outcome.state, outcome.version)


@router.post(
    "/support-plans/{plan_id}/reviews",
    status_code=201,
    summary="Review the current cycle",
    response_model=SupportPlanOut,
)
async def review_cycle(
    plan_id: UUID,
    body: Annotated[SupportReviewIn, Body(openapi_examples=examples.SUPPORT_REVIEW)],
    caller: SettingOrSendStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """Progress on every outcome of the cycle (`outcome.progress_recorded` each), and the
    decision: `continue`, `change` (start the next cycle), `step_down` (the plan closes), or
    `request_ehc_assessment`: an EHC needs assessment is requested in the same transaction
    (received today from the school), carrying the SEN support history; its id is the plan's
    `ehc_assessment_id` and the response's `Link` header."""
    reviewed, requested = await handlers.review_cycle(
        cmd.uow,
        plan_id,
        reviewed_on=body.reviewed_on,
        progress=tuple(p.progress() for p in body.progress),
        decision=body.decision,
        reasons=body.reasons,
        recorded_by=caller.sub,
        by_agency=caller.agency,
        expected_version=version,
    )
    plan = reviewed.state
    assert plan is not None
    gaps = check_plan(plan, await repository.published_matrix(cmd.uow.session))
    headers = {}
    if requested is not None and requested.state is not None:
        link = f"/v1/assessments/{requested.state.assessment_id}"
        headers["Link"] = f'<{link}>; rel="related"'
    return await cmd.respond(
        SupportPlanOut.of(plan, gaps),
        status_code=201,
        version=reviewed.version,
        location=f"/v1/support-plans/{plan_id}",
        headers=headers,
    )


@router.post(
    "/support-plans/{plan_id}/close",
    summary="Close a SEN support plan",
    response_model=SupportPlanOut,
)
async def close_support_plan(
    plan_id: UUID,
    body: Annotated[CloseIn, Body(openapi_examples=examples.CLOSE)],
    caller: SettingOrSendStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """The child left the setting, an EHC plan took over, or another reason; the plan's
    contributions to the shared plan are withdrawn."""
    command = CloseSupportPlan(body.closed_on, body.reason, caller.sub, caller.agency)
    outcome = await cmd.execute(SUPPORT_PLANS, plan_id, command, expected_version=version)
    return await _respond(cmd, outcome.state, outcome.version)


# -- reads across plans --------------------------------------------------------------------


@router.get(
    "/children/{child_id}/provision-map",
    summary="A child's trackable provision map (consent decides for other agencies)",
    response_model=ProvisionMapOut,
)
async def provision_map(
    child_id: UUID, reader: ChildReader, sharing: SharingDep, cmd: CommandDep
) -> Response:
    """Every SEN support plan of the child, every cycle (current and past) with its needs,
    outcomes and their progress, provision lines and delivery, and the gaps each cycle has
    against the matrix version in force on its own date. Another agency's practitioner
    (a school's too) states a `purpose` and sees it only with a permit; each release is in
    the family's disclosure log."""
    release = sharing.decide(reader, child_id, DATA_CLASS)
    if not release.permitted:
        withheld = [Withheld.model_validate(release.withheld())]
        return await cmd.respond(
            ProvisionMapOut(child_id=child_id, plans=[], withheld=withheld), version=0
        )
    maps = await handlers.provision_map(cmd.uow, child_id)
    if maps:
        await sharing.record(cmd.uow, reader, child_id, [release])
    body = ProvisionMapOut(
        child_id=child_id,
        plans=[SupportPlanOut.of(m.plan, m.gaps) for m in maps],
        withheld=[],
    )
    return await cmd.respond(body, version=sum(m.plan.version for m in maps))


@router.get(
    "/provision-gaps",
    summary="A setting's worklist of provision gaps",
    response_model=ProvisionGapsOut,
)
async def provision_gaps(
    caller: SettingOrSendStaff,
    uow: ReadDep,
    setting: Annotated[Urn, Query(description="The setting's URN.")],
) -> Response:
    """Each open SEN support plan at the setting whose latest cycle has gaps: needs without
    provision at or above their tier, provision not delivered as planned, outcomes without
    provision (judged by the matrix in force on the cycle's date), child by child."""
    found = await repository.gaps_of_setting(uow.session, setting)
    # The projection wrote each plan's item as JSON (PlanGapsOut): the answer only joins them.
    head = ProvisionGapsOut(
        setting_urn=setting, children=found.children, gaps=found.gaps, plans=[]
    ).model_dump_json()
    body = head[: -len("[]}")] + "[" + ",".join(found.documents) + "]}"
    return Response(body, media_type="application/json")


# -- section E outcomes of EHC plans -------------------------------------------------------


@router.post(
    "/plans/{plan_id}/outcomes",
    status_code=201,
    summary="Record an EHC plan's section E outcomes for tracking",
    response_model=EhcOutcomesOut,
)
async def record_ehc_outcomes(
    plan_id: UUID,
    body: Annotated[EhcOutcomesIn, Body(openapi_examples=examples.EHC_OUTCOMES)],
    caller: SendStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """Each outcome gets an id that progress names at every review
    (`oneplan.plans.outcome.recorded`)."""
    outcome = await handlers.record_ehc_outcomes(
        cmd.uow,
        plan_id,
        tuple(o.outcome() for o in body.outcomes),
        body.recorded_on,
        caller.sub,
        version,
    )
    return await _respond_with_outcomes(cmd, plan_id, outcome)


@router.post(
    "/plans/{plan_id}/outcome-progress",
    status_code=201,
    summary="Record progress on an EHC plan's section E outcomes",
    response_model=EhcOutcomesOut,
)
async def record_ehc_progress(
    plan_id: UUID,
    body: Annotated[EhcProgressIn, Body(openapi_examples=examples.EHC_PROGRESS)],
    caller: SendStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """`not_started`, `progressing`, `achieved` or `no_longer_relevant`, with the evidence
    (`oneplan.plans.outcome.progress_recorded`); an outcome of another plan is refused."""
    outcome = await handlers.record_ehc_progress(
        cmd.uow,
        plan_id,
        tuple(p.progress() for p in body.progress),
        body.recorded_on,
        caller.sub,
        version,
    )
    return await _respond_with_outcomes(cmd, plan_id, outcome)


async def _respond_with_outcomes(
    cmd: CommandDep, plan_id: UUID, outcome: Outcome[EhcOutcomes | None]
) -> Response:
    """201 with the plan's section E outcomes after the command."""
    assert outcome.state is not None
    return await cmd.respond(
        EhcOutcomesOut.of(outcome.state),
        status_code=201,
        version=outcome.version,
        location=f"/v1/plans/{plan_id}/outcomes",
    )


@router.get(
    "/plans/{plan_id}/outcomes",
    summary="An EHC plan's section E outcomes and their progress",
    response_model=EhcOutcomesOut,
)
async def read_ehc_outcomes(plan_id: UUID, caller: SendStaff, uow: ReadDep) -> EhcOutcomesOut:
    state, _ = await uow.load(EHC_OUTCOMES, plan_id)
    if state is None:
        raise NotFound(f"Plan {plan_id} has no section E outcomes recorded for tracking.")
    return EhcOutcomesOut.of(state)
