"""HTTP API of the transport service.

The transport team (`AgencyStaff`: practitioners of agency `transport`) works its cases; the
family reads the child's transport and asks for a review; another agency (the setting) reads
it with a permit. Who may call each route is in its signature (`oneplan_kit.access`); a
command runs in the request's `CommandDep`, which commits once when the route responds;
domain refusals become problem documents through the service's error table (`bootstrap.py`).
Cases open by themselves from the plans service's events (`entrypoints/consumers.py`): no
route creates one.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Body, Depends, Header, Query, Response
from fastapi.responses import JSONResponse

from oneplan_events.decider import Outcome
from oneplan_events.types import BoundedDate
from oneplan_kit.access import (
    AGENCY_STAFF,
    FAMILY_OF_CHILD,
    SEND_STAFF,
    AgencyStaff,
    Allow,
    ChildReader,
)
from oneplan_kit.auth import Principal
from oneplan_kit.commands import CommandDep, ReadDep
from oneplan_kit.errors import BadRequest, etag_for, parse_if_match
from oneplan_kit.runtime import RuntimeDep
from oneplan_kit.sharing import SharingDep
from oneplan_transport.adapters import repository
from oneplan_transport.config import TransportSettings
from oneplan_transport.domain.commands import (
    CancelArrangement,
    ChangeArrangement,
    Command,
    ConcludeTravelTraining,
    MakeArrangement,
    RecordRiskAssessment,
    RecordTrainingSession,
    ReferTravelTraining,
    RequestReview,
)
from oneplan_transport.domain.model import Case, CaseNotFound, CaseStatus, case_id_for
from oneplan_transport.domain.timeliness import summarise
from oneplan_transport.entrypoints import examples
from oneplan_transport.entrypoints.schemas import (
    ArrangementIn,
    CancellationIn,
    CaseOut,
    CaseSummary,
    ChangeIn,
    ChildTransportOut,
    ConclusionIn,
    DecisionTimesOut,
    EligibilityIn,
    ReferralIn,
    ReviewRequestIn,
    RiskAssessmentIn,
    SessionIn,
    Withheld,
    Worklist,
)
from oneplan_transport.events import DATA_CLASS
from oneplan_transport.service_layer.handlers import decide_eligibility, load_case, run

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["transport"])

FamilyOrTeam = Annotated[Principal, Allow(FAMILY_OF_CHILD | AGENCY_STAFF)]
"""The child's family, or the transport team."""
TeamOrSend = Annotated[Principal, Allow(AGENCY_STAFF | SEND_STAFF)]
"""The transport team, or the SEND team (who report to the Board)."""


async def _if_match(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description='Optional: the ETag you last read (e.g. "3"); a stale one is 409.',
        ),
    ] = None,
) -> int | None:
    return None if if_match is None else parse_if_match(if_match)


OptionalIfMatch = Annotated[int | None, Depends(_if_match)]
"""The version `If-Match` names, or None (the store still refuses a concurrent writer)."""


def _case_body(outcome: Outcome[Case | None]) -> CaseOut:
    assert outcome.state is not None  # run() refuses a command on no case
    return CaseOut.of(outcome.state)


async def _respond(cmd: CommandDep, outcome: Outcome[Case | None], status_code: int) -> Response:
    case = _case_body(outcome)
    location = f"/v1/cases/{case.case_id}" if status_code == 201 else None
    return await cmd.respond(
        case, status_code=status_code, version=outcome.version, location=location
    )


def _settings(runtime: RuntimeDep) -> TransportSettings:
    settings = runtime.settings
    assert isinstance(settings, TransportSettings)
    return settings


async def _command(
    cmd: CommandDep, case_id: UUID, command: Command, version: int | None, status_code: int
) -> Response:
    outcome = await run(cmd.uow, case_id, command, version)
    return await _respond(cmd, outcome, status_code)


# --- the team's worklist and cases -----------------------------------------------------


