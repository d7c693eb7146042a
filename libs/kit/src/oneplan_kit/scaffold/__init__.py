"""``oneplan new-service NAME``: a working service in the house shape, from the templates here.

The templates (``template/``, rendered with :class:`string.Template`) make
``services/<name>/``: its ``pyproject.toml`` with the ``oneplan.services`` entry point, the
package (``bootstrap.py``, ``config.py``, ``events.py``, ``domain/``, ``adapters/``,
``service_layer/``, ``entrypoints/``, ``migrations/versions/``) and its unit, integration and
API tests. Then the workspace is locked and synced (``uv lock``, ``uv sync --all-packages``),
the new files are put in the house format (ruff), and the deployment files are generated
again (``oneplan generate``), so no shared file is edited by hand: only ``uv.lock`` and the
generated files change.
"""

from __future__ import annotations

import importlib.util
import keyword
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath
from string import Template
from typing import Final, TextIO

from oneplan_kit.service import ServiceDefinition

__all__ = [
    "FIRST_PORT",
    "NewService",
    "ScaffoldError",
    "check_name",
    "choose_port",
    "new_service",
    "render",
    "write",
]

FIRST_PORT: Final = 8008
"""The lowest port a scaffolded service gets (8001-8007 are the design's seven services')."""

# Shorter than a ServiceDefinition allows (31): the name recurs in env variables, class names
# and the generated files' lines.
_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{0,19}$")
_TITLE: Final = re.compile(r"^[^\x00-\x1f\x7f\"\\$]{1,80}$")
_PACKAGE_DIR: Final = "PACKAGE"
_SUFFIX: Final = ".tmpl"

Runner = Callable[[Sequence[str], Path], "subprocess.CompletedProcess[str]"]


class ScaffoldError(RuntimeError):
    """The service cannot be scaffolded as asked; the message says why and what to do."""


@dataclass(frozen=True)
class NewService:
    """The names one new service goes by."""

    name: str
    title: str
    port: int

    @property
    def package(self) -> str:
        """The import name, ``oneplan_<name>``."""
        return f"oneplan_{self.name}"

    @property
    def dist(self) -> str:
        """The distribution name, ``oneplan-<name>``."""
        return "oneplan-" + self.name.replace("_", "-")

    @property
    def camel(self) -> str:
        """The name in class names: ``youth_justice`` -> ``YouthJustice``."""
        return "".join(part.title() for part in self.name.split("_") if part)

    def substitutions(self) -> dict[str, str]:
        """What the templates' ``$placeholders`` stand for."""
        return {
            "name": self.name,
            "Name": self.camel,
            "NAME": self.name.upper(),
            "title": self.title,
            "port": str(self.port),
            "package": self.package,
            "dist": self.dist,
        }


def check_name(name: str, root: Path, installed: Mapping[str, ServiceDefinition]) -> None:
    """ScaffoldError unless ``name`` is a lower-case identifier no service or package has."""
    if not _NAME.match(name) or keyword.iskeyword(name) or "__" in name or name.endswith("_"):
        raise ScaffoldError(
            f"{name!r} is not a service name: a lower-case identifier of at most 20 characters "
            "(letters, digits and single underscores, starting with a letter), e.g. "
            "'housing' or 'youth_justice'"
        )
    if (root / "services" / name).exists():
        raise ScaffoldError(f"services/{name} exists already: choose another name")
    if name in installed:
        raise ScaffoldError(f"a service named {name} is installed already: choose another name")
    if importlib.util.find_spec(f"oneplan_{name}") is not None:
        raise ScaffoldError(f"oneplan_{name} is already a package of the workspace")


def choose_port(requested: int | None, installed: Mapping[str, ServiceDefinition]) -> int:
    """``requested``, else the next port above every installed service's (``FIRST_PORT`` at
    least); ScaffoldError when an installed service has the requested one."""
    taken = {definition.port: definition.name for definition in installed.values()}
    if requested is None:
        return max([FIRST_PORT - 1, *taken]) + 1
    if not 1024 <= requested <= 65535:
        raise ScaffoldError(f"--port {requested}: choose a port from 1024 to 65535")
    if requested in taken:
        raise ScaffoldError(f"port {requested} is {taken[requested]}'s: choose another")
    return requested


def _templates(folder: Traversable, prefix: PurePosixPath) -> Iterator[tuple[PurePosixPath, str]]:
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.is_dir():
            yield from _templates(entry, prefix / entry.name)
        elif entry.name.endswith(_SUFFIX):
            yield prefix / entry.name.removesuffix(_SUFFIX), entry.read_text(encoding="utf-8")


