"""A tiny service built with the kit, and fixtures that run it against real NATS and databases.

The service has its own catalogue (so the shared ``CATALOGUE`` stays exactly the contract), its
own migrations folder beside this file, and its own NATS server for the run (so its ``KITTEST``
stream never meets another package's streams).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy.exc import OperationalError

from oneplan_events.catalogue import Catalogue, DataClass, Event
from oneplan_events.decider import Aggregate
from oneplan_kit import (
    Authenticated,
    CommandDep,
    IfMatchVersion,
    NotFound,
    Practitioner,
    Public,
    ReadDep,
    Runtime,
    SendStaff,
    ServiceDefinition,
    ServiceSettings,
    create_app,
    issue_dev_token,
)

KIT_CATALOGUE = Catalogue("kittest")
MIGRATIONS = Path(__file__).parent / "kit_migrations"


@KIT_CATALOGUE.register(
    "oneplan.kittest.widget.created", DataClass.EDUCATION, summary="A widget was created."
)
class WidgetCreated(Event):
    widget_id: UUID
    name: str
    size: int


@KIT_CATALOGUE.register(
    "oneplan.kittest.widget.renamed", DataClass.EDUCATION, summary="A widget was renamed."
)
class WidgetRenamed(Event):
    widget_id: UUID
    name: str


class KitSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KITTEST_")


class CreateWidget(BaseModel):
    name: str = Field(min_length=1, max_length=50)
    size: int = Field(ge=1)


class RenameWidget(BaseModel):
    name: str = Field(min_length=1, max_length=50)


class WidgetMissing(Exception):
    """A command on a widget that was never created."""


@dataclasses.dataclass(frozen=True)
class Widget:
    widget_id: UUID
    name: str


@dataclasses.dataclass(frozen=True)
class Create:
    widget_id: UUID
    body: CreateWidget


@dataclasses.dataclass(frozen=True)
class Rename:
    body: RenameWidget


class WidgetDecider:
    """A widget: created once, renamed any number of times."""

    stream_prefix = "widget"

    def initial_state(self) -> Widget | None:
        return None

    def decide(self, state: Widget | None, command: Create | Rename, now: Any) -> list[Event]:
        if isinstance(command, Create):
            return [WidgetCreated(widget_id=command.widget_id, **command.body.model_dump())]
        if state is None:
            raise WidgetMissing("no such widget")
        return [WidgetRenamed(widget_id=state.widget_id, name=command.body.name)]

    def evolve(self, state: Widget | None, event: Event) -> Widget | None:
        assert isinstance(event, WidgetCreated | WidgetRenamed)
        return Widget(event.widget_id, event.name)


WIDGETS: Aggregate[Widget | None, Create | Rename] = Aggregate(WidgetDecider())
router = APIRouter()


@router.post("/widgets", status_code=201)
async def create_widget(body: CreateWidget, caller: Practitioner, cmd: CommandDep) -> Response:
    widget_id = uuid4()
    outcome = await cmd.execute(WIDGETS, widget_id, Create(widget_id, body))
    return await cmd.respond(
        {"widget_id": str(widget_id), "version": outcome.version},
        status_code=201,
        version=outcome.version,
        location=f"/widgets/{widget_id}",
    )


@router.put("/widgets/{widget_id}")
async def rename_widget(
    widget_id: UUID,
    body: RenameWidget,
    expected: IfMatchVersion,
    caller: SendStaff,
    cmd: CommandDep,
) -> Response:
    outcome = await cmd.execute(WIDGETS, widget_id, Rename(body), expected_version=expected)
    return await cmd.respond({"version": outcome.version}, version=outcome.version)


@router.get("/widgets/{widget_id}")
async def get_widget(widget_id: UUID, caller: Practitioner, uow: ReadDep) -> JSONResponse:
    widget, version = await uow.load(WIDGETS, widget_id)
    if widget is None:
        raise NotFound(f"No widget {widget_id}.")
    return JSONResponse({"name": widget.name, "version": version}, headers={"ETag": f'"{version}"'})


@router.get("/whoami")
async def whoami(principal: Authenticated) -> dict[str, Any]:
    return {
        "sub": principal.sub,
        "agency": principal.agency,
        "roles": sorted(principal.roles),
        "children": sorted(str(c) for c in principal.children),
    }


@router.get("/boom")
async def boom(_: Public) -> None:
    raise RuntimeError("secret internals: password=hunter2")


@router.get("/database-down")
async def database_down(_: Public) -> None:
    raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))


DEFINITION = ServiceDefinition(
    name="kittest",
    title="Kit test service",
    port=8999,
    catalogue=KIT_CATALOGUE,
    migrations=MIGRATIONS,
    routers=[router],
    settings_cls=KitSettings,
    errors={WidgetMissing: lambda error: NotFound(str(error))},
)


@dataclasses.dataclass
class RunningService:
    """A started app, a client on it, and a way to mint tokens it accepts."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: KitSettings

    @property
    def runtime(self) -> Runtime:
        runtime = self.app.state.runtime
        assert isinstance(runtime, Runtime)
        return runtime

    def token(
        self, agency: str = "send", roles: Iterable[str] = ("caseworker",), **kwargs: Any
    ) -> str:
        return issue_dev_token(self.settings, agency, roles, **kwargs)

    def auth(self, agency: str = "send", roles: Iterable[str] = ("caseworker",)) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(agency, roles)}"}


