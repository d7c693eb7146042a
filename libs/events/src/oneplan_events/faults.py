"""Telling an outage (retry later, nobody's fault) from a failure (this input cannot work)."""

from __future__ import annotations

from typing import Final

from sqlalchemy import exc as sa_exc

__all__ = ["is_database_outage"]

# SQLSTATE classes meaning "the database is not there for us": connection exception,
# insufficient resources (too many connections), operator intervention (shutdown, restart).
_OUTAGE_SQLSTATES: Final = ("08", "53", "57P")
# SQLite reports every engine error as OperationalError; only these mean "try again".
_SQLITE_TRANSIENT: Final = ("database is locked", "disk i/o error", "unable to open database")


def is_database_outage(error: BaseException) -> bool:
    """True when ``error`` says the database is unreachable or going away, not that the
    statement was wrong: the work should be retried, and counts against nobody."""
    if isinstance(error, sa_exc.DBAPIError):
        if _is_sqlite(error):
            return any(text in str(error.orig).lower() for text in _SQLITE_TRANSIENT)
        if error.connection_invalidated or isinstance(
            error, sa_exc.OperationalError | sa_exc.InterfaceError
        ):
            return True
        if error.statement is None:
            return True  # raised while connecting, before any statement ran
        code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        return isinstance(code, str) and code.startswith(_OUTAGE_SQLSTATES)
    return isinstance(error, sa_exc.TimeoutError | ConnectionError | OSError)


def _is_sqlite(error: sa_exc.DBAPIError) -> bool:
    return type(error.orig).__module__.startswith("sqlite3")
