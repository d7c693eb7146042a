"""Health advice for EHC needs assessments: the tasks the plans service's requests opened,
their submission (contributions to sections C and G, then advice.submitted), and the reuse
of earlier advice. Health staff only."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from oneplan_events.vocabulary import DataClass, Purpose
from oneplan_kit.access import AgencyStaff, Reader
from oneplan_kit.auth import Principal
from oneplan_kit.clock import TodayDep
from oneplan_kit.commands import Command, CommandDep, ReadDep
from oneplan_kit.sharing import Sharing, SharingDep
from oneplan_referrals.adapters import repository
from oneplan_referrals.domain.advice import AdviceTask
from oneplan_referrals.domain.directory import Directory
from oneplan_referrals.domain.errors import NotFound
from oneplan_referrals.entrypoints import examples
from oneplan_referrals.entrypoints.directory import DirectoryDep
from oneplan_referrals.entrypoints.schemas import (
    AdviceContext,
    AdviceReuse,
    AdviceSubmission,
    AdviceTaskDetail,
    AdviceTaskOut,
    AdviceTasksOut,
    EarlierAdvice,
    ReferralOut,
    StoryOut,
    Withheld,
)
from oneplan_referrals.events import STORY_OWNER
from oneplan_referrals.service_layer.handlers import reuse_advice, submit_advice

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["health advice"])


@router.get("/advice-tasks", summary="Health advice tasks", response_model=AdviceTasksOut)
async def list_tasks(
    staff: AgencyStaff,
    uow: ReadDep,
    today: TodayDep,
    status: Annotated[
        Literal["open", "all"], Query(description="Open ones only, or all.")
    ] = "open",
) -> AdviceTasksOut:
    """Tasks opened by the EHC assessments' requests, soonest due first."""
    rows = await repository.advice_tasks(uow.session, open_only=status == "open")
    return AdviceTasksOut(items=[AdviceTaskOut.of(row, today) for row in rows])


@router.get(
    "/advice-tasks/{advice_request_id}",
    summary="One task, with the child's referrals and earlier advice to reuse",
    response_model=AdviceTaskDetail,
)
async def read_task(
    advice_request_id: UUID,
    staff: AgencyStaff,
    directory: DirectoryDep,
    uow: ReadDep,
    today: TodayDep,
) -> AdviceTaskDetail:
    """What the clinician needs: the authority's question, the child's referrals here (the
    existing health picture) and the child's earlier health advice, offered for reuse."""
    row = await repository.advice_task_row(uow.session, advice_request_id)
    if row is None:
        raise NotFound(f"no health advice task {advice_request_id}")
    earlier = await repository.earlier_advice(uow.session, row.child_id, advice_request_id)
    return AdviceTaskDetail(
        **AdviceTaskOut.of(row, today).model_dump(),
        question=row.question,
        referrals=(await _referrals_of(uow.session, row.child_id, today, directory))[0],
        reusable=[AdviceTaskOut.of(e, today) for e in earlier],
    )


async def _referrals_of(
    session: AsyncSession, child_id: UUID, today: date, directory: Directory
) -> tuple[list[ReferralOut], int]:
    """The child's referrals here, oldest first, with status, outcome and wait; the sum of
    their versions (it changes whenever any of them does)."""
    referrals, versions = [], 0
    for referral_row in await repository.referrals_of_child(session, child_id):
        referral = repository.referral_from_state(referral_row.state)
        entry = directory.get(referral.service_id)
        referrals.append(ReferralOut.of(referral, today, entry.name if entry else None))
        versions += referral_row.version
    return referrals, versions


