"""The assessment's commands over HTTP, one route per step of the statutory process.

Who may call each route is in its signature: the SEND team's caseworkers record the steps;
decisions (to assess or not, not to issue, the final plan) need a SEND manager. Each answers
the assessment with every clock on today's date; refusals name the broken rule (422 for a
date or value, 409 for a step out of order or a concurrent change, 404 for what does not
exist), and write nothing.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Body, Response

from oneplan_kit.access import SendManager, SendStaff
from oneplan_kit.commands import CommandDep
from oneplan_plans.adapters.repository import ASSESSMENTS
from oneplan_plans.domain.commands import (
    DecideNotToIssue,
    DecideToAssess,
    ReceiveAdvice,
    RecordComments,
    RecordException,
    RecordMediationCertificate,
    RequestAssessment,
    ReuseAdvice,
)
from oneplan_plans.entrypoints import examples
from oneplan_plans.entrypoints.common import (
    OptionalIfMatch,
    assessment_location,
    respond_with_assessment,
)
from oneplan_plans.entrypoints.schemas import (
    AdviceReceivedIn,
    AdviceRequestIn,
    AdviceReuseIn,
    AssessmentIn,
    AssessmentOut,
    CommentsIn,
    DecisionIn,
    DraftIn,
    ExceptionIn,
    MediationIn,
    NotToIssueIn,
)
from oneplan_plans.service_layer import handlers

__all__ = ["router"]

router = APIRouter(prefix="/v1/assessments", tags=["assessments"])


@router.post(
    "",
    status_code=201,
    summary="Record a request for an EHC needs assessment",
    response_model=AssessmentOut,
)
async def request_assessment(
    body: Annotated[AssessmentIn, Body(openapi_examples=examples.ASSESSMENT)],
    caller: SendStaff,
    cmd: CommandDep,
) -> Response:
    """`received_on` is day 1 of every clock (not in the future). 201 with the assessment, its
    clocks and its ETag; `oneplan.plans.assessment.requested` reaches NATS once committed."""
    assessment_id = uuid4()
    command = RequestAssessment(
        assessment_id,
        body.child_id,
        body.received_on,
        body.requested_by,
        recorded_by=caller.sub,
        requester_name=body.requester_name,
        child_views=body.child_views,
        views_helped_by=body.views_helped_by,
    )
    outcome = await cmd.execute(ASSESSMENTS, assessment_id, command)
    return await respond_with_assessment(
        cmd, outcome, status_code=201, location=assessment_location(assessment_id)
    )


@router.post(
    "/{assessment_id}/decision", summary="Decide whether to assess", response_model=AssessmentOut
)
async def decide_to_assess(
    assessment_id: UUID,
    body: Annotated[DecisionIn, Body(openapi_examples=examples.DECISION)],
    caller: SendManager,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """Agree, or decline with the date of the letter: the family's mediation and appeal
    deadline (2 months from the letter) is computed and shown."""
    command = DecideToAssess(
        body.outcome == "agree", body.decided_on, body.reasons, caller.sub, body.letter_sent_on
    )
    outcome = await cmd.execute(ASSESSMENTS, assessment_id, command, expected_version=version)
    return await respond_with_assessment(cmd, outcome)


@router.post(
    "/{assessment_id}/mediation-certificate",
    summary="Record a mediation certificate (the appeal deadline may move)",
    response_model=AssessmentOut,
)
async def record_mediation_certificate(
    assessment_id: UUID,
    body: Annotated[MediationIn, Body(openapi_examples=examples.MEDIATION)],
    caller: SendStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """The appeal deadline becomes the later of 2 months from the letter and 1 month from the
    certificate."""
    command = RecordMediationCertificate(body.issued_on, caller.sub)
    outcome = await cmd.execute(ASSESSMENTS, assessment_id, command, expected_version=version)
    return await respond_with_assessment(cmd, outcome)


@router.post(
    "/{assessment_id}/advice-requests",
    status_code=201,
    summary="Ask an agency for advice (due in 6 weeks)",
    response_model=AssessmentOut,
)
async def request_advice(
    assessment_id: UUID,
    body: Annotated[AdviceRequestIn, Body(openapi_examples=examples.ADVICE_REQUEST)],
    caller: SendStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """Publishes `oneplan.plans.advice.requested` naming the agency, so its own service opens
    a task. Preparing-for-adulthood advice is refused before Year 9 (when the children
    events gave the child's date of birth)."""
    advice_request_id = uuid4()
    outcome = await handlers.request_advice(
        cmd.uow,
        assessment_id,
        advice_request_id,
        agency=body.agency,
        advice_type=body.advice_type,
        requested_on=body.requested_on,
        question=body.question,
        expected_version=version,
    )
    return await respond_with_assessment(
        cmd, outcome, status_code=201, location=assessment_location(assessment_id)
    )


@router.post(
    "/{assessment_id}/advice-reuse",
    status_code=201,
    summary="Reuse advice already given (Regulation 6(4))",
    response_model=AssessmentOut,
)
async def reuse_advice(
    assessment_id: UUID,
    body: Annotated[AdviceReuseIn, Body(openapi_examples=examples.ADVICE_REUSE)],
    caller: SendStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """Only with the agreement of the authority, the advice's author and the family (each
    missing agreement is named): the story told once, in law."""
    command = ReuseAdvice(
        uuid4(),
        body.agency,
        body.advice_type,
        body.given_on,
        body.author,
        body.description,
        body.agreed_by_authority,
        body.agreed_by_author,
        body.agreed_by_family,
        body.reused_on,
        caller.sub,
    )
    outcome = await cmd.execute(ASSESSMENTS, assessment_id, command, expected_version=version)
    return await respond_with_assessment(
        cmd, outcome, status_code=201, location=assessment_location(assessment_id)
    )


@router.post(
    "/{assessment_id}/advice-requests/{advice_request_id}/received",
    summary="Record advice received (late advice says by how long)",
    response_model=AssessmentOut,
)
async def receive_advice(
    assessment_id: UUID,
    advice_request_id: UUID,
    body: Annotated[AdviceReceivedIn, Body(openapi_examples=examples.ADVICE_RECEIVED)],
    caller: SendStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """Entered by the SEND team; advice an agency's service sends as
    `oneplan.<service>.advice.submitted` is recorded without this."""
    command = ReceiveAdvice(advice_request_id, body.received_on)
    outcome = await cmd.execute(ASSESSMENTS, assessment_id, command, expected_version=version)
    return await respond_with_assessment(cmd, outcome)


@router.post(
    "/{assessment_id}/exceptions",
    status_code=201,
    summary="Record a lawful exception to the time limits",
    response_model=AssessmentOut,
)
async def record_exception(
    assessment_id: UUID,
    body: Annotated[ExceptionIn, Body(openapi_examples=examples.EXCEPTION)],
    caller: SendStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """Only Regulation 10(4)'s exceptions exist: a setting closed for 4 weeks or more around
    an advice request to it, exceptional personal circumstances, the child or parent away for
    4 weeks or more. The authority's own delays are never one."""
    command = RecordException(
        uuid4(), body.kind, body.starts_on, body.ends_on, body.evidence, caller.sub
    )
    outcome = await cmd.execute(ASSESSMENTS, assessment_id, command, expected_version=version)
    return await respond_with_assessment(
        cmd, outcome, status_code=201, location=assessment_location(assessment_id)
    )


@router.post(
    "/{assessment_id}/decision-not-to-issue",
    summary="Decide not to issue a plan (by week 16, with appeal rights)",
    response_model=AssessmentOut,
)
async def decide_not_to_issue(
    assessment_id: UUID,
    body: Annotated[NotToIssueIn, Body(openapi_examples=examples.NOT_TO_ISSUE)],
    caller: SendManager,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """Ends the assessment; the family's mediation and appeal deadline is computed."""
    command = DecideNotToIssue(body.decided_on, body.letter_sent_on, body.reasons, caller.sub)
    outcome = await cmd.execute(ASSESSMENTS, assessment_id, command, expected_version=version)
    return await respond_with_assessment(cmd, outcome)


@router.post(
    "/{assessment_id}/draft-plan",
    status_code=201,
    summary="Send the family the draft plan (15 days to comment)",
    response_model=AssessmentOut,
)
async def issue_draft(
    assessment_id: UUID,
    body: Annotated[DraftIn, Body(openapi_examples=examples.DRAFT)],
    caller: SendStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """Sections B, E and F at least; section A comes from the child's story (children events)
    unless given. Refused while advice asked for is still awaited."""
    outcome = await handlers.issue_draft(
        cmd.uow,
        assessment_id,
        uuid4(),
        issued_on=body.issued_on,
        sections=body.sections,
        issued_by=caller.sub,
        expected_version=version,
    )
    return await respond_with_assessment(
        cmd, outcome, status_code=201, location=assessment_location(assessment_id)
    )


@router.post(
    "/{assessment_id}/draft-plan/comments",
    summary="Record the family's comments and the setting they ask for",
    response_model=AssessmentOut,
)
async def record_comments(
    assessment_id: UUID,
    body: Annotated[CommentsIn, Body(openapi_examples=examples.COMMENTS)],
    caller: SendStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """Once the family has commented, the final plan may be issued before the 15 days end."""
    command = RecordComments(body.received_on, caller.sub, body.comments, body.setting_requested)
    outcome = await cmd.execute(ASSESSMENTS, assessment_id, command, expected_version=version)
    return await respond_with_assessment(cmd, outcome)
