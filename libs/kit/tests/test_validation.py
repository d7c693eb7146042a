"""Input validation through the kit: one 422 naming every faulty field, on the service's clock.

The app is built by ``create_app`` like every service's, but its lifespan is not started:
validation, problem documents and authentication need neither a database nor NATS.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from oneplan_events.catalogue import Catalogue
from oneplan_events.clock import FixedClock
from oneplan_events.types import (
    AgencyName,
    BoundedDate,
    BoundedDateTime,
    LongText,
    Name,
    NotFutureDate,
    ShortText,
    validation_today,
)
from oneplan_kit import (
    Authenticated,
    Conflict,
    NowDep,
    Public,
    ServiceDefinition,
    ServiceSettings,
    TodayDep,
    ValidationProblem,
    create_app,
    issue_dev_token,
)

# 23:30 UTC on 30 June 2031 is already 1 July in London.
CLOCK_NOW = datetime(2031, 6, 30, 23, 30, tzinfo=UTC)
CLOCK_TODAY = date(2031, 7, 1)


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    given_name: Name
    family_name: Name
    date_of_birth: NotFutureDate
    address_lines: list[ShortText] = Field(default_factory=list, max_length=4)
    communication_needs: LongText | None = None
    consent_from: BoundedDateTime | None = None
    agency: AgencyName | None = None


class Languages(BaseModel):
    languages: list[Name]


router = APIRouter()


@router.post("/registrations", status_code=201)
async def register(body: Registration, today: TodayDep, _: Public) -> dict[str, Any]:
    return {**body.model_dump(mode="json"), "registered_on": today.isoformat()}


@router.post("/languages")
async def languages(body: Languages, _: Public) -> dict[str, Any]:
    return body.model_dump()


@router.get("/search")
async def search(
    name: Annotated[Name | None, Query()] = None,
    removal_reason: Annotated[ShortText | None, Query()] = None,
    born_on: Annotated[BoundedDate | None, Query()] = None,
    _: Public = None,
) -> dict[str, Any]:
    return {"name": name, "removal_reason": removal_reason, "born_on": born_on}


@router.get("/clock")
async def clock(now: NowDep, today: TodayDep, _: Public) -> dict[str, str]:
    return {"now": now.isoformat(), "today": today.isoformat()}


@router.get("/clock-in-a-thread")
def clock_in_a_thread(_: Public) -> dict[str, str]:
    return {"today": validation_today().isoformat()}


class AgencyIn(BaseModel):
    agency: str


@router.post("/agencies")
async def unknown_agency(body: AgencyIn, _: Public) -> None:
    message = f"unknown agency '{body.agency}'; known: health, send"
    raise ValidationProblem([{"location": ["body", "agency"], "message": message}], message)


@router.post("/conflicts")
async def conflict(body: AgencyIn, _: Public) -> None:
    raise Conflict(f"{body.agency} already exists", existing=[body.agency] * 500)


@router.get("/whoami")
async def whoami(principal: Authenticated) -> dict[str, Any]:
    return {"sub": principal.sub, "agency": principal.agency}


DEFINITION = ServiceDefinition(
    name="validationtest",
    title="Validation test service",
    port=8998,
    catalogue=Catalogue("validationtest"),
    migrations=Path(__file__).parent / "kit_migrations",
    routers=[router],
)


class Readings:
    """A clock giving each reading in turn (one per request)."""

    def __init__(self, *moments: datetime) -> None:
        self._moments = iter(moments)

    def now(self) -> datetime:
        return next(self._moments)


@dataclasses.dataclass
class App:
    client: httpx.AsyncClient
    settings: ServiceSettings

    def auth(self, **claims: Any) -> dict[str, str]:
        token = issue_dev_token(self.settings, "send", ["caseworker"], **claims)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def app_factory(tmp_path: Path) -> Callable[..., Any]:
    settings = ServiceSettings(env="development", var_dir=tmp_path)

    async def make(clock: Any = None) -> AsyncIterator[App]:
        app = create_app(DEFINITION, settings, clock=clock or FixedClock(CLOCK_NOW))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://v.test") as client:
            yield App(client, settings)

    return make


@pytest.fixture
async def app(app_factory: Callable[..., Any]) -> AsyncIterator[App]:
    async for running in app_factory():
        yield running


def good_registration(**changes: Any) -> dict[str, Any]:
    return {
        "given_name": "Alex",
        "family_name": "Example",
        "date_of_birth": "2024-02-29",
        **changes,
    }


def faults(response: httpx.Response) -> dict[tuple[str, ...], str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:oneplan:problem:validation"
    return {tuple(error["location"]): error["type"] for error in body["errors"]}


async def test_four_faults_give_four_errors_in_one_response(app: App) -> None:
    response = await app.client.post(
        "/registrations",
        json=good_registration(
            given_name="Al\u0000ex",
            family_name="<script>alert(1)</script>",
            address_lines=["1 High Street", "x" * 201],
            date_of_birth="2031-07-02",  # the day after the service's clock's today
        ),
    )
    assert faults(response) == {
        ("body", "given_name"): "text_control_character",
        ("body", "family_name"): "text_markup",
        ("body", "address_lines", "1"): "string_too_long",
        ("body", "date_of_birth"): "date_in_future",
    }
    messages = {e["location"][-1]: e["message"] for e in response.json()["errors"]}
    assert messages["date_of_birth"] == "must not be after today (2031-07-01, Europe/London)"


async def test_valid_input_is_normalised(app: App) -> None:
    response = await app.client.post(
        "/registrations",
        json=good_registration(
            given_name="  Alex ",
            date_of_birth="2031-07-01",  # today on the service's clock, tomorrow in UTC
            communication_needs="Uses Makaton.\r\nPrefers mornings.",
            consent_from="2031-06-01T09:00:00+01:00",
        ),
    )
    assert response.status_code == 201, response.text
    assert response.json() == {
        "given_name": "Alex",
        "family_name": "Example",
        "date_of_birth": "2031-07-01",
        "address_lines": [],
        "communication_needs": "Uses Makaton.\nPrefers mornings.",
        "consent_from": "2031-06-01T08:00:00Z",
        "agency": None,
        "registered_on": "2031-07-01",
    }


@pytest.mark.parametrize(
    ("field", "value", "error_type"),
    [
        ("consent_from", "9999-12-31T23:59:59-23:59", "datetime_out_of_range"),
        ("consent_from", "0001-01-01T00:00:00+23:59", "datetime_out_of_range"),
        ("consent_from", "2031-06-01T09:00:00", "timezone_aware"),
        ("date_of_birth", "1899-12-31", "date_out_of_range"),
        ("given_name", "\ud800", "text_unpaired_surrogate"),
        ("given_name", "A\u202eB", "text_bidi_control"),
        ("given_name", "   ", "string_too_short"),
        ("communication_needs", "ok\x0bnot ok", "text_control_character"),
        ("agency", "Health Team", "string_pattern_mismatch"),
    ],
)
async def test_each_refusal_is_a_422_naming_the_field(
    app: App, field: str, value: str, error_type: str
) -> None:
    # json.dumps escapes to ASCII: the only way a client can send a lone surrogate.
    body = json.dumps(good_registration(**{field: value}))
    response = await app.client.post(
        "/registrations", content=body, headers={"content-type": "application/json"}
    )
    assert faults(response) == {("body", field): error_type}


async def test_query_parameters_meet_the_same_rule(app: App) -> None:
    response = await app.client.get(
        "/search",
        params={"name": "Sm\x00ith", "removal_reason": "<b>moved</b>", "born_on": "2200-01-01"},
    )
    assert faults(response) == {
        ("query", "name"): "text_control_character",
        ("query", "removal_reason"): "text_markup",
        ("query", "born_on"): "date_out_of_range",
    }
    ok = await app.client.get("/search", params={"name": " Smith ", "born_on": "2015-05-01"})
    assert ok.json() == {"name": "Smith", "removal_reason": None, "born_on": "2015-05-01"}


async def test_the_openapi_document_carries_the_bounds(app: App) -> None:
    schemas = (await app.client.get("/openapi.json")).json()["components"]["schemas"]
    registration = schemas["Registration"]["properties"]
    assert registration["given_name"] == {
        "type": "string",
        "maxLength": 100,
        "minLength": 1,
        "title": "Given Name",
    }
    assert registration["date_of_birth"]["formatMinimum"] == "1900-01-01"


async def test_every_request_is_validated_on_the_services_clock(app: App) -> None:
    assert (await app.client.get("/clock")).json() == {
        "now": CLOCK_NOW.isoformat(),
        "today": CLOCK_TODAY.isoformat(),
    }
    assert (await app.client.get("/clock-in-a-thread")).json() == {"today": "2031-07-01"}


async def test_the_clock_is_read_for_each_request(
    app_factory: Callable[..., Any],
) -> None:
    ticking = Readings(datetime(2030, 1, 1, 12, tzinfo=UTC), datetime(2030, 1, 2, 12, tzinfo=UTC))
    async for running in app_factory(ticking):
        body = good_registration(date_of_birth="2030-01-02")
        assert faults(await running.client.post("/registrations", json=body)) == {
            ("body", "date_of_birth"): "date_in_future"
        }
        assert (await running.client.post("/registrations", json=body)).status_code == 201


async def test_every_error_is_listed_up_to_a_bound(app: App) -> None:
    response = await app.client.post("/languages", json={"languages": ["\x00"] * 1000})
    body = response.json()
    assert response.status_code == 422
    assert len(body["errors"]) == 100
    assert body["errors_omitted"] == 900


async def test_a_huge_input_is_never_echoed_whole(app: App) -> None:
    huge = "A" * 1_000_000
    response = await app.client.post("/agencies", json={"agency": huge})
    assert response.status_code == 422
    assert len(response.content) < 2_000
    body = response.json()
    (error,) = body["errors"]
    length = len(f"unknown agency '{huge}'; known: health, send")
    assert error["message"] == f"unknown agency '{'A' * 84}… ({length} characters)"
    assert body["detail"] == error["message"]


async def test_a_huge_unknown_field_name_is_not_echoed_whole(app: App) -> None:
    response = await app.client.post(
        "/registrations", json={**good_registration(), "x" * 1_000_000: 1}
    )
    assert response.status_code == 422
    assert len(response.content) < 2_000
    (error,) = response.json()["errors"]
    assert error["location"][1].endswith("… (1000000 characters)")


async def test_every_problem_is_bounded_not_only_validation(app: App) -> None:
    response = await app.client.post("/conflicts", json={"agency": "b" * 100_000})
    assert response.status_code == 409
    body = response.json()
    assert len(response.content) < 30_000
    assert body["detail"].endswith("… (100015 characters)")
    assert len(body["existing"]) == 100
    assert body["existing_omitted"] == 400


async def test_an_unsafe_character_in_a_message_cannot_break_the_response(app: App) -> None:
    raw = b'{"agency": "\\ud800\\u0000"}'
    response = await app.client.post(
        "/agencies", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "unknown agency '\ufffd\ufffd'; known: health, send"


async def test_a_refused_token_claim_is_a_401_naming_it(app: App) -> None:
    response = await app.client.get("/whoami", headers=app.auth(sub="u" * 256))
    assert response.status_code == 401
    body = response.json()
    assert body["type"] == "urn:oneplan:problem:unauthenticated"
    assert body["claim"] == "sub"
    assert "256 characters" in body["detail"]
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    ok = await app.client.get("/whoami", headers=app.auth(sub="u" * 255))
    assert ok.json() == {"sub": "u" * 255, "agency": "send"}
