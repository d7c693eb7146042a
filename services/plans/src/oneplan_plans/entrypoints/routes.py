"""HTTP API of the plans service.

Who may call each route is in its signature (`oneplan_kit.access`); a command runs in the
request's `CommandDep`, which commits once when the route responds; domain refusals become
problem documents through the service's error table (`bootstrap.py`).
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from oneplan_kit.access import AgencyStaff, ChildReader
from oneplan_kit.commands import CommandDep
from oneplan_kit.sharing import SharingDep
from oneplan_plans.entrypoints.schemas import NewNote, NoteOut, NotesOut, Withheld
from oneplan_plans.events import DATA_CLASS
from oneplan_plans.service_layer.handlers import notes_about, record_note

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["plans"])


@router.post(
    "/notes", status_code=201, summary="Record a note about a child", response_model=NoteOut
)
async def record(body: NewNote, caller: AgencyStaff, cmd: CommandDep) -> Response:
    """This agency's practitioners record its notes (`owner_agency`). 201 with the note and
    its ETag; the event reaches NATS once the command commits."""
    note, version = await record_note(cmd.uow, caller, body.child_id, body.text)
    return await cmd.respond(NoteOut.of(note), status_code=201, version=version)


@router.get(
    "/children/{child_id}/notes",
    summary="Read a child's notes (consent decides for other agencies)",
    response_model=NotesOut,
)
async def read_notes(
    child_id: UUID, reader: ChildReader, sharing: SharingDep, cmd: CommandDep
) -> Response:
    """The child's family and this agency's practitioners read every note; another agency's
    practitioner states a `purpose` and sees them only with a permit (consent, an override or
    a statutory duty), else the response lists the data class as withheld, without content.
    Every release to another agency is recorded in the family's disclosure log: that is why
    this read is a command."""
    release = sharing.decide(reader, child_id, DATA_CLASS)
    if not release.permitted:
        withheld = [Withheld.model_validate(release.withheld())]
        return await cmd.respond(NotesOut(items=[], withheld=withheld))
    notes = await notes_about(cmd.uow, child_id)
    if notes:
        await sharing.record(cmd.uow, reader, child_id, [release])
    return await cmd.respond(NotesOut(items=[NoteOut.of(note) for note in notes], withheld=[]))
