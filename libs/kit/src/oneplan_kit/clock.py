"""One clock reading per request, shared by input validation and the request's own code.

``create_app`` wraps every HTTP request in ``validating_at(definition.clock())``, so the
not-future types of ``oneplan_events.types`` (a date of birth, a signed-at time) are checked
against the same instant the endpoint later decides on, and every field's error is reported in
one 422 by pydantic instead of a domain check after it. Endpoints read that instant with
:data:`RequestNow` / :data:`RequestToday` rather than the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Depends
from starlette.types import ASGIApp, Receive, Scope, Send

from oneplan_events.types import validating_at, validation_now, validation_today

__all__ = ["Clock", "RequestNow", "RequestToday", "ValidationClock", "system_clock"]

Clock = Callable[[], datetime]
"""Returns the current aware instant (``ServiceDefinition.clock``)."""


def system_clock() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


class ValidationClock:
    """ASGI middleware: each HTTP request runs inside ``validating_at(clock())``."""

    def __init__(self, app: ASGIApp, clock: Clock = system_clock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with validating_at(self.clock()):
            await self.app(scope, receive, send)


async def _request_now() -> datetime:
    # async on purpose: FastAPI runs a sync dependency in a worker thread.
    return validation_now()


async def _request_today() -> date:
    return validation_today()


RequestNow = Annotated[datetime, Depends(_request_now)]
"""The instant this request is validated at (UTC), from the service's clock."""

RequestToday = Annotated[date, Depends(_request_today)]
"""The day this request is validated on (Europe/London), from the service's clock."""
