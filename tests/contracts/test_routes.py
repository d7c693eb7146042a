"""Every route of every installed service declares who may call it, and documents what the
kit answers: a route without a declared caller would not even start (create_app refuses it);
this walks them all as an integrator's client generator would read them."""

from __future__ import annotations

import re

import httpx
import pytest

from oneplan_kit import create_app
from oneplan_kit.access import declared_access, undeclared_routes
from oneplan_kit.routing import api_routes, dependency_calls
from oneplan_kit.service import installed_services

SERVICES = installed_services()


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_route_declares_its_caller(name: str, tmp_path: object) -> None:
    definition = SERVICES[name]
    app = create_app(definition, definition.settings_cls(var_dir=tmp_path))
    routes = api_routes(app.routes)
    assert routes, f"{name} has no routes"
    assert undeclared_routes(app.routes) == []
    for route in routes:
        policies = [
            call.__oneplan_access__
            for call in dependency_calls(route.dependant)
            if declared_access(call)
        ]
        assert policies, f"{route.methods} {route.path}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_authenticated_operation_documents_its_problems(name: str, tmp_path: object) -> None:
    definition = SERVICES[name]
    document = create_app(definition, definition.settings_cls(var_dir=tmp_path)).openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "503" in responses, (method, path)
            if operation.get("security"):
                assert {"401", "403"} <= set(responses), (method, path)
            for code, response in responses.items():
                # /readyz answers 503 with its checks (the body orchestrators read), and its
                # document says so; every other error is a problem document.
                if path == "/readyz" and code == "503":
                    assert "Readiness" in str(response["content"]), response
                    continue
                if code.startswith(("4", "5")):
                    assert "application/problem+json" in response["content"], (method, path, code)
    assert "HTTPValidationError" not in document["components"]["schemas"]


@pytest.mark.parametrize("name", sorted(SERVICES))
async def test_docs_load_nothing_from_the_internet(name: str, tmp_path: object) -> None:
    definition = SERVICES[name]
    app = create_app(definition, definition.settings_cls(var_dir=tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        page = await client.get("/docs")
        assert page.status_code == 200
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
        assert assets, "the page loads no assets?"
        for asset in assets:
            assert asset.startswith("/"), f"{asset} is not served by the service itself"
            assert (await client.get(asset)).status_code == 200, asset
