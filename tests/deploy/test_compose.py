"""docker-compose.yml lists exactly the services under services/, each wired the same way.

The file is checked as `docker compose config` would check it (the Compose Specification's
schema, references between its parts, variable interpolation) without any Docker toolchain.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
# The Compose Specification's JSON schema, vendored (see COMPOSE-SPEC-NOTICE.md).
SCHEMA = Path(__file__).with_name("compose-spec.json")
INFRASTRUCTURE = {"nats", "postgres", "otel-collector", "jaeger"}


def service_folders() -> set[str]:
    """Every service in the repository: a folder under services/ with a pyproject.toml."""
    return {p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml")}


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def app_services() -> dict[str, dict[str, Any]]:
    """Compose services built from our Dockerfile (those with a SERVICE build argument)."""
    return {
        name: spec
        for name, spec in compose()["services"].items()
        if isinstance(spec.get("build"), dict) and "SERVICE" in spec["build"].get("args", {})
    }


def test_every_service_folder_is_a_compose_service_and_nothing_else() -> None:
    folders = service_folders()
    assert folders, "no services found under services/"
    assert set(app_services()) == folders
    assert set(compose()["services"]) == folders | INFRASTRUCTURE


@pytest.mark.parametrize("name", sorted(service_folders()))
def test_service_is_built_and_wired_like_the_others(name: str) -> None:
    spec = app_services()[name]
    assert spec["build"] == {"context": ".", "args": {"SERVICE": name}}
    env = spec["environment"]
    assert env[f"{name.upper()}_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert env[f"{name.upper()}_DATABASE_URL"].endswith(f"@postgres:5432/oneplan_{name}")
    # Its own NATS user, with the password the nats service is given (not in the URL, which
    # could not carry every password: / @ : #).
    assert env["ONEPLAN_NATS_URL"] == "nats://nats:4222"
    assert env["ONEPLAN_NATS_USER"] == name
    variable = f"NATS_{name.upper()}_PASSWORD"
    assert env["ONEPLAN_NATS_PASSWORD"] == f"${{{variable}:-{name}-dev}}"
    assert variable in compose()["services"]["nats"]["environment"]
    assert "ONEPLAN_JWKS_URL" in env
    for dependency in ("nats", "postgres"):
        assert spec["depends_on"][dependency] == {"condition": "service_healthy"}
    assert "readyz" in " ".join(spec["healthcheck"]["test"])


def test_each_service_has_a_database_and_a_nats_user() -> None:
    postgres_env = compose()["services"]["postgres"]["environment"]
    assert set(postgres_env["ONEPLAN_SERVICES"].split()) == service_folders()
    nats_users = set(
        re.findall(r"^\s+user: (\w+)$", (ROOT / "deploy/nats/accounts.conf").read_text(), re.M)
    )
    assert service_folders() <= nats_users


def compose_schema_errors(document: Any) -> list[str]:
    """Where ``document`` breaks the Compose Specification (what `docker compose config` checks)."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def test_the_file_follows_the_compose_specification() -> None:
    """Validated without any Docker toolchain, against the vendored Compose Specification."""
    assert compose_schema_errors(compose()) == []


def test_the_schema_check_rejects_what_docker_compose_would() -> None:
    document = compose()
    document["services"]["nats"]["helthcheck"] = document["services"]["nats"].pop("healthcheck")
    document["services"]["jaeger"]["ports"] = "16686:16686"
    errors = compose_schema_errors(document)
    assert any(e.startswith("services/nats:") and "helthcheck" in e for e in errors), errors
    assert any(e.startswith("services/jaeger/ports:") for e in errors), errors


def test_references_between_services_volumes_and_files_resolve() -> None:
    document = compose()
    services = document["services"]
    declared_volumes = set(document.get("volumes") or {})
    for name, spec in services.items():
        depends = spec.get("depends_on") or []
        assert set(depends) <= set(services), f"{name} depends on an undefined service"
        for volume in spec.get("volumes") or []:
            source = (volume["source"] if isinstance(volume, dict) else volume.split(":")[0]) or ""
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"
            else:
                assert source in declared_volumes, f"{name} uses undeclared volume {source}"
        if isinstance(spec.get("build"), dict):
            context = ROOT / spec["build"]["context"]
            assert (context / spec["build"].get("dockerfile", "Dockerfile")).is_file()


# $$ (a literal $), $NAME, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error},
# ${NAME?error}, ${NAME:+other}, ${NAME+other}: the forms Compose interpolates.
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_INTERPOLATION = re.compile(rf"\$(?:\$|{_NAME}|\{{{_NAME}(?::?[-?+][^}}]*)?\}})")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def malformed_interpolations(document: Any) -> list[str]:
    """Strings holding a ``$`` that Compose would refuse to interpolate."""
    return [text for text in _strings(document) if "$" in _INTERPOLATION.sub("", text)]


def test_every_variable_reference_is_one_compose_can_interpolate() -> None:
    assert malformed_interpolations(compose()) == []
    broken = {"services": {"a": {"environment": {"X": "${DB_PASSWORD:-x", "Y": "$${Z}"}}}}
    assert malformed_interpolations(broken) == ["${DB_PASSWORD:-x"]
