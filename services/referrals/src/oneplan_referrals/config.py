"""Settings of the referrals service.

Environment variables prefixed `REFERRALS_`, and the shared `ONEPLAN_*` ones.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from oneplan_kit.config import ServiceSettings

__all__ = ["ReferralsSettings"]


class ReferralsSettings(ServiceSettings):
    """`REFERRALS_DATABASE_URL`, `REFERRALS_DIRECTORY_CSV` and the shared `ONEPLAN_*`
    settings."""

    model_config = SettingsConfigDict(env_prefix="REFERRALS_")

    directory_csv: Path | None = None
    """The directory of services (CSV, `oneplan_referrals.domain.directory.CSV_COLUMNS`);
    unset: the synthetic directory shipped with the service."""
