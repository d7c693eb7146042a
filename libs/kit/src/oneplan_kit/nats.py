"""The NATS connection every service opens: its own user and reply inbox, reconnecting forever.

The server's asynchronous errors are logged naming the service's connection: a permissions
violation (the server refused a subject to this service's user) is an ERROR, because it means
the deployed ``accounts.conf`` and the code disagree (regenerate it: ``./oneplan generate``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import nats
from nats.aio.client import Client as NATS

from oneplan_kit.config import ServiceSettings

__all__ = ["connect_nats", "inbox_prefix_for", "is_permissions_violation", "redacted"]

_log = logging.getLogger("oneplan_kit.nats")
_SUBJECT_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


def redacted(url: str) -> str:
    """``url`` (or a comma-separated list) without passwords, which a URL may carry."""
    return ",".join(_redacted_one(one.strip()) for one in url.split(","))


def _redacted_one(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def is_permissions_violation(error: BaseException) -> bool:
    """True for the server's "permissions violation" error (nats-py reports it to error_cb)."""
    return "permissions violation" in str(error).lower()


def inbox_prefix_for(service: str) -> str:
    """The reply-inbox prefix of ``service``'s NATS connections: ``_INBOX_<service>``.

    Why not the shared ``_INBOX``: JetStream delivers pulled messages and API replies to the
    client's inboxes, and ``deploy/nats/accounts.conf`` lets each service user subscribe only to
    its own ``_INBOX_<service>.>``, so no service can read another's deliveries.
    """
    if not _SUBJECT_TOKEN.match(service):
        raise ValueError(f"a service name must be a plain subject token, not {service!r}")
    return f"_INBOX_{service}"


async def connect_nats(
    settings: ServiceSettings,
    service: str,
    *,
    on_reconnect: Callable[[], Awaitable[None] | None] = lambda: None,
) -> NATS:
    """Connect to ``settings.nats_servers``, trying for ``nats_connect_timeout`` seconds, as
    ``settings.nats_user`` when set (else as the URL's user, if it names one).

    Once connected the client reconnects forever; disconnections and reconnections are logged.
    Replies and JetStream deliveries arrive under :func:`inbox_prefix_for` ``(service)``.
    """

    client = NATS()
    hooks: set[asyncio.Task[None]] = set()
    connection = f"oneplan-{service}"

    async def error_cb(exc: Exception) -> None:
        if is_permissions_violation(exc):
            _log.error(
                "NATS refused %s: %s (the deployed accounts.conf does not permit what the "
                "service does: regenerate it with ./oneplan generate and restart NATS)",
                connection,
                exc,
                extra={"nats_connection": connection},
            )
        else:
            _log.warning("NATS error on %s: %s", connection, exc)

    async def disconnected_cb() -> None:
        if client.is_draining or client.is_closed:
            _log.info("NATS disconnected (shutting down)")
        else:
            _log.warning("NATS disconnected; reconnecting")

    async def after_reconnect(pending: Awaitable[None]) -> None:
        try:
            await pending
        except Exception:
            _log.warning("the reconnect hook failed", exc_info=True)

    async def reconnected_cb() -> None:
        _log.info("NATS reconnected")
        pending = on_reconnect()
        if pending is not None:
            # Run beside the client's reconnect loop, never inside it: the hook makes requests
            # that need that loop to have finished.
            task = asyncio.create_task(after_reconnect(pending))
            hooks.add(task)
            task.add_done_callback(hooks.discard)

    async def closed_cb() -> None:
        _log.info("NATS connection closed")

    password = settings.nats_password
    try:
        # Why wait_for: with max_reconnect_attempts=-1 the first connect also retries forever.
        await asyncio.wait_for(
            client.connect(
                servers=settings.nats_servers,
                user=settings.nats_user,
                password=password.get_secret_value() if password is not None else None,
                name=connection,
                inbox_prefix=inbox_prefix_for(service),
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                # nats-py annotates int but sleeps on the value; sub-second waits work.
                reconnect_time_wait=settings.nats_reconnect_wait,  # type: ignore[arg-type]
                connect_timeout=2,
                error_cb=error_cb,
                disconnected_cb=disconnected_cb,
                reconnected_cb=reconnected_cb,
                closed_cb=closed_cb,
            ),
            settings.nats_connect_timeout,
        )
    except (TimeoutError, OSError, nats.errors.Error) as exc:
        with contextlib.suppress(Exception):
            await client.close()
        raise RuntimeError(
            f"cannot connect to NATS at {redacted(settings.nats_url)}{_as_user(settings)} "
            f"(tried for {settings.nats_connect_timeout}s): {exc!r}"
        ) from exc
    return client


def _as_user(settings: ServiceSettings) -> str:
    return f" as user {settings.nats_user}" if settings.nats_user is not None else ""
