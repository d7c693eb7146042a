"""Settings: the per-service prefix, the shared ONEPLAN_* variables, the dev-key refusal."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from oneplan_kit import ServiceSettings
from oneplan_kit.nats import redacted


class ChildrenLikeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KITCFG_")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ONEPLAN_ENV",
        "ONEPLAN_JWKS_URL",
        "ONEPLAN_NATS_URL",
        "KITCFG_DATABASE_URL",
        "ONEPLAN_IDEMPOTENCY_RETENTION",
        "ONEPLAN_NATS_USER",
        "ONEPLAN_NATS_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)


def test_embedded_defaults_put_each_service_in_its_own_sqlite_file() -> None:
    settings = ChildrenLikeSettings()
    assert settings.env == "development"
    assert settings.nats_url == "nats://127.0.0.1:4222"
    assert settings.resolved_database_url == "sqlite+aiosqlite:///var/kitcfg.db"
    assert settings.signing_key_path == Path("var/dev-signing-key.pem")
    assert settings.otlp_endpoint is None
    assert settings.stream_replicas == 1
    assert settings.idempotency_retention == timedelta(hours=24)


def test_prefixed_and_shared_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITCFG_DATABASE_URL", "postgresql+asyncpg://db/children")
    monkeypatch.setenv("ONEPLAN_NATS_URL", "nats://nats:4222")
    monkeypatch.setenv("ONEPLAN_STREAM_REPLICAS", "3")
    monkeypatch.setenv("ONEPLAN_DUPLICATE_WINDOW", "300")
    monkeypatch.setenv("ONEPLAN_OTLP_ENDPOINT", "http://collector:4318")
    settings = ChildrenLikeSettings()
    assert settings.resolved_database_url == "postgresql+asyncpg://db/children"
    assert settings.nats_url == "nats://nats:4222"
    assert settings.stream_replicas == 3
    assert settings.duplicate_window == timedelta(minutes=5)
    assert settings.otlp_endpoint == "http://collector:4318"


def test_the_dev_signing_key_is_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ONEPLAN_ENV", "production")
    with pytest.raises(ValidationError, match="only allowed when ONEPLAN_ENV=development"):
        ChildrenLikeSettings()


def test_production_starts_with_a_jwks_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEPLAN_ENV", "production")
    monkeypatch.setenv("ONEPLAN_JWKS_URL", "https://idp.example/.well-known/jwks.json")
    settings = ChildrenLikeSettings()
    assert not settings.uses_dev_signing_key
    assert not settings.is_development


@pytest.mark.parametrize(
    ("raw", "expected"), [("3600", timedelta(hours=1)), ("P2D", timedelta(days=2))]
)
def test_the_idempotency_retention_is_read_in_seconds_or_iso_8601(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: timedelta
) -> None:
    monkeypatch.setenv("ONEPLAN_IDEMPOTENCY_RETENTION", raw)
    assert ChildrenLikeSettings().idempotency_retention == expected


def test_a_zero_idempotency_retention_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEPLAN_IDEMPOTENCY_RETENTION", "0")
    with pytest.raises(ValidationError):
        ChildrenLikeSettings()


def test_the_consumer_and_relay_timings_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ONEPLAN_CONSUMER_PIN_TTL", "2")
    monkeypatch.setenv("ONEPLAN_CONSUMER_ACK_WAIT", "3")
    monkeypatch.setenv("ONEPLAN_RELAY_LEASE_TTL", "1.5")
    settings = ChildrenLikeSettings()
    assert settings.relay_lease_ttl == 1.5
    timing = settings.consumer_timing()
    assert (timing.pin_ttl, timing.ack_wait, timing.expires) == (2.0, 3.0, 1.0)


def test_a_relay_lease_that_never_lasts_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEPLAN_RELAY_LEASE_TTL", "0")
    with pytest.raises(ValidationError, match="ONEPLAN_RELAY_LEASE_TTL"):
        ChildrenLikeSettings()


def test_a_service_connects_as_its_own_nats_user(monkeypatch: pytest.MonkeyPatch) -> None:
    """The password is its own variable: a URL cannot carry one with / @ : or #."""
    monkeypatch.setenv("ONEPLAN_NATS_URL", "nats://nats-1:4222, nats://nats-2:4222")
    monkeypatch.setenv("ONEPLAN_NATS_USER", "children")
    monkeypatch.setenv("ONEPLAN_NATS_PASSWORD", "Zx9/+q=Ab@c:d#e")
    settings = ChildrenLikeSettings()
    assert settings.nats_servers == ["nats://nats-1:4222", "nats://nats-2:4222"]
    assert settings.nats_user == "children"
    assert settings.nats_password is not None
    assert settings.nats_password.get_secret_value() == "Zx9/+q=Ab@c:d#e"
    assert "Zx9" not in repr(settings)


@pytest.mark.parametrize(
    ("variables", "reason"),
    [
        ({"ONEPLAN_NATS_USER": "children"}, "set together"),
        ({"ONEPLAN_NATS_PASSWORD": "secret"}, "set together"),
        ({"ONEPLAN_NATS_URL": " , "}, "names no server"),
        (
            {
                "ONEPLAN_NATS_URL": "nats://children:old@nats:4222",
                "ONEPLAN_NATS_USER": "children",
                "ONEPLAN_NATS_PASSWORD": "new",
            },
            "give the user and password once",
        ),
    ],
)
def test_nats_credentials_given_half_or_twice_are_refused(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], reason: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=reason):
        ChildrenLikeSettings()


def test_passwords_in_nats_urls_are_redacted_in_a_list_too() -> None:
    assert redacted("nats://u:secret@n1:4222,nats://u:other@n2:4222") == (
        "nats://u:***@n1:4222,nats://u:***@n2:4222"
    )
    assert redacted("nats://n1:4222") == "nats://n1:4222"
