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
from typing import Annotated, Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy.exc import OperationalError

from oneplan_events.catalogue import Catalogue, DataClass, Event
from oneplan_events.streams import StreamSpec
from oneplan_kit import (
    CurrentPrincipal,
    IdempotencyDep,
    IfMatchVersion,
    NotFound,
    Principal,
    Runtime,
    ServiceDefinition,
    ServiceSettings,
    UnitOfWorkDep,
    create_app,
    etag_for,
    issue_dev_token,
    require_roles,
)

KIT_CATALOGUE = Catalogue()
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


Caseworker = Annotated[Principal, Depends(require_roles("caseworker", "manager"))]
router = APIRouter()


def _widget_stream(widget_id: UUID) -> str:
    return f"widget/{widget_id}"


@router.post("/widgets", status_code=201)
async def create_widget(
    body: CreateWidget, uow: UnitOfWorkDep, idem: IdempotencyDep, _who: Caseworker
) -> JSONResponse:
    widget_id = uuid4()
    event = WidgetCreated(widget_id=widget_id, name=body.name, size=body.size)
    recorded = await uow.append(_widget_stream(widget_id), 0, [event])
    version = recorded[-1].version
    response = JSONResponse(
        {"widget_id": str(widget_id), "version": version},
        status_code=201,
        headers={"Location": f"/widgets/{widget_id}", "ETag": etag_for(version)},
    )
    await idem.complete(uow, response)
    await uow.commit()
    return response


@router.put("/widgets/{widget_id}")
async def rename_widget(
    widget_id: UUID,
    body: RenameWidget,
    expected: IfMatchVersion,
    uow: UnitOfWorkDep,
    _who: Caseworker,
) -> JSONResponse:
    stream_id = _widget_stream(widget_id)
    if await uow.stream_version(stream_id) == 0:
        raise NotFound(f"No widget {widget_id}.")
    recorded = await uow.append(
        stream_id, expected, [WidgetRenamed(widget_id=widget_id, name=body.name)]
    )
    await uow.commit()
    version = recorded[-1].version
    return JSONResponse({"version": version}, headers={"ETag": etag_for(version)})


@router.get("/widgets/{widget_id}")
async def get_widget(widget_id: UUID, uow: UnitOfWorkDep, _who: CurrentPrincipal) -> JSONResponse:
    events = await uow.read_stream(_widget_stream(widget_id))
    if not events:
        raise NotFound(f"No widget {widget_id}.")
    name = next(
        e.event.name for e in reversed(events) if isinstance(e.event, WidgetCreated | WidgetRenamed)
    )
    version = events[-1].version
    return JSONResponse({"name": name, "version": version}, headers={"ETag": etag_for(version)})


@router.get("/whoami")
async def whoami(principal: CurrentPrincipal) -> dict[str, Any]:
    return {
        "sub": principal.sub,
        "agency": principal.agency,
        "roles": sorted(principal.roles),
        "children": sorted(str(c) for c in principal.children),
    }


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internals: password=hunter2")


@router.get("/database-down")
async def database_down() -> None:
    raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))


DEFINITION = ServiceDefinition(
    name="kittest",
    title="Kit test service",
    port=8999,
    stream=StreamSpec(name="KITTEST", subjects=["oneplan.kittest.>"]),
    migrations=MIGRATIONS,
    routers=[router],
    settings_cls=KitSettings,
    catalogue=KIT_CATALOGUE,
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
    settings: KitSettings, definition: ServiceDefinition = DEFINITION
) -> AsyncIterator[RunningService]:
    """Run the app's lifespan and give a client on it.

    The transport re-raises anything the app lets escape: every error must become a response.
    """
    app = create_app(definition, settings)
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
