"""Alembic per service, configured in code (no ``alembic.ini``), on PostgreSQL and SQLite.

A service keeps only its migration *versions* (``oneplan_children/migrations/versions/``); the
kit supplies the Alembic environment (``oneplan_kit/alembic/env.py``, the ``script.py.mako``
template) and its own ``backbone`` branch (``oneplan_kit/backbone_migrations/``): the tables of
the libraries (event store, outbox, consumer positions, idempotency keys...). Every service
database runs both, so when the libraries need a new table no service edits a migration.

``upgrade`` runs the migrations on an engine's connection (the lifespan does this at start; the
``oneplan migrate`` command does it on demand); ``current_is_head`` tells readiness whether the
database is at the newest revision of both branches.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from oneplan_kit.db import create_engine, is_sqlite

__all__ = [
    "alembic_config",
    "current_is_head",
    "ensure_database",
    "head_revisions",
    "run_env",
    "upgrade",
]

Migrations = str | Path
"""``"oneplan_children:migrations"`` (a package folder holding ``versions/``) or a path to it."""

KIT_ENVIRONMENT = Path(__file__).parent / "alembic"
BACKBONE_VERSIONS = Path(__file__).parent / "backbone_migrations"


def versions_folder(migrations: Migrations) -> Path:
    """The folder of a service's migration versions."""
    if isinstance(migrations, Path):
        folder = migrations
    else:
        package, _, sub = migrations.partition(":")
        if not sub:
            folder = Path(package)
        else:
            folder = Path(str(importlib.resources.files(package).joinpath(sub)))
    versions = folder / "versions"
    return versions if versions.is_dir() else folder


def alembic_config(
    migrations: Migrations,
    database_url: str | None = None,
    target_metadata: MetaData | Sequence[MetaData] | None = None,
) -> Config:
    """An Alembic ``Config`` for a service: the kit's environment, the backbone branch and the
    service's versions, without any ini file."""
    config = Config()
    config.set_main_option("script_location", str(KIT_ENVIRONMENT))
    config.set_main_option(
        "version_locations", f"{BACKBONE_VERSIONS} {versions_folder(migrations)}"
    )
    config.set_main_option("path_separator", "space")
    config.attributes["target_metadata"] = _with_libraries(target_metadata)
    if database_url is not None:
        # Why escape %: Config values go through ConfigParser interpolation.
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _with_libraries(target: MetaData | Sequence[MetaData] | None) -> list[MetaData]:
    from oneplan_events.schema import BACKBONE_METADATA
    from oneplan_kit.schema import KIT_METADATA

    own = [] if target is None else [target] if isinstance(target, MetaData) else list(target)
    return [BACKBONE_METADATA, KIT_METADATA, *own]


def head_revisions(migrations: Migrations) -> set[str]:
    """The head revision(s) of the migrations folder."""
    return set(ScriptDirectory.from_config(alembic_config(migrations)).get_heads())


async def upgrade(
    migrations: Migrations, database: AsyncEngine | str, revision: str = "heads"
) -> None:
    """Apply the migrations up to ``revision`` (default: the head of every branch) on
    ``database`` (an engine or an async URL)."""
    engine = create_engine(database) if isinstance(database, str) else database
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_on, alembic_config(migrations), revision)
    finally:
        if isinstance(database, str):
            await engine.dispose()


_MIGRATION_LOCK = 0x0_0E_91A4  # any constant: one advisory lock for "migrating this database"


def _upgrade_on(connection: Connection, config: Config, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        # Why: several instances of a service may start at once; one migrates, the others wait
        # and then find the database at head. (SQLite's BEGIN IMMEDIATE serialises already.)
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def current_is_head(migrations: Migrations, engine: AsyncEngine) -> bool:
    """True when the database's revision is the migrations folder's head."""
    heads = head_revisions(migrations)
    async with engine.connect() as conn:
        current = await conn.run_sync(
            lambda sync: set(MigrationContext.configure(sync).get_current_heads())
        )
    return current == heads


async def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` when it does not exist yet.

    SQLite needs nothing (the engine creates the file's directory). The check runs first, so a
    production role without ``CREATEDB`` is fine as long as its database exists.
    """
    if is_sqlite(url):
        return
    parsed = make_url(url)
    name = parsed.database
    if not name:
        raise ValueError(f"the database URL names no database: {parsed!r}")
    conn = await asyncpg.connect(
        user=parsed.username,
        password=parsed.password,
        host=parsed.host,
        port=parsed.port,
        database="postgres",
    )
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            quoted = '"' + name.replace('"', '""') + '"'
            # Another instance of the service may create it first: that is what we wanted.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f"CREATE DATABASE {quoted}")
    finally:
        await conn.close()


def run_env(target_metadata: MetaData | Sequence[MetaData] | None = None) -> None:
    """The body of a service's ``migrations/env.py``.

    Uses the connection :func:`upgrade` hands over; otherwise (plain ``alembic`` command line)
    opens its own engine from ``sqlalchemy.url``. SQLite runs in batch mode so ``ALTER`` works.
    """
    if context.is_offline_mode():
        url = context.config.get_main_option("sqlalchemy.url")
        context.configure(
            url=url,
            target_metadata=target_metadata,
            literal_binds=True,
            render_as_batch=bool(url and is_sqlite(url)),
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run_on(connection, target_metadata)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection handed over and no sqlalchemy.url configured")
    asyncio.run(_run_with_own_engine(url, target_metadata))


def _run_on(connection: Connection, target_metadata: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str, target_metadata: Any) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run_on, target_metadata)
    finally:
        await engine.dispose()
