"""RFC 9457 problem details (``application/problem+json``) for every error a service returns.

Raise a :class:`ProblemError` (or a subclass) anywhere in a request;
:func:`install_problem_handlers` turns it, FastAPI's validation errors, HTTP exceptions,
event-store version conflicts, database outages and unexpected exceptions into problem
documents with a stable ``type`` URI.

Every problem document is bounded, whoever builds it: :class:`ProblemResponse` passes its body
through :func:`cap_echo`, so a string longer than ``ECHO_LIMIT`` characters (an echoed input,
or a message quoting one, such as "unknown agency '<1 MB>'") comes back as a short prefix with
its length, and a list longer than ``MAX_LISTED`` items keeps its first ones and says how many
it left out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Final, TypeVar

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Discriminator, Tag
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oneplan_events.faults import is_database_outage
from oneplan_events.store import ConcurrencyError
from oneplan_events.types import replace_unsafe_characters

__all__ = [
    "ECHO_LIMIT",
    "ECHO_PREFIX",
    "MAX_LISTED",
    "PROBLEM_CONTENT_TYPE",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "IfMatchVersion",
    "NotFound",
    "PreconditionRequired",
    "ProblemError",
    "ProblemResponse",
    "ServiceUnavailable",
    "Unauthorized",
    "ValidationProblem",
    "VersionConflict",
    "cap_echo",
    "etag_for",
    "install_problem_handlers",
    "one_or_many",
    "parse_if_match",
    "problem_type",
]

PROBLEM_CONTENT_TYPE = "application/problem+json"
ECHO_LIMIT = 500
"""The longest string a problem document holds whole (validation messages fit easily)."""
ECHO_PREFIX = 100
"""How much of a longer string it keeps, before "…" and the string's length."""
MAX_LISTED = 100
"""The most items of any list in a problem document (e.g. validation errors)."""
_log = logging.getLogger("oneplan_kit.errors")
M = TypeVar("M", bound=BaseModel)


def cap_echo(value: Any) -> Any:
    """``value`` (a problem document or any part of one) with every string and list bounded.

    A string longer than ECHO_LIMIT becomes its first ECHO_PREFIX characters, "…" and
    "(N characters)"; a list (or tuple) longer than MAX_LISTED keeps its first MAX_LISTED
    items, and when it is a member ``<name>`` of an object, ``<name>_omitted`` says how many
    were left out. Keys are bounded like strings; numbers, booleans and null are kept. Code
    points the text rule refuses (a control character, an unpaired surrogate, ...) read as
    U+FFFD, so a message quoting bad input can always be encoded and shown.
    """
    if isinstance(value, str):
        return _capped_text(value)
    if isinstance(value, Mapping):
        capped: dict[Any, Any] = {}
        for key, item in value.items():
            capped_key = _capped_text(key) if isinstance(key, str) else key
            capped[capped_key] = cap_echo(item)
            if isinstance(item, list | tuple) and len(item) > MAX_LISTED:
                capped[f"{capped_key}_omitted"] = len(item) - MAX_LISTED
        return capped
    if isinstance(value, list | tuple):
        return [cap_echo(item) for item in value[:MAX_LISTED]]
    return value


def _capped_text(text: str) -> str:
    if len(text) > ECHO_LIMIT:
        text = f"{text[:ECHO_PREFIX]}… ({len(text)} characters)"
    return replace_unsafe_characters(text)


# RFC 6750 error_description: printable ASCII without '"' and '\\'.
_CHALLENGE_UNSAFE = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def _challenge_text(detail: str) -> str:
    return _CHALLENGE_UNSAFE.sub("?", _capped_text(detail.replace('"', "'")))


def problem_type(slug: str) -> str:
    """The stable type URI for a problem slug: ``urn:oneplan:problem:<slug>``."""
    return f"urn:oneplan:problem:{slug}"


class ProblemResponse(JSONResponse):
    """A JSON response served as ``application/problem+json``, bounded by :func:`cap_echo`."""

    media_type = PROBLEM_CONTENT_TYPE

    def render(self, content: Any) -> bytes:
        return super().render(cap_echo(content))


