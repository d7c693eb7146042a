"""Settings of the transport service.

Environment variables prefixed `TRANSPORT_`, and the shared `ONEPLAN_*` ones.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from oneplan_kit.config import ServiceSettings

__all__ = ["TransportSettings"]


class TransportSettings(ServiceSettings):
    """`TRANSPORT_DATABASE_URL`, `TRANSPORT_DECISION_TARGET_WORKING_DAYS` and the shared
    `ONEPLAN_*` settings."""

    model_config = SettingsConfigDict(env_prefix="TRANSPORT_")

    decision_target_working_days: int = Field(
        default=10,
        ge=1,
        le=100,
        description="The authority's target for an eligibility decision, in working days "
        "from the plan's issue (England's bank holidays excluded).",
    )
