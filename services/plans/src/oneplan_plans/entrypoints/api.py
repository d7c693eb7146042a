"""ASGI entrypoint: `uvicorn oneplan_plans.entrypoints.api:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI

from oneplan_kit import create_app as create_service_app
from oneplan_plans.bootstrap import SERVICE
from oneplan_plans.config import PlansSettings

__all__ = ["create_app"]


def create_app(settings: PlansSettings | None = None) -> FastAPI:
    """The plans app (its lifespan starts the database, NATS and the replica)."""
    return create_service_app(SERVICE, settings)
