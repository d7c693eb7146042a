"""docker-compose.yml lists exactly the services under services/, each wired the same way."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
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
    assert env["ONEPLAN_NATS_URL"].startswith(f"nats://{name}:")
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


def test_docker_compose_config_accepts_the_file() -> None:
    """The tool itself validates the file (Debian: apt-get install docker-compose)."""
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip(
            "docker-compose is not installed: only the YAML structure was checked "
            "(scripts/test installs it when run as root)"
        )
    env = {**os.environ, "ONEPLAN_JWKS_URL": "https://identity.example.invalid/jwks.json"}
    result = subprocess.run(
        [tool, "--file", str(COMPOSE), "config", "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
