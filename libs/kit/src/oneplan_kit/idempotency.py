"""Idempotent POSTs: an ``Idempotency-Key`` header makes a retried command harmless.

Every POST that runs through the kit's command dependency (:data:`oneplan_kit.commands.CommandDep`)
honours the header: the key is claimed in the command's own transaction, and
``Command.respond`` records the response in that same transaction before the one commit, so
the key and the command's effect commit together or not at all.

A retry with the same key by the same principal gets the first response back (status, body,
``Location``, ``ETag``; plus ``Idempotent-Replayed: true``) and writes nothing. The same key with a
different request is refused with 422. Without the header the command runs normally.

Keys are scoped to the caller: the ``principal`` column holds the SHA-256 (hex) of
``"<agency>:<sub>"``, so it is 64 characters however long the token's ``sub`` (rows written before
that change hold the plain ``"<agency>:<sub>"``; see :func:`principal_key`).

Keys are kept for ``ONEPLAN_IDEMPOTENCY_RETENTION`` (default 24 hours): :func:`keep_keys_within`
runs beside every service (a supervised job) and deletes older ones, so a retry after that runs
the command again. Partners must retry within the retention.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from fastapi import FastAPI, Request, Response
from sqlalchemy import CursorResult, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oneplan_events.uow import UnitOfWork
from oneplan_kit.auth import Principal
from oneplan_kit.errors import Conflict, ProblemError, ProblemResponse, problem_type
from oneplan_kit.runtime import get_runtime
from oneplan_kit.schema import IDEMPOTENCY_KEYS

__all__ = [
    "IDEMPOTENCY_HEADER",
    "IDEMPOTENCY_KEY_PATTERN",
    "REPLAYED_HEADER",
    "Idempotency",
    "claim",
    "delete_expired_keys",
    "install_idempotency_handlers",
    "keep_keys_within",
    "principal_key",
]

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_REPLAYED_HEADERS = ("location", "etag", "content-type")
_MAX_KEY_LENGTH = 255
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]{0,253}[!-~])?$"
"""A key: 1 to 255 printable ASCII characters, not starting or ending with a space (HTTP
would strip it); the OpenAPI document gives it as the header's pattern."""
_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
_MAX_PURGE_INTERVAL = timedelta(minutes=1)

_log = logging.getLogger("oneplan_kit.idempotency")


@dataclass(frozen=True, slots=True)
class _Stored:
    status_code: int
    headers: dict[str, str]
    body: bytes

    def to_response(self) -> Response:
        headers = {**self.headers, REPLAYED_HEADER: "true"}
        return Response(self.body, status_code=self.status_code, headers=headers)


class _Replay(Exception):
    """Short-circuits the endpoint: answer with the stored response."""

    def __init__(self, stored: _Stored) -> None:
        super().__init__("replayed idempotent request")
        self.stored = stored


class _Race(Exception):
    """Another request with the same key committed first; answer with its stored response."""

    def __init__(self, principal: str, key: str, fingerprint: str) -> None:
        super().__init__("concurrent idempotent request")
        self.principal = principal
        self.key = key
        self.fingerprint = fingerprint


def _reused() -> ProblemError:
    return ProblemError(
        422,
        problem_type("idempotency-key-reused"),
        "idempotency key reused with a different request",
        "This Idempotency-Key was already used for a different request; use a new key.",
    )


def _unfinished() -> ProblemError:
    return Conflict(
        "A request with this Idempotency-Key is in progress or did not record its response.",
        idempotency_key_state="unfinished",
    )


class Idempotency:
    """The idempotency state of one request; call :meth:`complete` before committing."""

    def __init__(self, key: str | None, principal: str = "", fingerprint: str = "") -> None:
        self.key = key
        self._principal = principal
        self._fingerprint = fingerprint

    async def complete(self, uow: UnitOfWork, response: Response) -> None:
        """Record ``response`` for this key in ``uow``'s transaction (no-op without a key)."""
        if self.key is None:
            return
        headers = {
            name: value
            for name, value in response.headers.items()
            if name.lower() in _REPLAYED_HEADERS
        }
        await uow.session.execute(
            update(IDEMPOTENCY_KEYS)
            .where(
                IDEMPOTENCY_KEYS.c.principal == self._principal,
                IDEMPOTENCY_KEYS.c.key == self.key,
            )
            .values(
                status_code=response.status_code,
                headers=headers,
                body=bytes(response.body),
                completed_at=datetime.now(UTC),
            )
        )


def principal_key(principal: Principal) -> str:
    """What the ``principal`` column holds for ``principal``: the SHA-256 of ``agency:sub``.

    Why a digest: it always fits the String(300) column, whatever the identity provider puts
    in ``sub``. A digest never contains ``:``, so it never equals a row stored before the
    change (those held ``agency:sub`` itself): such a row is simply never matched again and
    expires with the retention.
    """
    return hashlib.sha256(f"{principal.agency}:{principal.sub}".encode()).hexdigest()


