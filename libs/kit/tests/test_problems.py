"""problem+json everywhere: validation, not found, If-Match/ETag, outages, the unexpected."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from oneplan_kit import etag_for, parse_if_match
from oneplan_kit.errors import BadRequest, PreconditionRequired

PROBLEM = "application/problem+json"


async def _create(service: Any) -> tuple[str, str]:
    response = await service.client.post(
        "/widgets", json={"name": "gear", "size": 3}, headers=service.auth()
    )
    assert response.status_code == 201, response.text
    return response.headers["location"], response.headers["etag"]


async def test_validation_lists_each_field(sqlite_service: Any) -> None:
    response = await sqlite_service.client.post(
        "/widgets", json={"name": "", "size": 0}, headers=sqlite_service.auth()
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == "urn:oneplan:problem:validation"
    assert body["status"] == 422
    locations = {tuple(error["location"]) for error in body["errors"]}
    assert locations == {("body", "name"), ("body", "size")}
    assert all(error["message"] for error in body["errors"])


async def test_an_unknown_resource_is_404(sqlite_service: Any) -> None:
    response = await sqlite_service.client.get(f"/widgets/{uuid4()}", headers=sqlite_service.auth())
    assert response.status_code == 404
    assert response.json()["type"] == "urn:oneplan:problem:not-found"


async def test_an_unknown_route_is_a_problem_too(sqlite_service: Any) -> None:
    response = await sqlite_service.client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


async def test_an_update_without_if_match_is_428(service: Any) -> None:
    location, _ = await _create(service)
    response = await service.client.put(location, json={"name": "cog"}, headers=service.auth())
    assert response.status_code == 428
    assert response.json()["type"] == "urn:oneplan:problem:precondition-required"


async def test_a_stale_if_match_is_409_with_the_current_version(service: Any) -> None:
    location, etag = await _create(service)
    headers = {**service.auth(), "If-Match": etag}
    first = await service.client.put(location, json={"name": "cog"}, headers=headers)
    assert first.status_code == 200, first.text
    assert first.headers["etag"] == etag_for(2)
    stale = await service.client.put(location, json={"name": "sprocket"}, headers=headers)
    assert stale.status_code == 409
    assert stale.headers["content-type"] == PROBLEM
    body = stale.json()
    assert body["type"] == "urn:oneplan:problem:version-conflict"
    assert body["current_version"] == 2
    current = await service.client.get(location, headers=service.auth())
    assert current.json() == {"name": "cog", "version": 2}


async def test_an_unexpected_error_is_500_without_internals(sqlite_service: Any) -> None:
    response = await sqlite_service.client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "urn:oneplan:problem:internal"
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text


async def test_a_database_outage_is_503(sqlite_service: Any) -> None:
    response = await sqlite_service.client.get("/database-down")
    assert response.status_code == 503
    assert response.json()["type"] == "urn:oneplan:problem:service-unavailable"
    assert "retry-after" in response.headers


def test_etags_round_trip() -> None:
    assert etag_for(7) == '"7"'
    assert etag_for(7, weak=True) == 'W/"7"'
    assert parse_if_match('"7"') == 7
    assert parse_if_match('W/"7"') == 7
    with pytest.raises(PreconditionRequired):
        parse_if_match(None)
    with pytest.raises(BadRequest):
        parse_if_match('"7", "8"')
