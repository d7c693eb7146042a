"""Reads: an assessment with its clocks, the SEND team's worklist, and a child's assessments
and plans as the reader may see them (the family, the SEND team, another agency with a
permit: the consent-aware read)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from oneplan_events.types import AgencyName
from oneplan_kit.access import ChildReader, SendStaff
from oneplan_kit.clock import TodayDep
from oneplan_kit.commands import CommandDep, ReadDep
from oneplan_kit.errors import NotFound
from oneplan_kit.sharing import SharingDep
from oneplan_plans.adapters import repository
from oneplan_plans.adapters.repository import ASSESSMENTS
from oneplan_plans.domain.clock import ClockStatus, assessment_clocks
from oneplan_plans.entrypoints.common import OnDay
from oneplan_plans.entrypoints.schemas import (
    AssessmentOut,
    ChildRecordsOut,
    ClockOut,
    ClocksOut,
    PlanOut,
    Withheld,
    WorklistItem,
    WorklistOut,
)
from oneplan_plans.events import DATA_CLASS

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["reads"])


@router.get(
    "/assessments/{assessment_id}",
    summary="An assessment and its clocks",
    response_model=AssessmentOut,
)
async def read_assessment(
    assessment_id: UUID, caller: SendStaff, uow: ReadDep, today: TodayDep, on: OnDay = None
) -> AssessmentOut:
    """Every step so far and every statutory clock on `on` (default today), each with how its
    date was computed and which rule and exceptions apply."""
    state, _ = await uow.load(ASSESSMENTS, assessment_id)
    if state is None:
        raise NotFound(f"No assessment {assessment_id}.")
    return AssessmentOut.of(state, assessment_clocks(state.timeline(), on or today))


@router.get(
    "/assessments/{assessment_id}/clock",
    summary="An assessment's statutory clocks, explained",
    response_model=ClocksOut,
)
async def read_clock(
    assessment_id: UUID, caller: SendStaff, uow: ReadDep, today: TodayDep, on: OnDay = None
) -> ClocksOut:
    """Each deadline's status (`on_track`, `due_soon`, `overdue`, `met`, `met_late`), with
    and without the lawful exceptions, weeks elapsed, days remaining and the explanation."""
    state, _ = await uow.load(ASSESSMENTS, assessment_id)
    if state is None:
        raise NotFound(f"No assessment {assessment_id}.")
    day = on or today
    clocks = assessment_clocks(state.timeline(), day)
    return ClocksOut(assessment_id=assessment_id, on=day, clocks=[ClockOut.of(c) for c in clocks])


@router.get("/clocks", summary="The SEND team's worklist of clocks", response_model=WorklistOut)
async def worklist(
    caller: SendStaff,
    uow: ReadDep,
    today: TodayDep,
    status: Annotated[ClockStatus | None, Query(description="Only clocks in this status.")] = None,
    agency: Annotated[
        AgencyName | None, Query(description="Only advice clocks of this agency.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    on: OnDay = None,
) -> WorklistOut:
    """What is due or overdue, soonest first: `?status=overdue&agency=health`."""
    day = on or today
    rows = await repository.clock_worklist(
        uow.session, day, status=status, agency=agency, limit=limit
    )
    return WorklistOut(on=day, items=[WorklistItem.of(row, s, day) for row, s in rows])


@router.get(
    "/children/{child_id}/assessments",
    summary="A child's assessments and plans (consent decides for other agencies)",
    response_model=ChildRecordsOut,
)
async def read_child_records(
    child_id: UUID, reader: ChildReader, sharing: SharingDep, cmd: CommandDep, on: OnDay = None
) -> Response:
    """The child's family (a family token naming the child) and the SEND team see every
    assessment with its clocks and explanations; another agency's practitioner states a
    `purpose` and sees them only with a permit, else the response says what was withheld and
    why. Every release to another agency is in the family's disclosure log."""
    day = on or cmd.today
    release = sharing.decide(reader, child_id, DATA_CLASS)
    if not release.permitted:
        withheld = [Withheld.model_validate(release.withheld())]
        empty = ChildRecordsOut(
            child_id=child_id, on=day, assessments=[], plans=[], withheld=withheld
        )
        return await cmd.respond(empty, version=0)
    assessments, version = [], 0
    for row in await repository.assessments_of_child(cmd.uow.session, child_id):
        state, _ = await cmd.uow.load(ASSESSMENTS, row.assessment_id)
        assert state is not None
        version += state.version
        assessments.append(AssessmentOut.of(state, assessment_clocks(state.timeline(), day)))
    plans = [PlanOut.of(row) for row in await repository.plans_of_child(cmd.uow.session, child_id)]
    version += sum(plan.version for plan in plans)
    if assessments or plans:
        await sharing.record(cmd.uow, reader, child_id, [release])
    body = ChildRecordsOut(
        child_id=child_id, on=day, assessments=assessments, plans=plans, withheld=[]
    )
    # The ETag counts the events behind the answer: it changes whenever any of them does.
    return await cmd.respond(body, version=version)