def render(service: NewService) -> dict[PurePosixPath, str]:
    """Every file of the new service, by its path under ``services/<name>/`` (pure)."""
    if not _TITLE.match(service.title):
        raise ScaffoldError(
            f"--title {service.title!r}: plain text of 1 to 80 characters, without quotes, "
            "backslashes or $"
        )
    values = service.substitutions()
    rendered = {}
    for path, text in _templates(files(__name__) / "template", PurePosixPath()):
        parts = [service.package if part == _PACKAGE_DIR else part for part in path.parts]
        rendered[PurePosixPath(*parts)] = Template(text).substitute(values)
    return rendered


def write(root: Path, service: NewService) -> list[Path]:
    """Write the new service under ``root/services/<name>``; the files written."""
    target = root / "services" / service.name
    written = []
    for path, text in render(service).items():
        destination = target / path
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
        written.append(destination)
    return written


def _run(argv: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own tools, argv lists, no shell
        list(argv), cwd=cwd, capture_output=True, text=True, check=False
    )


def _uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        raise ScaffoldError(
            "uv was not found (./oneplan finds or installs it): run `./oneplan new-service ...`"
            " from the checkout"
        )
    return found


def new_service(
    root: Path,
    name: str,
    installed: Mapping[str, ServiceDefinition],
    out: TextIO,
    *,
    port: int | None = None,
    title: str | None = None,
    run: Runner = _run,
) -> NewService:
    """Scaffold ``services/<name>``, lock and sync the workspace, regenerate the deployment
    files, and say what was done and what to do next (ScaffoldError when a step fails)."""
    check_name(name, root, installed)
    uv = _uv()
    title = title or f"OnePlan {name.replace('_', ' ')}"
    service = NewService(name, title, choose_port(port, installed))
    written = write(root, service)
    folder = f"services/{name}"
    out.write(
        f"created {folder}/ ({len(written)} files): port {service.port}, "
        f"stream {name.upper()} (oneplan.{name}.>)\n"
    )
    for step in _steps(folder, uv):
        if step.needs is not None and importlib.util.find_spec(step.needs) is None:
            out.write(f"skipped: {step.done} ({step.needs} is not installed)\n")
            continue
        result = run(step.argv, root)
        if result.returncode != 0:
            raise ScaffoldError(
                f"{step.done} failed (`{step.shown}`, exit {result.returncode}) after "
                f"{folder} was created:\n{(result.stdout + result.stderr).strip()}\n"
                "Fix the cause, then run `uv lock && uv sync --all-packages && ./oneplan "
                f"generate`; or delete {folder} and start again."
            )
        out.write(f"{step.done}\n")
        if step.show_output:
            out.write("".join(f"  {line}\n" for line in result.stdout.strip().splitlines()))
    out.write(_next_steps(service))
    return service


@dataclass(frozen=True)
class _Step:
    done: str
    argv: list[str]
    needs: str | None = None  # a module the step runs (skipped without it)
    show_output: bool = False

    @property
    def shown(self) -> str:
        words = self.argv[1:] if self.argv[0] == sys.executable else self.argv
        return " ".join(words)


def _steps(folder: str, uv: str) -> list[_Step]:
    python = sys.executable
    return [
        _Step("formatted it (ruff format)", [python, "-m", "ruff", "format", "-q", folder], "ruff"),
        _Step(
            "sorted its imports and __all__ (ruff check --select I,RUF022)",
            [python, "-m", "ruff", "check", "--fix", "--quiet", "--select", "I,RUF022", folder],
            "ruff",
        ),
        _Step("locked the workspace (uv lock)", [uv, "lock", "--quiet"]),
        _Step("installed it (uv sync --all-packages)", [uv, "sync", "--all-packages", "-q"]),
        # A new process: this one cannot see the entry point the sync has just installed.
        _Step(
            "generated the deployment files (oneplan generate)",
            [python, "-m", "oneplan_kit.cli", "generate"],
            show_output=True,
        ),
    ]


def _next_steps(service: NewService) -> str:
    name = service.name
    return f"""\
Next:
  uv run pytest services/{name}       its unit, integration and API tests
  ./oneplan dev                       run it beside the others: http://127.0.0.1:{service.port}/docs
  ./oneplan token --agency {name} --role practitioner   a token for its POST /v1/notes
  git add services/{name} uv.lock docker-compose.yml deploy docs/asyncapi.yaml
Then make it the agency's own: docs/service-kit.md says what each file is and how to add a
command, a reaction to another service's events, a worker, a table and its migration.
"""
