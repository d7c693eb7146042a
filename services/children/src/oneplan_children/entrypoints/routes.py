"""HTTP API of the children service (`/v1/children`).

Commands run in the request's unit of work and commit once, after the idempotent response (if
any) is recorded; refusals raise before the commit, so nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from oneplan_children.domain.commands import (
    AddFamilyMember,
    ChangeDetails,
    ChangeFamilyMember,
    DetailsPatch,
    MemberInput,
    MergeInput,
    NewChild,
    RemovalInput,
    RemoveFamilyMember,
    ReviseStory,
)
from oneplan_children.domain.identifiers import (
    InvalidIdentifier,
    normalise_nhs_number,
    normalise_upn,
)
from oneplan_children.domain.model import (
    Child,
    InvalidCommand,
    MemberNotFound,
    RecordAlreadyExists,
    RecordMerged,
    RecordNotFound,
)
from oneplan_children.entrypoints.access import (
    ensure_may_read,
    ensure_may_tell_story,
    ensure_staff,
    release,
    required_purpose,
    withheld_problem,
)
from oneplan_children.entrypoints.schemas import ChildOut, MemberOut, SearchOut, StoryOut
from oneplan_children.entrypoints.views import (
    EXTENDED_FIELDS,
    child_href,
    child_view,
    story_view,
    summary_view,
)
from oneplan_children.service_layer.handlers import (
    DuplicateIdentifier,
    StaleVersion,
    change_child,
    get_child,
    get_story,
    merge_records,
    record_disclosure,
    register_child,
    search_children,
)
from oneplan_events.catalogue import DataClass
from oneplan_events.catalogue.children import Story
from oneplan_kit.auth import CurrentPrincipal
from oneplan_kit.errors import (
    BadRequest,
    Conflict,
    IfMatchVersion,
    NotFound,
    ProblemError,
    ValidationProblem,
    VersionConflict,
    etag_for,
    problem_type,
)
from oneplan_kit.idempotency import IdempotencyDep
from oneplan_kit.runtime import RuntimeDep, UnitOfWorkDep
from oneplan_sharing import Purpose

__all__ = ["router", "today"]

router = APIRouter(prefix="/v1/children", tags=["children"])


def today() -> date:
    """Today's date (UTC): the one place the API reads the clock for age facts and checks."""
    return datetime.now(UTC).date()


Today = Annotated[date, Depends(today)]
PurposeQuery = Annotated[
    Purpose | None,
    Query(description="Why another agency reads the record (required for other agencies)."),
]


@contextmanager
def problems() -> Iterator[None]:
    """Answer the domain's and the handlers' refusals as problem documents."""
    try:
        yield
    except InvalidCommand as error:
        location = ["body", *error.field.split(".")]
        raise ValidationProblem([{"location": location, "message": error.message}]) from error
    except (RecordNotFound, MemberNotFound) as error:
        raise NotFound(str(error)) from error
    except RecordMerged as error:
        raise Conflict(
            str(error), merged_into=str(error.survivor_id), survivor=child_href(error.survivor_id)
        ) from error
    except RecordAlreadyExists as error:
        raise Conflict(str(error)) from error
    except StaleVersion as error:
        raise VersionConflict(error.current_version) from error
    except DuplicateIdentifier as error:
        raise _duplicate(error) from error


def _duplicate(error: DuplicateIdentifier) -> ProblemError:
    links = [child_href(match.child_id) for match in error.matches]
    headers = {"Link": ", ".join(f'<{link}>; rel="duplicate"' for link in links)} if links else {}
    return ProblemError(
        409,
        problem_type("duplicate-child"),
        "The child already has a record",
        f"{error} (one child, one record): use the existing record.",
        headers=headers,
        existing=[
            {
                "child_id": str(match.child_id),
                "field": match.field,
                "href": child_href(match.child_id),
            }
            for match in error.matches
        ],
    )


def _child_response(child: Child, on: date, status_code: int = 200, **extra: Any) -> JSONResponse:
    headers = {"ETag": etag_for(child.version)}
    if status_code == 201:
        headers["Location"] = child_href(child.child_id)
    body = {**child_view(child, on), **extra}
    return JSONResponse(body, status_code=status_code, headers=headers)


