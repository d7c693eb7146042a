"""The directory of services referrals go to: public, as data and in the Open Referral UK
shape; health's managers list, change and retire its services (each an event)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Body, Depends, Request, Response

from oneplan_events.vocabulary import Role
from oneplan_kit.access import Allow, Policy, Public, Refusal
from oneplan_kit.auth import Principal
from oneplan_kit.commands import CommandDep, ReadDep
from oneplan_kit.errors import IfMatchVersion, etag_for
from oneplan_kit.runtime import RuntimeDep
from oneplan_referrals.adapters import repository
from oneplan_referrals.domain.directory import Directory, DirectoryEntry
from oneplan_referrals.domain.errors import NotFound
from oneplan_referrals.entrypoints import examples
from oneplan_referrals.entrypoints.schemas import DirectoryServiceOut, Retirement, ServiceIn
from oneplan_referrals.service_layer.directory import (
    change_service,
    list_service,
    retire_service,
)

__all__ = ["DirectoryDep", "DirectoryEditor", "router"]

router = APIRouter(prefix="/v1", tags=["directory"])


async def _directory(runtime: RuntimeDep) -> Directory:
    async with runtime.sessionmaker() as session:
        return await repository.directory(session)


DirectoryDep = Annotated[Directory, Depends(_directory)]
"""The directory as its records say now (read once per request)."""


def _directory_editor(principal: Principal, request: Request) -> Refusal | None:
    owner = request.app.state.definition.owner_agency
    if (
        not principal.is_family
        and principal.agency == owner
        and principal.has_role(Role.MANAGER, Role.ADMIN)
    ):
        return None
    needs = f"a manager or admin of agency {owner}"
    return Refusal(f"This needs {needs}.", needs=needs)


DIRECTORY_EDITOR = Policy(
    "directory_editor", _directory_editor, "a manager or admin of the service's own agency"
)
DirectoryEditor = Annotated[Principal, Allow(DIRECTORY_EDITOR)]
"""Who keeps the directory: health's managers and admins."""


@router.get(
    "/directory",
    summary="The services a child can be referred to",
    response_model=list[DirectoryEntry],
)
async def list_services(_: Public, directory: DirectoryDep) -> list[DirectoryEntry]:
    """Every service of the directory not retired, by name: what it offers, ages, referral
    criteria, contact. Public: the directory holds nothing about any child."""
    return directory.listed()


@router.get(
    "/directory.oruk.json",
    summary="The directory in the Open Referral UK (HSDS) shape",
    response_model=dict[str, Any],
)
async def oruk(_: Public, directory: DirectoryDep) -> dict[str, Any]:
    """A page of ORUK services (all of them not retired): each with its organization,
    eligibility, age range, contacts and taxonomy terms."""
    return directory.oruk()


@router.get(
    "/directory/{service_id}",
    summary="One service of the directory (retired ones too)",
    response_model=DirectoryServiceOut,
)
async def read_service(service_id: UUID, _: Public, uow: ReadDep) -> Response:
    """The service, whether retired and when; its `ETag` is what a change names in
    `If-Match`."""
    listed, version = await uow.load(repository.DIRECTORY, service_id)
    if listed is None:
        raise NotFound(f"the directory has no service {service_id}")
    out = DirectoryServiceOut.of(listed)
    return Response(
        out.model_dump_json(),
        media_type="application/json",
        headers={"ETag": etag_for(version)},
    )


@router.post(
    "/directory",
    status_code=201,
    summary="List a new service",
    response_model=DirectoryServiceOut,
)
async def add_service(
    body: Annotated[ServiceIn, Body(openapi_examples=examples.SERVICE)],
    editor: DirectoryEditor,
    cmd: CommandDep,
) -> Response:
    """Adds the service under a new id (`oneplan.referrals.directory.service_listed`);
    422 naming `code` when another service has it."""
    entry = DirectoryEntry(id=uuid4(), **body.model_dump())
    listed, version = await list_service(cmd.uow, editor.sub, entry)
    return await cmd.respond(
        DirectoryServiceOut.of(listed),
        status_code=201,
        version=version,
        location=f"/v1/directory/{entry.id}",
    )


@router.put(
    "/directory/{service_id}",
    summary="Change what the directory says about a service",
    response_model=DirectoryServiceOut,
)
async def change(
    service_id: UUID,
    body: Annotated[ServiceIn, Body(openapi_examples=examples.SERVICE)],
    editor: DirectoryEditor,
    version: IfMatchVersion,
    cmd: CommandDep,
) -> Response:
    """The whole new description (`oneplan.referrals.directory.service_changed` naming the
    fields that changed; nothing when none did). `If-Match` the service's `ETag`: 409 when
    it changed since, 428 without; 404 for no such service, 409 for a retired one."""
    entry = DirectoryEntry(id=service_id, **body.model_dump())
    listed, new_version = await change_service(cmd.uow, editor.sub, entry, version)
    return await cmd.respond(DirectoryServiceOut.of(listed), version=new_version)


@router.post(
    "/directory/{service_id}/retirement",
    summary="Retire a service",
    response_model=DirectoryServiceOut,
)
async def retire(
    service_id: UUID,
    body: Annotated[Retirement, Body(openapi_examples=examples.RETIREMENT)],
    editor: DirectoryEditor,
    version: IfMatchVersion,
    cmd: CommandDep,
) -> Response:
    """No new referrals go to it (`oneplan.referrals.directory.service_retired`); the
    referrals it has keep its name. Final: 409 when retired already."""
    listed, new_version = await retire_service(
        cmd.uow,
        editor.sub,
        service_id,
        on=body.on or cmd.today,
        reason=body.reason,
        expected_version=version,
    )
    return await cmd.respond(DirectoryServiceOut.of(listed), version=new_version)
