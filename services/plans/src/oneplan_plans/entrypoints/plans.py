"""The final plan over HTTP: issuing it (which ends the assessment), amending it, reading it."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Query, Response

from oneplan_kit.access import Public, SendManager, SendStaff
from oneplan_kit.commands import CommandDep, ReadDep
from oneplan_kit.errors import NotFound
from oneplan_kit.runtime import RuntimeDep
from oneplan_plans.adapters.repository import PLANS
from oneplan_plans.config import PlansSettings
from oneplan_plans.domain.commands import AmendPlan
from oneplan_plans.domain.settings_directory import SettingsDirectory
from oneplan_plans.entrypoints import examples
from oneplan_plans.entrypoints.common import OptionalIfMatch
from oneplan_plans.entrypoints.schemas import (
    AmendmentIn,
    DirectoryEntryOut,
    FinalPlanIn,
    PlanOut,
    ReviewIn,
)
from oneplan_plans.events import SettingType
from oneplan_plans.service_layer import handlers

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["plans"])


def _directory(cmd: CommandDep) -> SettingsDirectory:
    settings = cmd.runtime.settings
    assert isinstance(settings, PlansSettings)
    return settings.directory()


@router.get("/settings", summary="The settings directory", response_model=list[DirectoryEntryOut])
async def list_settings(
    caller: Public,
    runtime: RuntimeDep,
    setting_type: Annotated[
        SettingType | None, Query(alias="type", description="Only this section I type.")
    ] = None,
) -> list[DirectoryEntryOut]:
    """Schools, early-years settings, resourced provisions and post-16 providers that section I
    may name (an unknown URN there is refused)."""
    settings = runtime.settings
    assert isinstance(settings, PlansSettings)
    return [DirectoryEntryOut.of(e) for e in settings.directory().entries(setting_type)]


@router.post(
    "/assessments/{assessment_id}/final-plan",
    status_code=201,
    summary="Issue the final EHC plan (by week 20)",
    response_model=PlanOut,
)
async def issue_final_plan(
    assessment_id: UUID,
    body: Annotated[FinalPlanIn, Body(openapi_examples=examples.FINAL_PLAN)],
    caller: SendManager,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """Section I names the setting, its URN and type. Not before the 15 days for comments
    end, unless the family has commented. Publishes `oneplan.plans.plan.issued` (what
    transport needs) and answers the new plan; `If-Match` is the assessment's version."""
    _, issued = await handlers.issue_final_plan(
        cmd.uow,
        assessment_id,
        issued_on=body.issued_on,
        setting=_directory(cmd).check(body.setting.setting()),
        start_date=body.start_date,
        sections=body.sections,
        issued_by=caller.sub,
        expected_version=version,
    )
    plan = issued.state
    assert plan is not None
    return await cmd.respond(
        PlanOut.of(plan),
        status_code=201,
        version=issued.version,
        location=f"/v1/plans/{plan.plan_id}",
    )


@router.post("/plans/{plan_id}/amendments", summary="Amend a final plan", response_model=PlanOut)
async def amend_plan(
    plan_id: UUID,
    body: Annotated[AmendmentIn, Body(openapi_examples=examples.AMENDMENT)],
    caller: SendManager,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """Publishes `oneplan.plans.plan.amended`; a changed section I names the new setting."""
    command = AmendPlan(
        body.amended_on,
        tuple(body.changed_sections),
        caller.sub,
        setting=_directory(cmd).check(body.setting.setting()) if body.setting else None,
        start_date=body.start_date,
        notice_on=body.notice_on,
    )
    outcome = await handlers.amend_plan(cmd.uow, plan_id, command, version)
    assert outcome.state is not None
    return await cmd.respond(PlanOut.of(outcome.state), version=outcome.version)


@router.post(
    "/plans/{plan_id}/reviews",
    status_code=201,
    summary="Record a review and the decision after it",
    response_model=PlanOut,
)
async def record_review(
    plan_id: UUID,
    body: Annotated[ReviewIn, Body(openapi_examples=examples.REVIEW)],
    caller: SendManager,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """Maintain, amend or cease. The next review is due 12 months after the meeting (6 under
    age 5); from Year 9 the review must cover preparing for adulthood; a decision to cease
    carries the appeal deadline (the plan stays in force while an appeal runs), and a plan to
    be ceased takes no more reviews."""
    outcome = await handlers.record_review(
        cmd.uow,
        plan_id,
        meeting_on=body.meeting_on,
        decided_on=body.decided_on,
        outcome=body.outcome,
        preparing_for_adulthood=body.preparing_for_adulthood,
        reasons=body.reasons,
        recorded_by=caller.sub,
        expected_version=version,
    )
    assert outcome.state is not None
    return await cmd.respond(
        PlanOut.of(outcome.state),
        status_code=201,
        version=outcome.version,
        location=f"/v1/plans/{plan_id}",
    )


@router.get("/plans/{plan_id}", summary="A final EHC plan", response_model=PlanOut)
async def read_plan(plan_id: UUID, caller: SendStaff, uow: ReadDep) -> PlanOut:
    """The plan's placement, start date and next review."""
    plan, _ = await uow.load(PLANS, plan_id)
    if plan is None:
        raise NotFound(f"No plan {plan_id}.")
    return PlanOut.of(plan)