class ProblemError(Exception):
    """An error that is answered with an RFC 9457 problem document.

    ``extensions`` become extra members of the document (e.g. ``current_version``);
    ``headers`` are added to the response (e.g. ``WWW-Authenticate``).
    """

    def __init__(
        self,
        status: int,
        type: str,
        title: str,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = extensions

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        """The problem document as a JSON object."""
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail is not None:
            body["detail"] = self.detail
        if instance is not None:
            body["instance"] = instance
        body.update(self.extensions)
        return body

    def to_response(self, instance: str | None = None) -> ProblemResponse:
        """The problem as a response."""
        return ProblemResponse(
            self.to_dict(instance), status_code=self.status, headers=self.headers
        )


class BadRequest(ProblemError):
    """400: the request is malformed in a way that is not a field validation error."""

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(400, problem_type("bad-request"), "Bad request", detail, **extensions)


class Unauthorized(ProblemError):
    """401: no usable bearer token. Carries the RFC 6750 ``WWW-Authenticate`` challenge.

    ``claim`` names the token claim that was refused (a ``claim`` member of the document).
    """

    def __init__(
        self, detail: str, *, error: str | None = "invalid_token", claim: str | None = None
    ) -> None:
        challenge = 'Bearer realm="oneplan"'
        if error is not None:
            challenge += f', error="{error}", error_description="{_challenge_text(detail)}"'
        extensions = {} if claim is None else {"claim": claim}
        super().__init__(
            401,
            problem_type("unauthenticated"),
            "Authentication required",
            detail,
            headers={"WWW-Authenticate": challenge},
            **extensions,
        )
        self.claim = claim


class Forbidden(ProblemError):
    """403: the caller is known but may not do this."""

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(403, problem_type("forbidden"), "Forbidden", detail, **extensions)


class NotFound(ProblemError):
    """404: it does not exist, or it is not the caller's to know about."""

    def __init__(self, detail: str = "Not found", **extensions: Any) -> None:
        super().__init__(404, problem_type("not-found"), "Not found", detail, **extensions)


class Conflict(ProblemError):
    """409: the request conflicts with the current state (not a version mismatch)."""

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(409, problem_type("conflict"), "Conflict", detail, **extensions)


class VersionConflict(ProblemError):
    """409: the caller's expected version (``If-Match``) is not the current one.

    ``current_version`` is None only when a concurrent writer won and the version could not be
    re-read in the aborted transaction; the body then says to reload.
    """

    def __init__(self, current_version: int | None, detail: str | None = None) -> None:
        if detail is None:
            detail = (
                f"The resource is at version {current_version}; reload it and retry."
                if current_version is not None
                else "The resource was changed by someone else; reload it and retry."
            )
        super().__init__(
            409,
            problem_type("version-conflict"),
            "Version conflict",
            detail,
            headers={"ETag": etag_for(current_version)} if current_version is not None else None,
            current_version=current_version,
        )
        self.current_version = current_version


class PreconditionRequired(ProblemError):
    """428: an update was sent without ``If-Match``."""

    def __init__(self, detail: str = "This update requires an If-Match header.") -> None:
        super().__init__(
            428, problem_type("precondition-required"), "Precondition required", detail
        )


class ValidationProblem(ProblemError):
    """422: the input is invalid; ``errors`` lists ``{"location": [...], "message": ...}``."""

    def __init__(
        self, errors: Sequence[Mapping[str, Any]], detail: str = "The request is invalid."
    ) -> None:
        super().__init__(
            422,
            problem_type("validation"),
            "Validation failed",
            detail,
            errors=[dict(e) for e in errors],
        )


class ServiceUnavailable(ProblemError):
    """503: a dependency (database, NATS, identity provider) is unreachable; nothing was written."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            503,
            problem_type("service-unavailable"),
            "Service unavailable",
            detail,
            headers={"Retry-After": "5"},
        )


_ETAG = re.compile(r'^\s*(?:W/)?"(\d+)"\s*$')


def etag_for(version: int, *, weak: bool = False) -> str:
    """The ETag of a resource at ``version``: ``"<n>"`` (or ``W/"<n>"`` when ``weak``)."""
    return f'W/"{version}"' if weak else f'"{version}"'


def parse_if_match(header: str | None) -> int:
    """The version an ``If-Match`` header names; 428 when absent, 400 when not one of our ETags."""
    if header is None or not header.strip():
        raise PreconditionRequired()
    match = _ETAG.match(header)
    if match is None:
        raise BadRequest(
            f"If-Match must be a single ETag such as '\"3\"', not {header!r}.",
        )
    return int(match.group(1))


async def _if_match_version(
    if_match: Annotated[
        str | None,
        Header(alias="If-Match", description='The ETag you last read, e.g. "3".'),
    ] = None,
) -> int:
    return parse_if_match(if_match)


IfMatchVersion = Annotated[int, Depends(_if_match_version)]
"""The version named by the request's ``If-Match`` header (428 when absent, 400 when malformed)."""


_ONE: Final = "(one)"
_MANY: Final = "(many)"


def _shape(value: Any) -> str:
    return _MANY if isinstance(value, list) else _ONE


def one_or_many(model: type[M]) -> Any:
    """The type of a body that is one ``model`` or a JSON array of them (a batch).

    Unlike ``model | list[model]``, the body's JSON type picks the alternative, so a fault is
    reported once, at its field (``["body", "child_id"]``, ``["body", "2", "child_id"]``),
    not once per alternative under pydantic's labels for them. The document gives
    ``oneOf [model, array of model]``.
    """
    return Annotated[
        Annotated[model, Tag(_ONE)] | Annotated[list[model], Tag(_MANY)],  # type: ignore[valid-type]
        Discriminator(_shape),
    ]


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "location": [str(part) for part in err.get("loc", ()) if part not in (_ONE, _MANY)],
            "message": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]


