"""What the plans routes share: an optional `If-Match`, the day a read is about, and the
assessment as every command answers it."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header, Query, Response

from oneplan_events.decider import Outcome
from oneplan_events.types import BoundedDate
from oneplan_kit.commands import CommandDep
from oneplan_kit.errors import parse_if_match
from oneplan_plans.domain.assessment import Assessment
from oneplan_plans.domain.clock import assessment_clocks
from oneplan_plans.entrypoints.schemas import AssessmentOut

__all__ = ["OnDay", "OptionalIfMatch", "assessment_location", "respond_with_assessment"]


async def _optional_if_match(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description='The ETag you last read, e.g. "3": refused with 409 if the record '
            "changed since (without it, a concurrent change still gets 409).",
        ),
    ] = None,
) -> int | None:
    return None if if_match is None else parse_if_match(if_match)


OptionalIfMatch = Annotated[int | None, Depends(_optional_if_match)]
"""The version `If-Match` names, or None when the caller sent none."""

OnDay = Annotated[
    BoundedDate | None,
    Query(description="Compute statuses as on this day (default: today, in England)."),
]


async def respond_with_assessment(
    cmd: CommandDep,
    outcome: Outcome[Assessment | None],
    *,
    status_code: int = 200,
    location: str | None = None,
    on: date | None = None,
) -> Response:
    """The assessment after the command, with its clocks on `on` (default: today)."""
    state = outcome.state
    assert state is not None  # a command that succeeded left an assessment
    clocks = assessment_clocks(state.timeline(), on or cmd.today)
    return await cmd.respond(
        AssessmentOut.of(state, clocks),
        status_code=status_code,
        version=outcome.version,
        location=location,
    )


def assessment_location(assessment_id: UUID) -> str:
    return f"/v1/assessments/{assessment_id}"
