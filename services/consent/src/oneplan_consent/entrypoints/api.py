"""ASGI entrypoint: `uvicorn oneplan_consent.entrypoints.api:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI

from oneplan_consent.bootstrap import SERVICE
from oneplan_consent.config import ConsentSettings
from oneplan_kit import create_app as create_service_app

__all__ = ["create_app"]


def create_app(settings: ConsentSettings | None = None) -> FastAPI:
    """The consent service (settings from the environment unless given)."""
    return create_service_app(SERVICE, settings)