@router.get("/cases", summary="The worklist, by urgency", response_model=Worklist)
async def list_cases(
    caller: AgencyStaff,
    uow: ReadDep,
    status: Annotated[
        list[CaseStatus] | None, Query(description="Only cases in these statuses (repeatable).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Worklist:
    """Cases with no arrangement first, then by the nearest start date (none: last), then
    the longest open."""
    rows = await repository.worklist(uow.session, status or [], limit, offset)
    return Worklist(items=[CaseSummary.of(row) for row in rows])


@router.get(
    "/cases/{case_id}",
    summary="A transport case",
    response_model=CaseOut,
)
async def read_case(case_id: UUID, caller: AgencyStaff, uow: ReadDep) -> Response:
    """The case with its decision, arrangement, risk assessment and travel training; its
    ETag is the version a write's `If-Match` may name."""
    case, version = await load_case(uow, case_id)
    body = CaseOut.of(case).model_dump(mode="json")
    return JSONResponse(body, headers={"ETag": etag_for(version)})


@router.post(
    "/cases/{case_id}/eligibility-decisions",
    status_code=201,
    summary="Decide eligibility from the facts entered",
    response_model=CaseOut,
)
async def decide(
    case_id: UUID,
    body: Annotated[EligibilityIn, Body(openapi_examples=examples.ELIGIBILITY)],
    caller: AgencyStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
    runtime: RuntimeDep,
) -> Response:
    """The statutory walking distance (2 miles under 8, 3 from 8, the age from the child's
    date of birth), needs that prevent walking, an unsafe route and low-income extended rights
    decide; the decision gives its reasons, the working days since the plan's issue against
    the target, and the date by which the family may ask for a review. 409 while a decision
    stands (a move, a new setting or a review request reopens it)."""
    outcome = await decide_eligibility(
        cmd.uow,
        case_id,
        body.facts(),
        decided_on=cmd.today,
        decided_by=caller.sub,
        date_of_birth=body.date_of_birth,
        target_working_days=_settings(runtime).decision_target_working_days,
        expected_version=version,
    )
    return await _respond(cmd, outcome, 201)


@router.post(
    "/cases/{case_id}/risk-assessments",
    status_code=201,
    summary="Record a travel risk assessment",
    response_model=CaseOut,
)
async def record_risk_assessment(
    case_id: UUID,
    body: Annotated[RiskAssessmentIn, Body(openapi_examples=examples.RISK_ASSESSMENT)],
    caller: AgencyStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """Published as an event and as the transport contribution to the shared plan (section
    K, data class `transport`); a later assessment revises that contribution."""
    command = RecordRiskAssessment(
        risk_assessment_id=uuid4(),
        assessed_on=body.assessed_on,
        hazards=tuple(body.hazards),
        medical_needs=body.medical_needs,
        medical_handling=body.medical_handling,
        behaviour_support=body.behaviour_support,
        seating_and_equipment=body.seating_and_equipment,
        escort_needed=body.escort_needed,
        reviewer=body.reviewer,
        review_due_on=body.review_due_on,
        recorded_by=caller.sub,
    )
    return await _command(cmd, case_id, command, version, 201)


@router.post(
    "/cases/{case_id}/arrangement",
    status_code=201,
    summary="Arrange transport for an eligible child",
    response_model=CaseOut,
)
async def make_arrangement(
    case_id: UUID,
    body: Annotated[ArrangementIn, Body(openapi_examples=examples.ARRANGEMENT)],
    caller: AgencyStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """409 before the child is decided eligible, or when an arrangement is current."""
    command = MakeArrangement(uuid4(), body.details(), cmd.today, caller.sub)
    return await _command(cmd, case_id, command, version, 201)


@router.put(
    "/cases/{case_id}/arrangement",
    summary="Change the current arrangement",
    response_model=CaseOut,
)
async def change_arrangement(
    case_id: UUID,
    body: Annotated[ChangeIn, Body(openapi_examples=examples.CHANGE)],
    caller: AgencyStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """The new details replace the old from their `starts_on`."""
    command = ChangeArrangement(body.details(), body.reason, cmd.today, caller.sub)
    return await _command(cmd, case_id, command, version, 200)


@router.post(
    "/cases/{case_id}/arrangement/cancellation",
    summary="Cancel the current arrangement",
    response_model=CaseOut,
)
async def cancel_arrangement(
    case_id: UUID,
    body: Annotated[CancellationIn, Body(openapi_examples=examples.CANCELLATION)],
    caller: AgencyStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """The case awaits a new arrangement (or the decision, if reopened)."""
    command = CancelArrangement(body.cancelled_from, body.reason, caller.sub)
    return await _command(cmd, case_id, command, version, 200)


@router.post(
    "/cases/{case_id}/travel-training",
    status_code=201,
    summary="Refer for independent travel training",
    response_model=CaseOut,
)
async def refer_travel_training(
    case_id: UUID,
    body: Annotated[ReferralIn, Body(openapi_examples=examples.REFERRAL)],
    caller: AgencyStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """409 while a training is under way."""
    command = ReferTravelTraining(uuid4(), cmd.today, body.goal, caller.sub)
    return await _command(cmd, case_id, command, version, 201)


@router.post(
    "/cases/{case_id}/travel-training/sessions",
    status_code=201,
    summary="Record a travel training session",
    response_model=CaseOut,
)
async def record_session(
    case_id: UUID,
    body: Annotated[SessionIn, Body(openapi_examples=examples.SESSION)],
    caller: AgencyStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """409 when no training is under way."""
    command = RecordTrainingSession(body.session_on, body.trainer, body.notes, caller.sub)
    return await _command(cmd, case_id, command, version, 201)


@router.post(
    "/cases/{case_id}/travel-training/conclusion",
    summary="Conclude the travel training",
    response_model=CaseOut,
)
async def conclude_training(
    case_id: UUID,
    body: Annotated[ConclusionIn, Body(openapi_examples=examples.CONCLUSION)],
    caller: AgencyStaff,
    version: OptionalIfMatch,
    cmd: CommandDep,
) -> Response:
    """A completion (successful or partial) is published to the shared plan as a
    preparing-for-adulthood contribution (section E); the Board counts completions."""
    command = ConcludeTravelTraining(body.outcome, cmd.today, body.notes, caller.sub)
    return await _command(cmd, case_id, command, version, 200)


@router.get(
    "/reports/decision-times",
    summary="How quickly eligibility was decided",
    response_model=DecisionTimesOut,
)
async def decision_times(
    caller: TeamOrSend,
    uow: ReadDep,
    runtime: RuntimeDep,
    decided_from: Annotated[BoundedDate, Query(description="First day of the period.")],
    decided_to: Annotated[BoundedDate, Query(description="Last day of the period.")],
) -> DecisionTimesOut:
    """Each case's first decision made in the period (a decision after a review, a move or
    a new setting is not timed from the plan's issue), in working days from the plan's
    issue against the target in force when it was decided."""
    if decided_to < decided_from:
        raise BadRequest("decided_to is before decided_from.")
    rows = await repository.first_decisions_between(uow.session, decided_from, decided_to)
    summary = summarise(rows)
    return DecisionTimesOut(
        decided_from=decided_from,
        decided_to=decided_to,
        target_working_days=_settings(runtime).decision_target_working_days,
        decisions=summary.decisions,
        within_target=summary.within_target,
        beyond_target=summary.beyond_target,
        not_counted=summary.not_counted,
        percent_within_target=summary.percent_within_target,
        median_working_days=summary.median_working_days,
        longest_working_days=summary.longest_working_days,
    )


# --- the child's transport, for the family and (with a permit) the setting -------------


@router.get(
    "/children/{child_id}/transport",
    summary="The child's transport (consent decides for other agencies)",
    response_model=ChildTransportOut,
)
async def read_child_transport(
    child_id: UUID, reader: ChildReader, sharing: SharingDep, cmd: CommandDep
) -> Response:
    """The family and the transport team see the case's status, setting, start date,
    decision and current arrangement (all null, ETag "0", when the child has no case);
    another agency (the setting) states a `purpose` and sees them only with a permit, else
    the data class is listed as withheld. A release to another agency is recorded in the
    family's disclosure log: that is why this read is a command."""
    release = sharing.decide(reader, child_id, DATA_CLASS)
    if not release.permitted:
        body = ChildTransportOut.of(None)
        body.withheld = [Withheld.model_validate(release.withheld())]
        # Version 0 whatever the case's: a withheld answer says nothing of the record.
        return await cmd.respond(body, version=0)
    case, version = await cmd.uow.load(repository.CASES, case_id_for(child_id))
    if case is not None:
        await sharing.record(cmd.uow, reader, child_id, [release])
    return await cmd.respond(ChildTransportOut.of(case), version=version)


@router.post(
    "/children/{child_id}/transport/review-requests",
    status_code=201,
    summary="Ask for a review of the eligibility decision",
    response_model=ChildTransportOut,
)
async def request_review(
    child_id: UUID,
    body: Annotated[ReviewRequestIn, Body(openapi_examples=examples.REVIEW_REQUEST)],
    caller: FamilyOrTeam,
    cmd: CommandDep,
) -> Response:
    """The family (or the team on its behalf) asks within 20 working days of the decision
    (a later request is recorded as late); the case is under review until a new decision."""
    case_id = case_id_for(child_id)
    command = RequestReview(cmd.today, caller.sub, body.grounds)
    try:
        outcome = await run(cmd.uow, case_id, command, None)
    except CaseNotFound as error:
        raise CaseNotFound(f"no transport case for child {child_id}") from error
    return await cmd.respond(
        ChildTransportOut.of(outcome.state),
        status_code=201,
        version=outcome.version,
        location=f"/v1/children/{child_id}/transport",
    )
