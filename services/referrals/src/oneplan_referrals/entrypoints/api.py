"""ASGI entrypoint: `uvicorn oneplan_referrals.entrypoints.api:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI

from oneplan_kit import create_app as create_service_app
from oneplan_referrals.bootstrap import SERVICE
from oneplan_referrals.config import ReferralsSettings

__all__ = ["create_app"]


def create_app(settings: ReferralsSettings | None = None) -> FastAPI:
    """The referrals app (its lifespan starts the database, NATS and the replica)."""
    return create_service_app(SERVICE, settings)
