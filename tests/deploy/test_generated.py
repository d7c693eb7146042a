"""The generated deployment files are what the installed services generate, and the CLI says so.

`scripts/test` runs `oneplan check-generated` in its `contracts` step; this is the same check
in the suite, and the behaviour of both commands on a checkout whose files went stale.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from oneplan_kit.cli import main
from oneplan_kit.deployment import generated_files, stale_files
from oneplan_kit.service import installed_services

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_files_are_what_the_installed_services_generate() -> None:
    stale = stale_files(ROOT, list(installed_services().values()))
    assert not stale, "run `./oneplan generate` and commit:\n" + "\n".join(
        line for diff in stale.values() for line in diff[:20]
    )


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout holding a copy of the generated files (the real services installed)."""
    (tmp_path / "services").mkdir()
    (tmp_path / "pyproject.toml").write_text("")
    for generated in generated_files(list(installed_services().values())):
        target = tmp_path / generated.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / generated.path, target)
    monkeypatch.setenv("ONEPLAN_ROOT", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_check_generated_names_every_stale_file_and_how_to_regenerate(checkout: Path) -> None:
    assert run("check-generated")[0] == 0
    compose = checkout / "docker-compose.yml"
    compose.write_text(compose.read_text().replace("nats:2.11-alpine", "nats:2.9-alpine"))
    (checkout / "deploy" / "env.example").unlink()
    code, out = run("check-generated")
    assert code == 1
    assert "docker-compose.yml differs" in out
    assert "-    image: nats:2.9-alpine" in out
    assert "deploy/env.example differs" in out
    assert "deploy/nats/accounts.conf" not in out
    assert "run `./oneplan generate`" in out
    code, out = run("generate")
    assert code == 0
    assert "docker-compose.yml: written" in out
    assert "deploy/nats/accounts.conf: up to date" in out
    assert run("check-generated")[0] == 0
