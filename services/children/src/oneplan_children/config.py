"""Settings of the children service (environment variables prefixed `CHILDREN_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from oneplan_kit.config import ServiceSettings

__all__ = ["ChildrenSettings"]


class ChildrenSettings(ServiceSettings):
    """`CHILDREN_DATABASE_URL` and the shared `ONEPLAN_*` settings."""

    model_config = SettingsConfigDict(env_prefix="CHILDREN_")