@pytest.fixture(scope="session")
def kit_nats(nats_server_factory: Callable[..., Any]) -> str:
    """A NATS server of the kit's own for the run."""
    url: str = nats_server_factory().url
    return url


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys") / "dev-signing-key.pem"


@pytest.fixture
def make_settings(signing_key: Path, tmp_path: Path) -> Callable[..., KitSettings]:
    def make(database_url: str, nats_url: str, **overrides: Any) -> KitSettings:
        values: dict[str, Any] = {
            "env": "development",
            "database_url": database_url,
            "nats_url": nats_url,
            "dev_signing_key": signing_key,
            "var_dir": tmp_path / "var",
            "nats_connect_timeout": 5.0,
            "nats_reconnect_wait": 0.2,
            "shutdown_timeout": 5.0,
        }
        values.update(overrides)
        return KitSettings(**values)

    return make


@contextlib.asynccontextmanager
async def serve(
    settings: KitSettings, definition: ServiceDefinition = DEFINITION, **options: Any
) -> AsyncIterator[RunningService]:
    """Run the app's lifespan and give a client on it (``options``: create_app's, e.g. a
    clock).

    The transport re-raises anything the app lets escape: every error must become a response.
    """
    app = create_app(definition, settings, **options)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kit.test") as client:
            yield RunningService(app, client, settings)


@pytest.fixture
async def service(
    database_url: str, kit_nats: str, make_settings: Callable[..., KitSettings]
) -> AsyncIterator[RunningService]:
    """The test service on each database dialect."""
    async with serve(make_settings(database_url, kit_nats)) as running:
        yield running


@pytest.fixture
async def sqlite_service(
    sqlite_url: str, kit_nats: str, make_settings: Callable[..., KitSettings]
) -> AsyncIterator[RunningService]:
    """The test service on SQLite only (for tests where the dialect does not matter)."""
    async with serve(make_settings(sqlite_url, kit_nats)) as running:
        yield running


@pytest.fixture
def serve_service() -> Callable[..., contextlib.AbstractAsyncContextManager[RunningService]]:
    """``serve(settings)`` for tests that need their own settings (e.g. their own NATS)."""
    return serve


@pytest.fixture
def kit_definition() -> ServiceDefinition:
    """The test service's definition (tests derive variants with ``dataclasses.replace``)."""
    return DEFINITION