async def _lookup(session: AsyncSession, principal: str, key: str) -> Any:
    result = await session.execute(
        select(IDEMPOTENCY_KEYS).where(
            IDEMPOTENCY_KEYS.c.principal == principal, IDEMPOTENCY_KEYS.c.key == key
        )
    )
    return result.one_or_none()


def _answer_for(row: Any, fingerprint: str) -> Exception:
    if row.fingerprint != fingerprint:
        return _reused()
    if row.status_code is None:
        return _unfinished()
    return _Replay(_Stored(row.status_code, dict(row.headers or {}), row.body or b""))


async def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.url.path.encode(), request.url.query.encode()):
        digest.update(part + b"\0")
    digest.update(await request.body())
    return digest.hexdigest()


async def claim(
    request: Request, uow: UnitOfWork, principal: Principal, key: str | None
) -> Idempotency:
    """The idempotency state of a command request, its key claimed in ``uow``'s transaction.

    Raises to short-circuit the command: the stored response of a completed request with the
    same key (replayed by the app's handler), 422 for the same key with another request, or a
    race with a concurrent duplicate (answered once that one has committed).
    """
    if key is None:
        return Idempotency(None)
    if not _KEY.fullmatch(key):
        raise ProblemError(
            422,
            problem_type("validation"),
            "Validation failed",
            f"{IDEMPOTENCY_HEADER} must be 1 to {_MAX_KEY_LENGTH} printable ASCII characters.",
            errors=[{"location": ["header", IDEMPOTENCY_HEADER], "message": "invalid key"}],
        )
    who = principal_key(principal)
    fingerprint = await _fingerprint(request)
    row = await _lookup(uow.session, who, key)
    if row is not None:
        raise _answer_for(row, fingerprint)
    try:
        # Why insert now (a placeholder): a concurrent duplicate blocks on this row or fails on
        # its key, instead of both requests executing the command.
        await uow.session.execute(
            insert(IDEMPOTENCY_KEYS).values(
                principal=who,
                key=key,
                fingerprint=fingerprint,
                method=request.method,
                path=request.url.path[:2000],
                created_at=datetime.now(UTC),
            )
        )
    except IntegrityError as exc:
        raise _Race(who, key, fingerprint) from exc
    return Idempotency(key, who, fingerprint)


async def _on_replay(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _Replay)
    return exc.stored.to_response()


async def _on_race(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _Race)
    runtime = get_runtime(request)
    async with runtime.sessionmaker() as session:
        row = await _lookup(session, exc.principal, exc.key)
    answer = _unfinished() if row is None else _answer_for(row, exc.fingerprint)
    if isinstance(answer, _Replay):
        return answer.stored.to_response()
    assert isinstance(answer, ProblemError)
    response: ProblemResponse = answer.to_response(request.url.path)
    return response


def install_idempotency_handlers(app: FastAPI) -> None:
    """Register the handlers that answer replays and concurrent duplicates."""
    app.add_exception_handler(_Replay, _on_replay)
    app.add_exception_handler(_Race, _on_race)


async def delete_expired_keys(
    sessionmaker: async_sessionmaker[AsyncSession],
    retention: timedelta,
    *,
    now: datetime | None = None,
) -> int:
    """Delete idempotency keys created more than ``retention`` ago; the number deleted."""
    cutoff = (now or datetime.now(UTC)) - retention
    async with sessionmaker() as session, session.begin():
        result = await session.execute(
            delete(IDEMPOTENCY_KEYS).where(IDEMPOTENCY_KEYS.c.created_at < cutoff)
        )
    # A DELETE's result is a CursorResult; Session.execute is typed for any statement.
    return cast("CursorResult[Any]", result).rowcount


async def keep_keys_within(
    sessionmaker: async_sessionmaker[AsyncSession],
    retention: timedelta,
    stopping: asyncio.Event | None = None,
) -> None:
    """Until ``stopping`` is set: delete expired keys once a minute (or every quarter
    retention).

    Why a background task and not a delete inside commands: a command's transaction stays as
    short as before, and an idle service still forgets its keys. Several instances of a service
    may all run it; the deletes are idempotent. A failed round (database down) is logged and
    retried at the next one.
    """
    interval = min(_MAX_PURGE_INTERVAL, retention / 4).total_seconds()
    stopping = stopping or asyncio.Event()
    while not stopping.is_set():
        try:
            deleted = await delete_expired_keys(sessionmaker, retention)
        except Exception:
            _log.warning("deleting expired idempotency keys failed; will retry", exc_info=True)
        else:
            if deleted:
                _log.info("deleted %d expired idempotency keys", deleted)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), interval)
