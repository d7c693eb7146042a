"""ASGI entrypoint: `uvicorn oneplan_children.entrypoints.api:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI

from oneplan_children.bootstrap import SERVICE
from oneplan_children.config import ChildrenSettings
from oneplan_kit import create_app as create_service_app

__all__ = ["create_app"]


def create_app(settings: ChildrenSettings | None = None) -> FastAPI:
    """The children service's FastAPI app (its lifespan starts database, NATS and replica)."""
    return create_service_app(SERVICE, settings)
