"""The bare FastAPI endpoints the HTTP benchmarks compare the services with.

* ``POST /v1/bare``: reads a small JSON body into a pydantic model and answers a small JSON
  document: what any FastAPI service pays per request (uvicorn, routing, body validation, a
  response), with no authentication, no database and no consent replica.
* ``GET /v1/bare``: answers a constant (the baseline of a read).
* ``GET /v1/bare/page?limit=n``: validates its query and answers a page of ``n`` items shaped
  like the referrals worklist's, serialised per request as the worklist's is.
* ``GET /v1/bare/plan/{child_id}`` (only when ``BENCH_BARE_DATABASE_URL`` names the plans
  service's database): the shared plan's rows by raw SQL on asyncpg, the rows a plan read
  reads (the child, its current contribution lines, its journey steps, its lead
  professional, its sources), and one audit row inserted per request, in one transaction,
  the rows answered as JSON: the work of a plan read and its disclosure record with no
  framework, token, consent decision or assembly.

Served the way the services are (``uvicorn <module>:create_app --factory``, one process).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

import asyncpg
from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from pydantic_core import to_json

AUDIT_TABLE = """
CREATE TABLE IF NOT EXISTS bench_plan_audit (
    audit_id bigserial PRIMARY KEY,
    child_id uuid NOT NULL,
    recipient text NOT NULL,
    purpose text NOT NULL,
    owners text[] NOT NULL,
    recorded_at timestamptz NOT NULL
)
"""

PLAN_QUERIES = {
    "child": "SELECT child_id, registered_at FROM child_facts WHERE child_id = $1",
    "lines": (
        "SELECT item_id, section, service, agency, data_class, title, content, outcomes, "
        "author, author_role, author_contact, effective_on, submitted_at, updated_at, "
        "revision, source_event FROM plan_items WHERE child_id = $1 AND NOT withdrawn"
    ),
    "steps": (
        "SELECT event_id, occurred_at, occurred_on, service, agency, data_class, event_type, "
        "label, actor FROM plan_timeline WHERE child_id = $1 ORDER BY occurred_at"
    ),
    "lead": "SELECT * FROM lead_professionals WHERE child_id = $1",
    "sources": (
        "SELECT stream, last_sequence, last_event_at FROM plan_sources WHERE child_id = $1 "
        "ORDER BY stream"
    ),
}


class Asked(BaseModel):
    """The shape of a decision request, so the body is as large as the contenders'."""

    child_id: UUID
    owner_agency: str
    recipient_agency: str
    data_class: str
    purpose: str


def create_app() -> FastAPI:
    database = os.environ.get("BENCH_BARE_DATABASE_URL")
    pools: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if database is None:
            yield
            return
        pool = await asyncpg.create_pool(database, min_size=2, max_size=10)
        assert pool is not None
        async with pool.acquire() as conn:
            await conn.execute(AUDIT_TABLE)
        pools["plans"] = pool
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(title="bare FastAPI endpoints (benchmark baselines)", lifespan=lifespan)

    @app.post("/v1/bare")
    async def bare(body: Asked) -> JSONResponse:
        return JSONResponse({"permit": False, "basis": None, "reference": None, "reason": "bare"})

    @app.get("/v1/bare")
    async def bare_read() -> JSONResponse:
        return JSONResponse({"items": [], "total": 0})

    @app.get("/v1/bare/plan/{child_id}")
    async def bare_plan(child_id: UUID, purpose: str = "plan_delivery") -> Response:
        found: dict[str, Any] = {}
        async with pools["plans"].acquire() as conn, conn.transaction():
            for name, query in PLAN_QUERIES.items():
                found[name] = [dict(row) for row in await conn.fetch(query, child_id)]
            if not found["child"]:
                return JSONResponse({"detail": "no such child"}, status_code=404)
            owners = sorted({line["agency"] for line in found["lines"]})
            await conn.execute(
                "INSERT INTO bench_plan_audit (child_id, recipient, purpose, owners, "
                "recorded_at) VALUES ($1, $2, $3, $4, $5)",
                child_id,
                "bench-reader",
                purpose,
                owners,
                datetime.now(UTC),
            )
        return Response(json.dumps(found, default=str), media_type="application/json")

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
