"""The command pipeline at the HTTP edge: one transaction, one commit, one shape of response.

::

    @router.post("/v1/children", status_code=201, response_model=ChildOut)
    async def register(body: NewChild, caller: SendStaff, cmd: CommandDep) -> Response:
        outcome = await cmd.execute(CHILDREN, uuid4(), RegisterChild(body))
        return await cmd.respond(ChildOut.of(outcome.state), status_code=201,
                                 version=outcome.version, location=child_href(...))

A :class:`Command` is the request's unit of work plus what the request brings: the caller,
the service's clock (``now`` and ``today``, read once), the correlation id (the request's
``Correlation-Id`` header or a new one), and for a POST its ``Idempotency-Key``. ``respond``
builds the response from the response model, sets ``ETag`` (and ``Location``), records the
idempotent response, and commits: the only commit. A route that raises, or returns without
responding, writes nothing. Reads use :data:`ReadDep`, a unit of work that is never
committed; a read that must record a disclosure is a command.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import date, datetime
from typing import Annotated, Any, Final, TypeVar
from uuid import UUID

from fastapi import Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from oneplan_events.clock import local_date
from oneplan_events.decider import Aggregate, Outcome
from oneplan_events.types import validation_now
from oneplan_events.uow import UnitOfWork
from oneplan_kit.auth import CurrentPrincipal, Principal
from oneplan_kit.consistency import CONSISTENCY_HEADER, consistency_token
from oneplan_kit.errors import etag_for
from oneplan_kit.idempotency import IDEMPOTENCY_HEADER, Idempotency, claim
from oneplan_kit.runtime import Runtime, RuntimeDep

__all__ = [
    "CORRELATION_HEADER",
    "Command",
    "CommandDep",
    "ReadDep",
    "correlation_id_of",
]

CORRELATION_HEADER: Final = "Correlation-Id"
_CORRELATION: Final = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

S = TypeVar("S")
C = TypeVar("C")


def correlation_id_of(request: Request) -> str:
    """The caller's ``Correlation-Id`` when it is a sensible token, else a new one."""
    given = request.headers.get(CORRELATION_HEADER)
    return given if given and _CORRELATION.match(given) else str(uuid.uuid4())


class Command:
    """One command request: its unit of work, its caller, its clock reading, its key."""

    def __init__(
        self,
        runtime: Runtime,
        uow: UnitOfWork,
        principal: Principal,
        idempotency: Idempotency,
    ) -> None:
        self.runtime = runtime
        self.uow = uow
        self.principal = principal
        self.idempotency = idempotency
        self.responded = False

    @property
    def now(self) -> datetime:
        """The instant of this command (the service's clock, read once)."""
        return self.uow.now

    @property
    def today(self) -> date:
        """Today's date in England at :attr:`now`."""
        return local_date(self.now)

    @property
    def correlation_id(self) -> str:
        """The correlation id every event of this command carries."""
        assert self.uow.correlation_id is not None
        return self.uow.correlation_id

    async def execute(
        self,
        aggregate: Aggregate[S, C],
        record_id: UUID | str,
        command: C,
        *,
        expected_version: int | None = None,
    ) -> Outcome[S]:
        """Run ``command`` on one record in this request's transaction (see UnitOfWork)."""
        return await self.uow.execute(
            aggregate, record_id, command, expected_version=expected_version
        )

    async def respond(
        self,
        body: BaseModel | Mapping[str, Any] | list[Any],
        *,
        status_code: int = 200,
        version: int | None = None,
        location: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Build the response, record it for the idempotency key, commit, return it (with
        its consistency token, when the service gives them)."""
        content = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
        response = JSONResponse(content, status_code=status_code, headers=dict(headers or {}))
        if version is not None:
            response.headers["ETag"] = etag_for(version)
        if location is not None:
            response.headers["Location"] = location
        return await self.respond_with(response)

    async def respond_with(self, response: Response) -> Response:
        """Like :meth:`respond`, for a response built by the route (an HTML page, say)."""
        if self.responded:
            raise RuntimeError("a command responds once")
        response.headers[CORRELATION_HEADER] = self.correlation_id
        await self.idempotency.complete(self.uow, response)
        await self.uow.commit()
        self.responded = True
        token = await consistency_token(self.runtime, self.uow.appended)
        if token is not None:
            response.headers[CONSISTENCY_HEADER] = token
        return response


async def _command(
    request: Request,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=IDEMPOTENCY_HEADER,
            description="POST only: a retry with the same key returns the first response and "
            "writes nothing (1-255 printable ASCII characters; kept 24 hours).",
        ),
    ] = None,
    correlation_id: Annotated[
        str | None,
        Header(
            alias=CORRELATION_HEADER,
            description="Carried by every event this request causes when it is 1 to 64 of "
            "A-Z a-z 0-9 . _ : - (otherwise, and by default, a new id).",
        ),
    ] = None,
) -> AsyncIterator[Command]:
    work = runtime.unit_of_work(correlation_id=correlation_id_of(request), now=validation_now())
    async with work as uow:
        key = idempotency_key if request.method == "POST" else None
        idempotency = await claim(request, uow, principal, key)
        yield Command(runtime, uow, principal, idempotency)


CommandDep = Annotated[Command, Depends(_command)]
"""The request's command context (see the module docstring)."""


async def _read(runtime: RuntimeDep) -> AsyncIterator[UnitOfWork]:
    async with runtime.unit_of_work(now=validation_now()) as uow:
        yield uow


ReadDep = Annotated[UnitOfWork, Depends(_read)]
"""A unit of work for a read: rolled back at the end of the request, never committed."""