@router.post("", status_code=201, summary="Register a child", responses={201: {"model": ChildOut}})
async def register(
    body: NewChild,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    idempotency: IdempotencyDep,
    on: Today,
) -> JSONResponse:
    """201 with Location and ETag; 409 with a link when the NHS number or UPN has a record."""
    ensure_staff(principal)
    with problems():
        registered = await register_child(uow, body, on)
    warnings = [
        {
            "type": "possible_duplicate",
            "child_id": str(match),
            "href": child_href(match),
            "detail": "Another record has the same names and date of birth; not merged.",
        }
        for match in registered.possible_matches
    ]
    response = _child_response(registered.child, on, 201, warnings=warnings)
    await idempotency.complete(uow, response)
    await uow.commit()
    return response


@router.get("", summary="Search children (owner staff)", response_model=SearchOut)
async def search(
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    on: Today,
    nhs_number: str | None = None,
    upn: str | None = None,
    family_name: Annotated[str | None, Query(max_length=100)] = None,
    date_of_birth: date | None = None,
) -> dict[str, Any]:
    """By NHS number, UPN, or family name with date of birth."""
    ensure_staff(principal)
    if nhs_number is None and upn is None and (family_name is None or date_of_birth is None):
        raise BadRequest("Search by nhs_number, upn, or family_name with date_of_birth.")
    nhs = _identifier("nhs_number", nhs_number, normalise_nhs_number)
    pupil = _identifier("upn", upn, normalise_upn)
    rows = await search_children(
        uow, nhs_number=nhs, upn=pupil, family_name=family_name, date_of_birth=date_of_birth
    )
    return {"items": [summary_view(row, on) for row in rows]}


def _identifier(name: str, value: str | None, normalise: Callable[[str], str]) -> str | None:
    if value is None:
        return None
    try:
        return normalise(value)
    except InvalidIdentifier as error:
        problem = [{"location": ["query", name], "message": str(error)}]
        raise ValidationProblem(problem) from None


@router.get("/{child_id}", summary="Read a child's record", responses={200: {"model": ChildOut}})
async def read_child(
    child_id: UUID,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    uow: UnitOfWorkDep,
    on: Today,
    purpose: PurposeQuery = None,
) -> JSONResponse:
    """Everything for owner staff and the child's family; other agencies see minimal identity
    plus what consent permits for their stated purpose (the rest is listed as withheld)."""
    ensure_may_read(principal, child_id)
    stated = required_purpose(principal, purpose)
    with problems():
        child = await get_child(uow, child_id)
    if stated is None:
        return _child_response(child, on)
    releases = [release(runtime, principal, child_id, dc, stated) for dc in EXTENDED_FIELDS]
    for granted in releases:
        if granted.disclosure is not None:
            await record_disclosure(uow, granted.disclosure)
    await uow.commit()
    visible = frozenset(r.data_class for r in releases if r.permitted)
    withheld = [
        {"data_class": r.data_class.value, "reason": r.reason} for r in releases if not r.permitted
    ]
    return JSONResponse(
        {**child_view(child, on, visible), "withheld": withheld},
        headers={"ETag": etag_for(child.version)},
    )


@router.patch(
    "/{child_id}",
    summary="Change a child's details (JSON merge patch)",
    responses={200: {"model": ChildOut}},
)
async def change_details(
    child_id: UUID,
    body: DetailsPatch,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    version: IfMatchVersion,
    on: Today,
) -> JSONResponse:
    """Fields sent are set, `null` clears; needs If-Match."""
    ensure_staff(principal)
    with problems():
        child = await change_child(uow, child_id, ChangeDetails(body), version, on)
    await uow.commit()
    return _child_response(child, on)


@router.post(
    "/{child_id}/family-members",
    status_code=201,
    summary="Add a family member",
    responses={201: {"model": MemberOut}},
)
async def add_member(
    child_id: UUID,
    body: MemberInput,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    idempotency: IdempotencyDep,
    version: IfMatchVersion,
    on: Today,
) -> JSONResponse:
    """201 with the member's Location; the record's new ETag."""
    ensure_staff(principal)
    member_id = uuid4()
    with problems():
        child = await change_child(uow, child_id, AddFamilyMember(member_id, body), version, on)
    response = _member_response(child, member_id, 201)
    await idempotency.complete(uow, response)
    await uow.commit()
    return response


