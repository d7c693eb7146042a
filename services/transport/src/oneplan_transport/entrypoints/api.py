"""ASGI entrypoint: `uvicorn oneplan_transport.entrypoints.api:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI

from oneplan_kit import create_app as create_service_app
from oneplan_transport.bootstrap import SERVICE
from oneplan_transport.config import TransportSettings

__all__ = ["create_app"]


def create_app(settings: TransportSettings | None = None) -> FastAPI:
    """The transport app (its lifespan starts the database, NATS and the replica)."""
    return create_service_app(SERVICE, settings)
