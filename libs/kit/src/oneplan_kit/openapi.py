"""The OpenAPI document says what the services do: every problem response, and required headers.

FastAPI documents a route's success response and a 422 of its own ``HTTPValidationError``
shape. The kit answers errors with RFC 9457 problem documents instead, so this module rewrites
each operation from what the route depends on: 401 and 403 where a principal is declared,
404 where the path names a resource, 409 and the ``Idempotency-Key`` header for commands,
428 and a *required* ``If-Match`` for updates, 400 and 422 where input is read, 503 always
(the database or the consent decision point may be unavailable), each with the problem schema
that is actually sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi

from oneplan_kit.errors import PROBLEM_CONTENT_TYPE
from oneplan_kit.idempotency import IDEMPOTENCY_KEY_PATTERN
from oneplan_kit.routing import ApiRoute, api_routes, dependency_calls

__all__ = ["PROBLEM_SCHEMAS", "document_problems"]

_PROBLEM_REF: Final = "#/components/schemas/Problem"
_VALIDATION_REF: Final = "#/components/schemas/ValidationProblem"
_KEY_REUSED_REF: Final = "#/components/schemas/IdempotencyKeyReused"

PROBLEM_SCHEMAS: Final[dict[str, Any]] = {
    "Problem": {
        "type": "object",
        "title": "Problem",
        "description": "An RFC 9457 problem document (application/problem+json).",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string", "description": "Stable URN: urn:oneplan:problem:<slug>"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
        },
        "additionalProperties": True,
    },
    "ValidationProblem": {
        "type": "object",
        "title": "ValidationProblem",
        "description": "422: every field's error at once.",
        "required": ["type", "title", "status", "errors"],
        "properties": {
            "type": {"type": "string", "const": "urn:oneplan:problem:validation"},
            "title": {"type": "string"},
            "status": {"type": "integer", "const": 422},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["location", "message"],
                    "properties": {
                        "location": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": 'Where: ["body", "given_name"], ["query", "purpose"]',
                        },
                        "message": {"type": "string"},
                        "type": {"type": "string"},
                    },
                },
            },
        },
        "additionalProperties": True,
    },
    "IdempotencyKeyReused": {
        "type": "object",
        "title": "IdempotencyKeyReused",
        "description": "422: the Idempotency-Key was used before for a different request.",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string", "const": "urn:oneplan:problem:idempotency-key-reused"},
            "title": {"type": "string"},
            "status": {"type": "integer", "const": 422},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
        },
        "additionalProperties": True,
    },
}

_DESCRIPTIONS: Final = {
    "400": "Bad request (a malformed header, a missing purpose, a rule on the query).",
    "401": "No usable bearer token; nothing was done.",
    "403": "The caller may not do this (the body says what is needed).",
    "404": "No such resource, or not the caller's to know about.",
    "409": "Conflict: the resource changed (version conflict) or the request contradicts its "
    "state; nothing was written.",
    "422": "Invalid input: every field's error at once; nothing was written.",
    "428": "This update needs an If-Match header with the ETag you last read.",
    "503": "A dependency (database, consent decision point, identity provider) is "
    "unavailable; nothing was written. Retry after the Retry-After seconds.",
}


def document_problems(app: FastAPI, *, consistency_tokens: bool = False) -> None:
    """Make ``app.openapi()`` describe the problem responses the kit sends (and, for a
    service giving them, the ``Consistency-Token`` header of its writes' answers)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _rewrite(schema, app, consistency_tokens)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _rewrite(schema: dict[str, Any], app: FastAPI, consistency_tokens: bool) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(PROBLEM_SCHEMAS)
    for route in api_routes(app.routes):
        if not route.include_in_schema:
            continue
        for method in route.methods:
            operation = schema.get("paths", {}).get(route.path, {}).get(method.lower())
            if operation is not None:
                _document(operation, route, method)
                if consistency_tokens:
                    _document_token(operation, route, method)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def _document(operation: dict[str, Any], route: ApiRoute, method: str) -> None:
    calls = {_name(call) for call in dependency_calls(route.dependant)}
    _parameters_are_never_null(operation)
    codes = ["503"]
    if "_current_principal" in calls:
        codes += ["401", "403"]
    if route.dependant.path_params:
        codes.append("404")
    reads_input = bool(
        route.dependant.path_params
        or route.dependant.query_params
        or route.dependant.header_params
        or route.dependant.body_params
        or any(d.query_params or d.header_params for d in _dependants(route.dependant))
    )
    if reads_input:
        codes += ["400", "422"]
    if "_command" in calls and method != "GET":
        codes.append("409")
    if "_if_match_version" in calls:
        codes.append("428")
        _require_header(operation, "If-Match")
    keyed = method == "POST" and "_command" in calls
    if keyed:
        _describe_header(operation, "Idempotency-Key", _IDEMPOTENCY_KEY_SCHEMA)
    else:
        _drop_header(operation, "Idempotency-Key")
    responses = operation.setdefault("responses", {})
    # A response the route declares itself (e.g. /readyz's 503 with its checks) is its own.
    for code in sorted(set(codes) - route.declared_responses):
        schema: dict[str, Any] = {"$ref": _PROBLEM_REF}
        if code == "422":
            schema = {"$ref": _VALIDATION_REF}
            if keyed:
                schema = {"oneOf": [schema, {"$ref": _KEY_REUSED_REF}]}
        responses[code] = {
            "description": _DESCRIPTIONS[code],
            "content": {PROBLEM_CONTENT_TYPE: {"schema": schema}},
        }
    if "_command" in calls:
        _document_success_headers(responses)


_IDEMPOTENCY_KEY_SCHEMA: Final = {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN}

_ETAG_HEADER: Final = {
    "description": 'The version of the record after this request, e.g. "3": send it as '
    "If-Match to change the record.",
    "required": True,
    "schema": {"type": "string", "pattern": r'^"[0-9]+"$'},
}
_LOCATION_HEADER: Final = {
    "description": "The path of the record created.",
    "required": True,
    "schema": {"type": "string", "pattern": "^/"},
}


def _document_success_headers(responses: dict[str, Any]) -> None:
    """A command's answer carries the record's ETag (Command.respond sets it from the version
    every command route passes), and a 201 the Location of what it created."""
    for code, response in responses.items():
        if not code.startswith("2"):
            continue
        headers = response.setdefault("headers", {})
        headers["ETag"] = _ETAG_HEADER
        if code == "201":
            headers["Location"] = _LOCATION_HEADER


_TOKEN_HEADER: Final = {
    "description": "The CONSENT stream sequence of this change, once published: send it as "
    "the Consistency-Token header of a read at any service to be answered only after that "
    "service has applied the change. Absent when the change could not be published within "
    "2 s (it is committed and is published later) and on an idempotent replay.",
    "schema": {"type": "string", "pattern": r"^[0-9]{1,18}$"},
}


def _document_token(operation: dict[str, Any], route: ApiRoute, method: str) -> None:
    calls = {_name(call) for call in dependency_calls(route.dependant)}
    if "_command" not in calls or method == "GET":
        return
    for code, response in operation.get("responses", {}).items():
        if code.startswith("2"):
            response.setdefault("headers", {})["Consistency-Token"] = _TOKEN_HEADER


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependants(sub)


def _name(call: Callable[..., Any]) -> str:
    return getattr(call, "__name__", "")


def _require_header(operation: dict[str, Any], name: str) -> None:
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "header" and parameter.get("name", "").lower() == name.lower():
            parameter["required"] = True
            schema = parameter.get("schema", {})
            # FastAPI writes an optional header as anyOf [string, null]; it is a string now.
            parameter["schema"] = {
                "type": "string",
                "description": schema.get("description", ""),
                "pattern": r'^(W/)?"[0-9]+"$',
            }


def _parameters_are_never_null(operation: dict[str, Any]) -> None:
    """An optional parameter is absent or a value: FastAPI writes ``anyOf [X, null]`` for
    ``X | None``, but a query or header cannot carry a JSON null (``?x=null`` is the text
    "null"), so the document gives X alone."""
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        branches = schema.get("anyOf")
        if not isinstance(branches, list):
            continue
        values = [branch for branch in branches if branch != {"type": "null"}]
        if len(values) == 1 and len(values) < len(branches):
            rest = {key: value for key, value in schema.items() if key != "anyOf"}
            parameter["schema"] = {**values[0], **rest}


def _describe_header(operation: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "header" and parameter.get("name", "").lower() == name.lower():
            # An optional header is a string when sent (FastAPI writes anyOf [string, null]).
            parameter["schema"] = dict(schema)


def _drop_header(operation: dict[str, Any], name: str) -> None:
    parameters = operation.get("parameters")
    if parameters:
        operation["parameters"] = [
            p for p in parameters if not (p.get("in") == "header" and p.get("name") == name)
        ]