def _member_response(child: Child, member_id: UUID, status_code: int = 200) -> JSONResponse:
    member = child.family[member_id]
    href = f"{child_href(child.child_id)}/family-members/{member_id}"
    return JSONResponse(
        {"member_id": str(member_id), **member.details.model_dump(mode="json"), "href": href},
        status_code=status_code,
        headers={"ETag": etag_for(child.version), "Location": href},
    )


@router.put(
    "/{child_id}/family-members/{member_id}",
    summary="Change a family member",
    responses={200: {"model": MemberOut}},
)
async def change_member(
    child_id: UUID,
    member_id: UUID,
    body: MemberInput,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    version: IfMatchVersion,
    on: Today,
) -> JSONResponse:
    """Replaces what is recorded about the person; needs If-Match."""
    ensure_staff(principal)
    with problems():
        child = await change_child(uow, child_id, ChangeFamilyMember(member_id, body), version, on)
    await uow.commit()
    return _member_response(child, member_id)


@router.delete(
    "/{child_id}/family-members/{member_id}",
    summary="End a relationship",
    responses={200: {"model": ChildOut}},
)
async def remove_member(
    child_id: UUID,
    member_id: UUID,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    version: IfMatchVersion,
    on: Today,
    ended_on: date | None = None,
    reason: Annotated[str | None, Query(max_length=200)] = None,
) -> JSONResponse:
    """Ends the relationship (default: today); needs If-Match."""
    ensure_staff(principal)
    try:
        removal = RemovalInput(ended_on=ended_on or on, reason=reason)
    except ValueError as error:
        problem = [{"location": ["query", "reason"], "message": str(error)}]
        raise ValidationProblem(problem) from None
    with problems():
        child = await change_child(
            uow, child_id, RemoveFamilyMember(member_id, removal), version, on
        )
    await uow.commit()
    return _child_response(child, on)


@router.put(
    "/{child_id}/story",
    summary="Tell or revise the child's story",
    responses={200: {"model": StoryOut}},
)
async def revise_story(
    child_id: UUID,
    body: Story,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    version: IfMatchVersion,
    on: Today,
) -> JSONResponse:
    """Each revision is an event; If-Match carries the record's ETag."""
    ensure_may_tell_story(principal, child_id)
    with problems():
        child = await change_child(uow, child_id, ReviseStory(body), version, on)
    await uow.commit()
    view = story_view(child.child_id, child.story_revision, child.story)
    return JSONResponse(view, headers={"ETag": etag_for(child.version)})


@router.get(
    "/{child_id}/story",
    summary="Read the child's story, now or as it was",
    responses={200: {"model": StoryOut}},
)
async def read_story(
    child_id: UUID,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    uow: UnitOfWorkDep,
    as_of: datetime | None = None,
    purpose: PurposeQuery = None,
) -> JSONResponse:
    """`as_of` reconstructs the story from the event stream as it was then."""
    ensure_may_read(principal, child_id)
    stated = required_purpose(principal, purpose)
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    with problems():
        child, revision = await get_story(uow, child_id, as_of)
    if stated is not None:
        granted = release(runtime, principal, child_id, DataClass.STORY, stated)
        if granted.disclosure is None:
            raise withheld_problem(granted)
        await record_disclosure(uow, granted.disclosure)
        await uow.commit()
    view = story_view(
        child.child_id,
        0 if revision is None else revision.revision,
        None if revision is None else revision.story,
    )
    return JSONResponse(view, headers={"ETag": etag_for(child.version)})


@router.post(
    "/{child_id}/merge",
    summary="Merge a duplicate record into this one",
    responses={200: {"model": ChildOut}},
)
async def merge(
    child_id: UUID,
    body: MergeInput,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    idempotency: IdempotencyDep,
    on: Today,
) -> JSONResponse:
    """Retires `duplicate_id`; this record survives and takes over identifiers only the
    duplicate held."""
    ensure_staff(principal)
    with problems():
        survivor = await merge_records(uow, child_id, body.duplicate_id, body.reason, on)
    response = _child_response(survivor, on, merged=str(body.duplicate_id))
    await idempotency.complete(uow, response)
    await uow.commit()
    return response
