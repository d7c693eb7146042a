"""Settings of the consent service (`CONSENT_*`; shared ones are `ONEPLAN_*`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from oneplan_events.vocabulary import KNOWN_AGENCIES
from oneplan_kit import ServiceSettings

__all__ = ["ConsentSettings"]


class ConsentSettings(ServiceSettings):
    """`CONSENT_DATABASE_URL` names the database; `CONSENT_EXTRA_AGENCIES` adds integrators."""

    model_config = SettingsConfigDict(env_prefix="CONSENT_")

    extra_agencies: list[str] = Field(
        default_factory=list,
        description="Integrators' agency names consents may name, beside the built-in ones "
        '(JSON list, e.g. ["educational_psychology"]).',
    )
    expiry_interval: float = Field(
        default=30.0, gt=0, description="Seconds between checks for consents due to expire."
    )

    @property
    def known_agencies(self) -> frozenset[str]:
        """Agencies a consent, override or decision may name."""
        return KNOWN_AGENCIES | frozenset(self.extra_agencies)
