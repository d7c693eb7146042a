"""`oneplan new-service`: names, ports, the rendered files and the steps, without running them.

tests/deploy/test_new_service.py runs the whole thing in a copy of the checkout.
"""

from __future__ import annotations

import io
import subprocess
import tomllib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from oneplan_events.catalogue import Catalogue
from oneplan_kit import ServiceDefinition
from oneplan_kit.scaffold import (
    NewService,
    ScaffoldError,
    check_name,
    choose_port,
    new_service,
    render,
)


def installed(*ports: int) -> dict[str, ServiceDefinition]:
    names = [f"svc{index}" for index in range(len(ports))]
    return {
        name: ServiceDefinition(name=name, title=name, port=port, catalogue=Catalogue(name))
        for name, port in zip(names, ports, strict=True)
    }


@pytest.mark.parametrize(
    "name",
    ["Housing", "1housing", "youth-justice", "class", "a__b", "housing_", "x" * 21, ""],
)
def test_a_name_that_is_not_a_lower_case_identifier_is_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="not a service name"):
        check_name(name, tmp_path, {})


def test_a_taken_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "services" / "housing").mkdir(parents=True)
    with pytest.raises(ScaffoldError, match="services/housing exists already"):
        check_name("housing", tmp_path, {})
    with pytest.raises(ScaffoldError, match="installed already"):
        check_name("svc0", tmp_path, installed(8001))
    with pytest.raises(ScaffoldError, match="oneplan_kit is already a package"):
        check_name("kit", tmp_path, {})
    check_name("youth_justice", tmp_path, installed(8001))


def test_the_port_is_the_next_above_the_installed_services() -> None:
    assert choose_port(None, installed(8001, 8002)) == 8008
    assert choose_port(None, installed(8001, 8011)) == 8012
    assert choose_port(9100, installed(8001)) == 9100
    with pytest.raises(ScaffoldError, match="svc1's"):
        choose_port(8002, installed(8001, 8002))
    with pytest.raises(ScaffoldError, match="1024 to 65535"):
        choose_port(80, {})


def test_the_rendered_service_has_the_house_shape() -> None:
    files = render(NewService("youth_justice", "OnePlan youth justice", 8010))
    package = PurePosixPath("src/oneplan_youth_justice")
    expected = {
        "pyproject.toml",
        f"{package}/__init__.py",
        f"{package}/py.typed",
        f"{package}/bootstrap.py",
        f"{package}/config.py",
        f"{package}/events.py",
        f"{package}/domain/model.py",
        f"{package}/domain/commands.py",
        f"{package}/adapters/tables.py",
        f"{package}/adapters/repository.py",
        f"{package}/service_layer/handlers.py",
        f"{package}/entrypoints/api.py",
        f"{package}/entrypoints/routes.py",
        f"{package}/migrations/versions/0001_initial.py",
        "tests/unit/test_decider.py",
        "tests/integration/test_projection.py",
        "tests/api/test_api.py",
    }
    assert expected <= {str(path) for path in files}
    for path, text in files.items():
        if path.suffix == ".py":
            compile(text, str(path), "exec")  # valid Python whatever the name
    project = tomllib.loads(files[PurePosixPath("pyproject.toml")])
    assert project["project"]["name"] == "oneplan-youth-justice"
    assert project["project"]["license"] == "Apache-2.0"
    entry = project["project"]["entry-points"]["oneplan.services"]
    assert entry == {"youth_justice": "oneplan_youth_justice.bootstrap:SERVICE"}
    assert project["tool"]["uv"]["sources"]["oneplan-kit"] == {"workspace": True}
    bootstrap = files[package / "bootstrap.py"]
    assert 'name="youth_justice"' in bootstrap
    assert "port=8010" in bootstrap
    assert "YouthJusticeSettings" in files[package / "config.py"]
    assert 'env_prefix="YOUTH_JUSTICE_"' in files[package / "config.py"]
    assert '"oneplan.youth_justice.note.recorded"' in files[package / "events.py"]
    assert (
        'register_contribution_events("youth_justice", CATALOGUE)' in files[package / "events.py"]
    )


def test_a_title_that_would_break_the_files_is_refused() -> None:
    with pytest.raises(ScaffoldError, match="--title"):
        render(NewService("housing", 'Say "hi"', 8008))


class Steps:
    """A stand-in for running the steps: records them, fails the one asked to."""

    def __init__(self, failing: str | None = None) -> None:
        self.failing = failing
        self.ran: list[list[str]] = []

    def __call__(self, argv: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        self.ran.append(list(argv))
        failed = self.failing is not None and self.failing in argv
        return subprocess.CompletedProcess(argv, 1 if failed else 0, "", "boom" if failed else "")


def scaffold(root: Path, steps: Steps, **options: Any) -> tuple[NewService, str]:
    out = io.StringIO()
    service = new_service(root, "housing", installed(8001, 8002), out, run=steps, **options)
    return service, out.getvalue()


def test_new_service_writes_locks_syncs_and_generates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV", "/opt/uv")
    steps = Steps()
    service, out = scaffold(tmp_path, steps, title="OnePlan housing")
    assert service.port == 8008
    assert (tmp_path / "services/housing/src/oneplan_housing/bootstrap.py").is_file()
    assert [argv[:2] for argv in steps.ran if argv[0] == "/opt/uv"] == [
        ["/opt/uv", "lock"],
        ["/opt/uv", "sync"],
    ]
    assert steps.ran[-1][-2:] == ["oneplan_kit.cli", "generate"]
    assert "created services/housing/" in out
    assert "uv run pytest services/housing" in out


def test_a_failing_step_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UV", "/opt/uv")
    with pytest.raises(ScaffoldError, match=r"uv lock[\s\S]*boom[\s\S]*uv sync --all-packages"):
        scaffold(tmp_path, Steps(failing="lock"))
