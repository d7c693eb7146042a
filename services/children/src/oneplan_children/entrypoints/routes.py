"""HTTP API of the children service (`/v1/children`).

Who may call each route is in its signature (`oneplan_kit.access`); commands run in the
request's command (`CommandDep`), which commits once when the route responds; domain refusals
become problem documents through the service's error table (`oneplan_children.bootstrap`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Body, Query, Response

from oneplan_children.domain.commands import (
    AddFamilyMember,
    ChangeDetails,
    ChangeFamilyMember,
    DetailsPatch,
    MemberInput,
    MergeInput,
    NewChild,
    NhsNumberInput,
    RemovalInput,
    RemoveFamilyMember,
    ReviseStory,
    UpnInput,
)
from oneplan_children.domain.model import Child
from oneplan_children.entrypoints import examples
from oneplan_children.entrypoints.schemas import ChildOut, MemberOut, SearchOut, StoryOut
from oneplan_children.entrypoints.views import (
    EXTENDED_FIELDS,
    child_href,
    child_view,
    story_view,
    summary_view,
)
from oneplan_children.events import Story
from oneplan_children.service_layer.handlers import (
    change_child,
    get_child,
    get_story,
    merge_records,
    register_child,
    search_children,
)
from oneplan_events.types import BoundedDate, BoundedDateTime, Name, ShortText
from oneplan_events.vocabulary import DataClass
from oneplan_kit.access import FAMILY_OF_CHILD, SEND_STAFF, Allow, ChildReader, SendStaff
from oneplan_kit.auth import Principal
from oneplan_kit.clock import TodayDep
from oneplan_kit.commands import CommandDep, ReadDep
from oneplan_kit.errors import BadRequest, IfMatchVersion, ValidationProblem
from oneplan_kit.sharing import SharingDep

__all__ = ["router"]

router = APIRouter(prefix="/v1/children", tags=["children"])

StoryTeller = Annotated[Principal, Allow(SEND_STAFF | FAMILY_OF_CHILD)]
"""SEND team staff, or the child's own family: who may tell the child's story."""


def _body(child: Child, today: date, **extra: Any) -> dict[str, Any]:
    return {**child_view(child, today), **extra}


@router.post("", status_code=201, summary="Register a child", response_model=ChildOut)
async def register(
    body: Annotated[NewChild, Body(openapi_examples=examples.NEW_CHILD)],
    caller: SendStaff,
    cmd: CommandDep,
) -> Response:
    """201 with Location and ETag; 409 with a link when the NHS number or UPN has a record."""
    registered = await register_child(cmd.uow, body)
    child = registered.child
    warnings = [
        {
            "type": "possible_duplicate",
            "child_id": str(match),
            "href": child_href(match),
            "detail": "Another record has the same names and date of birth; not merged.",
        }
        for match in registered.possible_matches
    ]
    return await cmd.respond(
        _body(child, cmd.today, warnings=warnings),
        status_code=201,
        version=child.version,
        location=child_href(child.child_id),
    )


@router.get("", summary="Search children (SEND team staff)", response_model=SearchOut)
async def search(
    caller: SendStaff,
    uow: ReadDep,
    today: TodayDep,
    nhs_number: Annotated[NhsNumberInput | None, Query()] = None,
    upn: Annotated[UpnInput | None, Query()] = None,
    family_name: Annotated[Name | None, Query()] = None,
    date_of_birth: BoundedDate | None = None,
) -> dict[str, Any]:
    """By NHS number, UPN, or family name with date of birth."""
    if nhs_number is None and upn is None and (family_name is None or date_of_birth is None):
        raise BadRequest("Search by nhs_number, upn, or family_name with date_of_birth.")
    rows = await search_children(
        uow, nhs_number=nhs_number, upn=upn, family_name=family_name, date_of_birth=date_of_birth
    )
    return {"items": [summary_view(row, today) for row in rows]}


@router.get("/{child_id}", summary="Read a child's record", response_model=ChildOut)
async def read_child(
    child_id: UUID, reader: ChildReader, sharing: SharingDep, cmd: CommandDep
) -> Response:
    """Everything for SEND staff and the child's family; other agencies see minimal identity
    plus what consent permits for their stated purpose (the rest is listed as withheld).
    Every release to another agency is recorded in the disclosure log."""
    child = await get_child(cmd.uow, child_id)
    if not reader.needs_permit:
        return await cmd.respond(_body(child, cmd.today), version=child.version)
    releases = [sharing.decide(reader, child_id, dc) for dc in EXTENDED_FIELDS]
    await sharing.record(cmd.uow, reader, child_id, releases)
    visible = frozenset(r.data_class for r in releases if r.permitted)
    body = {
        **child_view(child, cmd.today, visible),
        "withheld": [r.withheld() for r in releases if not r.permitted],
    }
    return await cmd.respond(body, version=child.version)


@router.patch(
    "/{child_id}", summary="Change a child's details (JSON merge patch)", response_model=ChildOut
)
async def change_details(
    child_id: UUID,
    body: Annotated[DetailsPatch, Body(openapi_examples=examples.DETAILS_PATCH)],
    caller: SendStaff,
    version: IfMatchVersion,
    cmd: CommandDep,
) -> Response:
    """Fields sent are set, `null` clears; needs If-Match."""
    child = await change_child(cmd.uow, child_id, ChangeDetails(body), version)
    return await cmd.respond(_body(child, cmd.today), version=child.version)


@router.post(
    "/{child_id}/family-members",
    status_code=201,
    summary="Add a family member",
    response_model=MemberOut,
)
async def add_member(
    child_id: UUID,
    body: Annotated[MemberInput, Body(openapi_examples=examples.MEMBER)],
    caller: SendStaff,
    version: IfMatchVersion,
    cmd: CommandDep,
) -> Response:
    """201 with the member's Location; the record's new ETag."""
    member_id = uuid4()
    child = await change_child(cmd.uow, child_id, AddFamilyMember(member_id, body), version)
    return await _member_response(cmd, child, member_id, 201)


async def _member_response(
    cmd: CommandDep, child: Child, member_id: UUID, status_code: int = 200
) -> Response:
    member = child.family[member_id]
    href = f"{child_href(child.child_id)}/family-members/{member_id}"
    body = {"member_id": str(member_id), **member.details.model_dump(mode="json"), "href": href}
    return await cmd.respond(body, status_code=status_code, version=child.version, location=href)


@router.put(
    "/{child_id}/family-members/{member_id}",
    summary="Change a family member",
    response_model=MemberOut,
)
async def change_member(
    child_id: UUID,
    member_id: UUID,
    body: Annotated[MemberInput, Body(openapi_examples=examples.MEMBER)],
    caller: SendStaff,
    version: IfMatchVersion,
    cmd: CommandDep,
) -> Response:
    """Replaces what is recorded about the person; needs If-Match."""
    command = ChangeFamilyMember(member_id, body)
    child = await change_child(cmd.uow, child_id, command, version)
    return await _member_response(cmd, child, member_id)


@router.delete(
    "/{child_id}/family-members/{member_id}",
    summary="End a relationship",
    response_model=ChildOut,
)
async def remove_member(
    child_id: UUID,
    member_id: UUID,
    caller: SendStaff,
    version: IfMatchVersion,
    cmd: CommandDep,
    ended_on: BoundedDate | None = None,
    reason: Annotated[ShortText | None, Query()] = None,
) -> Response:
    """Ends the relationship (default: today); needs If-Match."""
    try:
        removal = RemovalInput(ended_on=ended_on or cmd.today, reason=reason)
    except ValueError as error:
        problem = [{"location": ["query", "reason"], "message": str(error)}]
        raise ValidationProblem(problem) from None
    command = RemoveFamilyMember(member_id, removal)
    child = await change_child(cmd.uow, child_id, command, version)
    return await cmd.respond(_body(child, cmd.today), version=child.version)


@router.put(
    "/{child_id}/story", summary="Tell or revise the child's story", response_model=StoryOut
)
async def revise_story(
    child_id: UUID,
    body: Annotated[Story, Body(openapi_examples=examples.STORY)],
    caller: StoryTeller,
    version: IfMatchVersion,
    cmd: CommandDep,
) -> Response:
    """Each revision is an event; If-Match carries the record's ETag."""
    child = await change_child(cmd.uow, child_id, ReviseStory(body), version)
    view = story_view(child.child_id, child.story_revision, child.story)
    return await cmd.respond(view, version=child.version)


