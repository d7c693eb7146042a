"""The consent service's ASGI app.

`uvicorn oneplan_consent.entrypoints.api:create_app --factory`
"""

from __future__ import annotations

from fastapi import FastAPI

from oneplan_consent.bootstrap import bootstrap
from oneplan_consent.config import ConsentSettings

__all__ = ["create_app"]


def create_app(settings: ConsentSettings | None = None) -> FastAPI:
    """The consent service (settings from the environment unless given)."""
    return bootstrap(settings)
