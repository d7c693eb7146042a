"""Service settings: a per-service prefix plus the shared ``ONEPLAN_*`` variables.

Each service subclasses :class:`ServiceSettings` and sets its own ``env_prefix``::

    class ChildrenSettings(ServiceSettings):
        model_config = SettingsConfigDict(env_prefix="CHILDREN_")

``CHILDREN_DATABASE_URL`` then names that service's database, while every service reads the same
``ONEPLAN_NATS_URL``, ``ONEPLAN_ENV`` and so on.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from oneplan_events.consumer import ConsumerTiming

__all__ = ["DevelopmentKeyOutsideDevelopment", "ServiceSettings"]


def _shared(name: str) -> Any:
    """Read a field from the shared ``ONEPLAN_<NAME>`` variable only (code may still pass it
    by its field name: ``populate_by_name``). Why not the bare field name too: it would make
    ``NATS_URL``, which the test suite reads, the NATS of every service started beside it."""
    return AliasChoices(f"ONEPLAN_{name}")


class DevelopmentKeyOutsideDevelopment(ValueError):
    """Raised when a non-development environment would sign or accept tokens with the dev key."""


class ServiceSettings(BaseSettings):
    """Settings every OnePlan service shares; subclass per service with its own ``env_prefix``.

    Shared variables (no per-service prefix): ``ONEPLAN_ENV``, ``ONEPLAN_NATS_URL``,
    ``ONEPLAN_OTLP_ENDPOINT``, ``ONEPLAN_STREAM_REPLICAS``, ``ONEPLAN_DUPLICATE_WINDOW``,
    ``ONEPLAN_IDEMPOTENCY_RETENTION``,
    ``ONEPLAN_JWT_ISSUER``, ``ONEPLAN_JWT_AUDIENCE``, ``ONEPLAN_JWKS_URL``,
    ``ONEPLAN_DEV_SIGNING_KEY``, ``ONEPLAN_VAR_DIR``, ``ONEPLAN_LOG_LEVEL``,
    ``ONEPLAN_NATS_USER``, ``ONEPLAN_NATS_PASSWORD``.
    Per service (prefixed): ``<PREFIX>DATABASE_URL``. Each service's container sets the shared
    ones to its own values where they differ: ``ONEPLAN_NATS_USER`` and ``ONEPLAN_NATS_PASSWORD``
    are the service's own NATS credentials.
    """

    model_config = SettingsConfigDict(
        env_prefix="",
        extra="ignore",
        populate_by_name=True,
        validate_default=True,
    )

    env: str = Field(
        default="development",
        validation_alias=_shared("ENV"),
        description="'development' allows the local signing key; anything else needs a JWKS URL.",
    )
    var_dir: Path = Field(
        default=Path("./var"),
        validation_alias=_shared("VAR_DIR"),
        description="Where embedded-mode data lives (SQLite files, the dev signing key).",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; default sqlite+aiosqlite:///<var_dir>/<service>.db.",
    )
    nats_url: str = Field(
        default="nats://127.0.0.1:4222",
        validation_alias=_shared("NATS_URL"),
        description="The NATS server, or a cluster's servers separated by commas.",
    )
    nats_user: str | None = Field(
        default=None,
        validation_alias=_shared("NATS_USER"),
        description="This service's NATS user (deploy/nats/accounts.conf has one per service).",
    )
    nats_password: SecretStr | None = Field(
        default=None,
        validation_alias=_shared("NATS_PASSWORD"),
        description="That user's password; any characters (a URL could not carry / @ : #).",
    )
    nats_connect_timeout: float = Field(
        default=10.0,
        validation_alias=_shared("NATS_CONNECT_TIMEOUT"),
        description="Seconds to keep retrying the first NATS connection before giving up.",
    )
    nats_reconnect_wait: float = Field(default=1.0, validation_alias=_shared("NATS_RECONNECT_WAIT"))
    otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=_shared("OTLP_ENDPOINT"),
        description="OTLP/HTTP collector base URL; traces are exported only when set.",
    )
    stream_replicas: int = Field(default=1, ge=1, le=5, validation_alias=_shared("STREAM_REPLICAS"))
    duplicate_window: timedelta = Field(
        default=timedelta(minutes=2),
        validation_alias=_shared("DUPLICATE_WINDOW"),
    )
    idempotency_retention: timedelta = Field(
        default=timedelta(hours=24),
        gt=timedelta(0),
        validation_alias=_shared("IDEMPOTENCY_RETENTION"),
        description="How long Idempotency-Key responses are kept; a later retry runs again.",
    )
    jwt_issuer: str = Field(default="oneplan-dev", validation_alias=_shared("JWT_ISSUER"))
    jwt_audience: str = Field(default="oneplan", validation_alias=_shared("JWT_AUDIENCE"))
    jwks_url: str | None = Field(
        default=None,
        validation_alias=_shared("JWKS_URL"),
        description="Production: tokens are RS256-validated against this JWKS (any OIDC provider).",
    )
    dev_signing_key: Path | None = Field(
        default=None,
        validation_alias=_shared("DEV_SIGNING_KEY"),
        description="PEM RSA key used in development; default <var_dir>/dev-signing-key.pem.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias=_shared("LOG_LEVEL")
    )
    shutdown_timeout: float = Field(
        default=10.0,
        validation_alias=_shared("SHUTDOWN_TIMEOUT"),
        description="Seconds each background task gets to finish in-flight work on shutdown.",
    )
    port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="The HTTP port this instance listens on, when it differs from the "
        "service's own (`oneplan dev --port-offset`); used in logs and links.",
    )
    discovery_interval: float = Field(
        default=10.0,
        gt=0,
        validation_alias=_shared("DISCOVERY_INTERVAL"),
        description="Seconds between looks for new streams a follower reads (new streams are "
        "also seen at once through JetStream's stream-created advisory).",
    )
    consumer_ack_wait: float = Field(
        default=30.0,
        gt=0,
        validation_alias=_shared("CONSUMER_ACK_WAIT"),
        description="Seconds before JetStream redelivers a message nobody acknowledged (an "
        "instance that died with it): the longest an in-flight event waits after a crash.",
    )
    consumer_pin_ttl: float = Field(
        default=10.0,
        gt=0,
        validation_alias=_shared("CONSUMER_PIN_TTL"),
        description="Seconds of silence before another instance takes over a partition.",
    )
    relay_lease_ttl: float = Field(
        default=10.0,
        gt=0,
        validation_alias=_shared("RELAY_LEASE_TTL"),
        description="Seconds an instance's outbox relay lease lasts unrenewed: how long a "
        "crashed instance keeps the others' relays from publishing its service's events.",
    )

    def consumer_timing(self) -> ConsumerTiming:
        """How this service's consumers pace their pulls, pins and redeliveries."""
        expires = min(5.0, self.consumer_pin_ttl / 2)
        return ConsumerTiming(
            ack_wait=self.consumer_ack_wait,
            expires=expires,
            heartbeat=min(1.0, expires / 4),
            pin_ttl=self.consumer_pin_ttl,
        )

    @classmethod
    def service_name(cls) -> str:
        """The service's name, taken from its env prefix (``CHILDREN_`` -> ``children``)."""
        prefix = str(cls.model_config.get("env_prefix") or "")
        return prefix.strip("_").lower() or "service"

    @property
    def nats_servers(self) -> list[str]:
        """The NATS servers to connect to (``nats_url`` split at its commas)."""
        return [url.strip() for url in self.nats_url.split(",") if url.strip()]

    @property
    def is_development(self) -> bool:
        """True when running with ``ONEPLAN_ENV=development``."""
        return self.env == "development"

    @property
    def uses_dev_signing_key(self) -> bool:
        """True when tokens are signed and checked with the local key (no JWKS configured)."""
        return self.jwks_url is None

    @property
    def resolved_database_url(self) -> str:
        """The database URL (filled in by validation; never None after construction)."""
        assert self.database_url is not None  # set by _fill_defaults
        return self.database_url

    @property
    def signing_key_path(self) -> Path:
        """Where the development key pair lives (filled in by validation)."""
        assert self.dev_signing_key is not None  # set by _fill_defaults
        return self.dev_signing_key

    @field_validator("duplicate_window", "idempotency_retention", mode="before")
    @classmethod
    def _seconds_as_timedelta(cls, value: Any) -> Any:
        # Environment variables arrive as strings: accept "120" (seconds) beside ISO 8601.
        if isinstance(value, str):
            try:
                return timedelta(seconds=float(value))
            except ValueError:
                return value
        return value

    @model_validator(mode="after")
    def _fill_defaults(self) -> ServiceSettings:
        if self.database_url is None:
            self.database_url = f"sqlite+aiosqlite:///{self.var_dir / self.service_name()}.db"
        if self.dev_signing_key is None:
            self.dev_signing_key = self.var_dir / "dev-signing-key.pem"
        return self

    @model_validator(mode="after")
    def _one_way_to_give_nats_credentials(self) -> ServiceSettings:
        if (self.nats_user is None) != (self.nats_password is None):
            raise ValueError("ONEPLAN_NATS_USER and ONEPLAN_NATS_PASSWORD are set together")
        if not self.nats_servers:
            raise ValueError("ONEPLAN_NATS_URL names no server")
        if self.nats_user is not None and any("@" in url for url in self.nats_servers):
            raise ValueError(
                "ONEPLAN_NATS_URL carries credentials and ONEPLAN_NATS_USER is set: give the "
                "user and password once, in ONEPLAN_NATS_USER and ONEPLAN_NATS_PASSWORD"
            )
        return self

    @model_validator(mode="after")
    def _refuse_dev_key_outside_development(self) -> ServiceSettings:
        # Why: a key sitting in ./var/ is not a secret; accepting tokens it signs in production
        # would let anyone with a clone mint a token for any agency.
        if self.uses_dev_signing_key and not self.is_development:
            raise DevelopmentKeyOutsideDevelopment(
                f"ONEPLAN_ENV={self.env!r} but no ONEPLAN_JWKS_URL is set: the development "
                "signing key is only allowed when ONEPLAN_ENV=development. Set ONEPLAN_JWKS_URL "
                "(and ONEPLAN_JWT_ISSUER / ONEPLAN_JWT_AUDIENCE) to your identity provider."
            )
        return self
