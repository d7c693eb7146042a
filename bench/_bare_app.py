"""The bare FastAPI endpoints the HTTP benchmarks compare the services with.

``POST /v1/bare`` reads a small JSON body into a pydantic model and answers a small JSON
document; ``GET /v1/bare/page?limit=n`` validates its query and answers a page of ``n``
items shaped like the referrals worklist's, serialised per request as the worklist's is.
What any FastAPI service pays per request (uvicorn, routing, validation, a response of
that size), with no authentication, no database and no consent replica. Served the way the
services are (``uvicorn <module>:create_app --factory``, one process).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import FastAPI, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic_core import to_json


class Asked(BaseModel):
    """The shape of a decision request, so the body is as large as the contenders'."""

    child_id: UUID
    owner_agency: str
    recipient_agency: str
    data_class: str
    purpose: str


def create_app() -> FastAPI:
    app = FastAPI(title="bare FastAPI endpoint (benchmark baseline)")

    @app.post("/v1/bare")
    async def bare(body: Asked) -> JSONResponse:
        return JSONResponse({"permit": False, "basis": None, "reference": None, "reason": "bare"})

    @app.get("/v1/bare/page")
    async def page(limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Response:
        items = [dict(_ITEM, referral_id=str(uuid4())) for _ in range(limit)]
        body = {"total": 13605, "items": items, "next": f"2026-01-05_{uuid4()}"}
        return Response(to_json(body), media_type="application/json")

    return app


_ITEM: dict[str, Any] = {
    "child_id": str(uuid4()),
    "service_id": str(uuid4()),
    "service_name": "Rise (CAMHS)",
    "referrer_agency": "school",
    "urgency": "routine",
    "status": "accepted",
    "received_on": date(2026, 1, 5),
    "wait": {
        "received_on": date(2026, 1, 5),
        "breach_on": date(2026, 5, 11),
        "first_seen_on": None,
        "days": 97,
        "weeks": 13,
        "status": "on_track",
        "flagged": False,
        "next_appointment_on": date(2026, 4, 20),
    },
}