async def _on_problem(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, ProblemError)
    return exc.to_response(request.url.path)


async def _on_validation(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    return ValidationProblem(_validation_errors(exc)).to_response(request.url.path)


async def _on_http(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = _STATUS_TITLES.get(exc.status_code, "Error")
    slug = title.lower().replace(" ", "-")
    problem = ProblemError(
        exc.status_code,
        problem_type(slug),
        title,
        str(exc.detail) if exc.detail else None,
        headers=exc.headers,
    )
    return problem.to_response(request.url.path)


async def _on_concurrency(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, ConcurrencyError)
    return VersionConflict(exc.actual_version).to_response(request.url.path)


async def _on_unexpected(request: Request, exc: Exception) -> ProblemResponse:
    if is_database_outage(exc):
        _log.warning("database unavailable: %s", exc.__class__.__name__)
        problem: ProblemError = ServiceUnavailable(
            "The database is unavailable; nothing was written. Retry later."
        )
    else:
        _log.exception("unhandled error on %s %s", request.method, request.url.path)
        problem = ProblemError(
            500, problem_type("internal"), "Internal server error", "An unexpected error occurred."
        )
    return problem.to_response(request.url.path)


_STATUS_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    429: "Too many requests",
}


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error on ``app`` with problem+json."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(ConcurrencyError, _on_concurrency)
    # Database errors get their own handlers (not just the catch-all) so the response is
    # complete without the server re-raising them as crashes.
    for database_error in (sa_exc.DBAPIError, sa_exc.TimeoutError, ConnectionError):
        app.add_exception_handler(database_error, _on_unexpected)
    app.add_middleware(_UnexpectedErrors)


class _UnexpectedErrors:
    """Answers any other exception with a 500 problem.

    Why a middleware rather than ``add_exception_handler(Exception, ...)``: Starlette re-raises
    after calling such a handler, so every 500 would also be logged by the server as a crash.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise  # too late for a problem document: let the server close the response
            response = await _on_unexpected(Request(scope), exc)
            await response(scope, receive, send)