@router.get(
    "/{child_id}/story",
    summary="Read the child's story, now or as it was",
    response_model=StoryOut,
)
async def read_story(
    child_id: UUID,
    reader: ChildReader,
    sharing: SharingDep,
    cmd: CommandDep,
    as_of: BoundedDateTime | None = None,
) -> Response:
    """`as_of` reconstructs the story from the event stream as it was then."""
    child, revision = await get_story(cmd.uow, child_id, as_of)
    if reader.needs_permit:
        release = sharing.decide(reader, child_id, DataClass.STORY)
        if not release.permitted:
            raise release.withheld_problem()
        await sharing.record(cmd.uow, reader, child_id, [release])
    view = story_view(
        child.child_id,
        0 if revision is None else revision.revision,
        None if revision is None else revision.story,
    )
    return await cmd.respond(view, version=child.version)


@router.post(
    "/{child_id}/merge", summary="Merge a duplicate record into this one", response_model=ChildOut
)
async def merge(
    child_id: UUID,
    body: Annotated[MergeInput, Body(openapi_examples=examples.MERGE)],
    caller: SendStaff,
    cmd: CommandDep,
) -> Response:
    """Retires `duplicate_id`; this record survives and takes over identifiers only the
    duplicate held."""
    survivor = await merge_records(cmd.uow, child_id, body.duplicate_id, body.reason)
    return await cmd.respond(
        _body(survivor, cmd.today, merged=str(body.duplicate_id)), version=survivor.version
    )
