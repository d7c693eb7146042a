"""The generated least-privilege NATS configuration running, as deployed: `./oneplan
generate`'s own output (`oneplan_kit.deployment.write_files`) written to a temporary checkout
beside the committed `deploy/nats/nats-server.conf`, a nats-server (the wheel's) running it with
the passwords in the environment as `docker-compose.yml` hands them over, and each service's
NATS settings (its own user and password) as the generated compose file gives its container.
The passwords hold the characters a NATS URL could not carry (`/ @ : #`)."""

from __future__ import annotations

import base64
import dataclasses
import logging
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import yaml

from oneplan_kit.deployment import COMPOSE_PATH, ENV_EXAMPLE_PATH, write_files
from oneplan_kit.service import installed_services
from oneplan_testkit import NatsProcess
from oneplan_testkit.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVER_CONFIG = ROOT / "deploy" / "nats" / "nats-server.conf"
_VARIABLE = re.compile(r"\$\{(\w+):-([^}]*)\}")


def a_password() -> str:
    """Random, with the characters a URL's user-info could not carry."""
    return "pw" + base64.b64encode(secrets.token_bytes(18)).decode() + "/@:#"


@dataclasses.dataclass
class Deployment:
    """The generated NATS config running, and each service's NATS settings from compose."""

    server: NatsProcess
    monitor: str
    nats_env: dict[str, dict[str, str]]

    def nats_settings(self, service: str) -> dict[str, Any]:
        env = self.nats_env[service]
        return {
            "nats_url": env["ONEPLAN_NATS_URL"],
            "nats_user": env["ONEPLAN_NATS_USER"],
            "nats_password": env["ONEPLAN_NATS_PASSWORD"],
        }

    def server_refusals(self) -> list[str]:
        """The server's log lines about refused subjects ("Publish Violation", "Subscription
        Violation") or logins ("authentication error")."""
        log = self.server.log_path.read_text(errors="replace")
        return [
            line
            for line in log.splitlines()
            if "Violation" in line or "authentication error" in line
        ]

    async def connections(self) -> dict[str, str]:
        """Connection name -> the user it authenticated as (the monitoring endpoint)."""
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"{self.monitor}/connz", params={"auth": "true"})
        return {
            c.get("name", ""): c.get("authorized_user", "") for c in answer.json()["connections"]
        }

    async def stream_created(self, stream: str) -> datetime:
        """When the server created ``stream`` (the monitoring endpoint's JetStream view)."""
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"{self.monitor}/jsz", params={"streams": "true"})
        for account in answer.json()["account_details"]:
            for detail in account.get("stream_detail", []):
                if detail["name"] == stream:
                    return _rfc3339(detail["created"])
        raise AssertionError(f"no stream {stream} on the server")


def _rfc3339(text: str) -> datetime:
    # Go prints nanoseconds; Python reads microseconds.
    trimmed = re.sub(r"(\.\d{6})\d*", r"\1", text.replace("Z", "+00:00"))
    return datetime.fromisoformat(trimmed)


def _interpolate(value: str, variables: dict[str, str]) -> str:
    """``${NAME:-default}`` as docker compose expands it."""
    return _VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(2)), value)


def _on_this_machine(url: str, port: int) -> str:
    parts = urlsplit(url)
    assert parts.hostname == "nats", url
    return urlunsplit(parts._replace(netloc=f"127.0.0.1:{port}"))


class CapturedLogs(logging.Handler):
    """Every log record of the services (both run in this process)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def permission_violations(self) -> list[str]:
        messages = [record.getMessage() for record in self.records]
        return [m for m in messages if "permissions violation" in m.lower()]

    def errors(self) -> list[logging.LogRecord]:
        return [record for record in self.records if record.levelno >= logging.ERROR]


def assert_no_permission_violations(deployment: Deployment, logs: CapturedLogs) -> None:
    assert logs.permission_violations() == []
    assert deployment.server_refusals() == []


@contextmanager
def generated_deployment(
    tmp_path: Path, nats_server_factory: Callable[..., NatsProcess]
) -> Iterator[Deployment]:
    """A fresh nats-server running the generated accounts with test passwords."""
    checkout = tmp_path / "checkout"
    services = list(installed_services().values())
    write_files(checkout, services)  # what `./oneplan generate` writes
    config = checkout / "deploy" / "nats" / "nats-server.conf"
    shutil.copy(SERVER_CONFIG, config)
    env_example = (checkout / ENV_EXAMPLE_PATH).read_text()
    passwords = {
        name: a_password() for name in re.findall(r"^(NATS_\w+_PASSWORD)=", env_example, re.M)
    }
    compose = yaml.safe_load((checkout / COMPOSE_PATH).read_text())
    # The nats container is handed exactly the passwords env.example lists.
    assert set(compose["services"]["nats"]["environment"]) == set(passwords)
    monitor = free_port()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in passwords.items():
            patch.setenv(name, value)
        server = nats_server_factory(config=config, extra_args=("-m", str(monitor)))
    nats_env = {}
    for service in services:
        environment = compose["services"][service.name]["environment"]
        env = {
            key: _interpolate(str(environment[key]), passwords)
            for key in ("ONEPLAN_NATS_URL", "ONEPLAN_NATS_USER", "ONEPLAN_NATS_PASSWORD")
        }
        env["ONEPLAN_NATS_URL"] = _on_this_machine(env["ONEPLAN_NATS_URL"], server.port)
        nats_env[service.name] = env
    try:
        yield Deployment(server, f"http://127.0.0.1:{monitor}", nats_env)
    finally:
        server.cleanup()
