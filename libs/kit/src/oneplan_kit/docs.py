"""``/docs``: Swagger UI served from the service itself, so it works without internet.

Councils' networks often block CDNs, and FastAPI's default page loads Swagger UI from one.
The assets come from the ``swagger-ui-bundle-v2`` package (Swagger UI 5, which renders the
OpenAPI 3.1 documents FastAPI writes) and are served under ``/docs/assets``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from oneplan_kit.access import Public

__all__ = ["DOCS_ASSETS", "install_docs", "swagger_ui_directory"]

DOCS_ASSETS: Final = "/docs/assets"


def swagger_ui_directory() -> Path:
    """The folder holding the packaged Swagger UI distribution."""
    vendor = Path(swagger_ui_bundle.__file__).parent / "vendor"
    found = sorted(vendor.glob("swagger-ui-*"))
    if not found:
        raise RuntimeError(f"no Swagger UI distribution under {vendor}")
    return found[-1]


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` and its assets from the app (no request leaves the service)."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=swagger_ui_directory()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs(_: Public) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API documentation",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )
