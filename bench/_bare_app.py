"""The bare FastAPI endpoint the HTTP benchmarks compare the services with.

One POST route that reads a small JSON body into a pydantic model and answers a small JSON
document, and one GET route answering a constant: what any FastAPI service pays per request
(uvicorn, routing, body validation, a response), with no authentication, no database and no
consent replica. Served the way the
services are (``uvicorn <module>:create_app --factory``, one process).
"""

from __future__ import annotations

from uuid import UUID

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel


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

    @app.get("/v1/bare")
    async def bare_read() -> JSONResponse:
        return JSONResponse({"items": [], "total": 0})

    return app
