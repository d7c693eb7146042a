"""One clock reading per request, shared by input validation and the request's own code.

``create_app`` wraps every HTTP request in ``validating_at(app.state.clock.now())``, so the
not-future types of ``oneplan_events.types`` (a date of birth, a signed-at time) are checked
against the same instant the endpoint later decides on (its command's ``now``), and every
field's error is reported in one 422 by pydantic instead of a domain check after it. Routes
read that instant with :data:`NowDep` / :data:`TodayDep`, never the wall clock; tests give
``create_app`` a ``FixedClock``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Depends
from starlette.types import ASGIApp, Receive, Scope, Send

from oneplan_events.types import validating_at, validation_now, validation_today

__all__ = ["NowDep", "TodayDep", "ValidationClock"]


class ValidationClock:
    """ASGI middleware: each HTTP request runs inside ``validating_at`` the app clock's now."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Read at every request, from the app: a test may set another clock on a running app.
        clock = scope["app"].state.clock
        with validating_at(clock.now()):
            await self.app(scope, receive, send)


async def _request_now() -> datetime:
    # async on purpose: FastAPI runs a sync dependency in a worker thread (another context).
    return validation_now()


async def _request_today() -> date:
    return validation_today()


NowDep = Annotated[datetime, Depends(_request_now)]
"""The instant this request runs at (aware UTC), from the service's clock."""

TodayDep = Annotated[date, Depends(_request_today)]
"""The day this request runs on (Europe/London), from the service's clock."""
