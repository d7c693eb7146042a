"""Settings of the plans service.

Environment variables prefixed `PLANS_`, and the shared `ONEPLAN_*` ones.
"""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from oneplan_kit.config import ServiceSettings

__all__ = ["PlansSettings"]


class PlansSettings(ServiceSettings):
    """`PLANS_DATABASE_URL` and the shared `ONEPLAN_*` settings."""

    model_config = SettingsConfigDict(env_prefix="PLANS_")