@router.get(
    "/advice-tasks/{advice_request_id}/context",
    summary="The child's story (where consent allows) and the existing health picture",
    response_model=AdviceContext,
)
async def read_context(
    advice_request_id: UUID,
    staff: AgencyStaff,
    sharing: SharingDep,
    directory: DirectoryDep,
    cmd: CommandDep,
) -> Response:
    """What the clinician answering the request sees. The child's story is the SEND team's
    (the children service's): it is shown only where the family's consent (or a duty, or
    an override) releases the SEND team's `story` data to health for an EHC assessment,
    and every release is recorded in the family's disclosure log
    (`oneplan.referrals.disclosure.recorded`, in this request's transaction); otherwise
    `withheld` says why, with none of it. The existing health picture is health's own
    (no permit needed): the child's referrals here, with status, outcome and wait, and the
    child's earlier health advice. A `Consistency-Token` (a consent write's) is waited for,
    so a withdrawal is honoured from the next read."""
    session = cmd.uow.session
    row = await repository.advice_task_row(session, advice_request_id)
    if row is None:
        raise NotFound(f"no health advice task {advice_request_id}")
    story, withheld = await _story(sharing, cmd, staff, row.child_id)
    earlier, versions = [], row.version + (story.revision if story else 0)
    for earlier_row in await repository.earlier_advice(session, row.child_id, advice_request_id):
        task, _ = await cmd.uow.load(repository.ADVICE_TASKS, earlier_row.advice_request_id)
        if isinstance(task, AdviceTask):
            earlier.append(EarlierAdvice.of_task(task, cmd.today))
            versions += task.version
    referrals, referral_versions = await _referrals_of(session, row.child_id, cmd.today, directory)
    context = AdviceContext(
        advice_request_id=advice_request_id,
        child_id=row.child_id,
        story=story,
        withheld=withheld,
        referrals=referrals,
        earlier_advice=earlier,
    )
    # The ETag: it changes whenever the task, a referral, an earlier advice or the story
    # shown does.
    return await cmd.respond(context, version=versions + referral_versions)


async def _story(
    sharing: Sharing, cmd: Command, staff: Principal, child_id: UUID
) -> tuple[StoryOut | None, list[Withheld]]:
    # Health reads the SEND team's data: always a decision, never "own data".
    reader = Reader(staff, Purpose.EHC_ASSESSMENT)
    release = sharing.decide(reader, child_id, DataClass.STORY, owner=STORY_OWNER)
    if not release.permitted:
        return None, [Withheld.model_validate(release.withheld())]
    kept = await repository.child_story(cmd.uow.session, child_id)
    if kept is None:
        return None, []
    await sharing.record(cmd.uow, reader, child_id, [release], owner=STORY_OWNER)
    return StoryOut(revision=kept.revision, story=kept.story), []


@router.post(
    "/advice-tasks/{advice_request_id}/submission",
    summary="Submit the health advice",
    response_model=AdviceTaskOut,
)
async def submit(
    advice_request_id: UUID,
    body: Annotated[AdviceSubmission, Body(openapi_examples=examples.ADVICE_SUBMISSION)],
    staff: AgencyStaff,
    cmd: CommandDep,
) -> Response:
    """Publishes two contributions to the shared plan, both of data class `health`: section
    C (health needs) and section G (health provision, marked as agreed by the responsible
    commissioner), then `oneplan.referrals.advice.submitted`. 404 when the assessment asked
    health for no such advice; 409 when it was submitted already."""
    task, version = await submit_advice(
        cmd.uow,
        staff,
        advice_request_id,
        author=body.author,
        health_needs=body.health_needs,
        health_provision=body.health_provision,
        outcomes=tuple(body.outcomes),
        commissioner=body.commissioner,
        submitted_on=body.submitted_on or cmd.today,
    )
    return await cmd.respond(AdviceTaskOut.of(task, cmd.today), version=version)


@router.post(
    "/advice-tasks/{advice_request_id}/reuse",
    summary="Answer with the child's earlier health advice",
    response_model=AdviceTaskOut,
)
async def reuse(
    advice_request_id: UUID,
    body: Annotated[AdviceReuse, Body(openapi_examples=examples.ADVICE_REUSE)],
    staff: AgencyStaff,
    cmd: CommandDep,
) -> Response:
    """Regulation 6(4): when the authority, the advice's author and the family agree the
    earlier advice is sufficient, it is submitted again for this request (the same
    contributions' content, `reused_from` naming the earlier request); the commissioner
    agrees the provision again."""
    task, version = await reuse_advice(
        cmd.uow,
        staff,
        advice_request_id,
        earlier_id=body.earlier_advice_request_id,
        author=body.author,
        commissioner=body.commissioner,
        submitted_on=body.submitted_on or cmd.today,
    )
    return await cmd.respond(AdviceTaskOut.of(task, cmd.today), version=version)
