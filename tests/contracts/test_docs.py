"""The documentation names only what exists: every ``oneplan_*`` dotted name in docs/*.md is a
real module or attribute, and every relative link in docs/ and README.md reaches a file (and,
with a ``#fragment``, a heading of it).

Cheap on purpose (imports and file checks, no servers): the docs describe an API that is
rebuilt from time to time, and a renamed function should fail here rather than mislead a
reader. Names are taken from inline code spans and fenced code blocks; ``from X import a, b``
lines in code blocks check ``a`` and ``b`` too.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from pathlib import Path
from types import ModuleType
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parents[2]
DOCS: Final = sorted((ROOT / "docs").rglob("*.md"))
LINKED: Final = [*DOCS, ROOT / "README.md"]

# Example packages the docs show being written (the scaffold's `housing`), not installed.
EXAMPLE_PACKAGES: Final = frozenset({"oneplan_housing"})
# Names spelled like a package that are not Python: the PostgreSQL NOTIFY channel and its
# trigger function, the benchmarks' database.
NOT_PYTHON: Final = frozenset({"oneplan_outbox", "oneplan_outbox_notify", "oneplan_bench"})

_FENCE: Final = re.compile(r"^```[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
_SPAN: Final = re.compile(r"`([^`]+)`")  # a span may cross a line break
_NAME: Final = re.compile(r"(?<![\w.])oneplan_[a-z][a-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_FROM_IMPORT: Final = re.compile(
    r"^\s*from\s+(oneplan_[a-z][a-z0-9_.]*)\s+import\s+\(?([A-Za-z0-9_, ]+)\)?\s*$", re.MULTILINE
)
_LINK: Final = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING: Final = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _code(text: str) -> list[str]:
    """The text of every fenced block and every inline code span outside them."""
    blocks = _FENCE.findall(text)
    prose = _FENCE.sub("", text)
    return [*blocks, *_SPAN.findall(prose)]


def documented_names(text: str) -> set[str]:
    """Every ``oneplan_*`` dotted name written as code in a markdown text."""
    names: set[str] = set()
    for code in _code(text):
        names.update(name.rstrip(".") for name in _NAME.findall(code))
        for module, imported in _FROM_IMPORT.findall(code):
            names.update(f"{module}.{part.strip()}" for part in imported.split(",") if part.strip())
    return {name for name in names if name.split(".")[0] not in NOT_PYTHON}


def _has_member(owner: object, name: str) -> bool:
    """An attribute, or a field a class declares without a class attribute (a dataclass
    field without default, a pydantic field)."""
    if hasattr(owner, name):
        return True
    if isinstance(owner, type) and dataclasses.is_dataclass(owner):
        return name in {field.name for field in dataclasses.fields(owner)}
    return name in (getattr(owner, "model_fields", None) or {})


def unresolved(name: str) -> str | None:
    """Why ``name`` names nothing (None: it is a module, or an attribute of one)."""
    parts = name.split(".")
    if parts[0] in EXAMPLE_PACKAGES:
        return None
    module: ModuleType | None = None
    index = len(parts)
    while index > 0:
        try:
            module = importlib.import_module(".".join(parts[:index]))
            break
        except ModuleNotFoundError as error:
            if error.name is None or not ".".join(parts[:index]).startswith(error.name):
                raise  # the module exists but a dependency of it is missing: not the docs' fault
            index -= 1
    if module is None:
        return f"no module {parts[0]}"
    owner: object = module
    for depth, part in enumerate(parts[index:], start=index):
        if not _has_member(owner, part):
            return f"{'.'.join(parts[:depth])} has no {part!r}"
        owner = getattr(owner, part, None)
    return None


def anchors(text: str) -> set[str]:
    """The fragment ids GitHub gives a markdown text's headings (outside code blocks):
    lower case, punctuation dropped but ``-`` and ``_``, spaces as ``-``, repeats numbered."""
    seen: dict[str, int] = {}
    found = set()
    for heading in _HEADING.findall(_FENCE.sub("", text)):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("doc", DOCS, ids=_relative)
def test_every_dotted_name_in_the_docs_exists(doc: Path) -> None:
    problems = sorted(
        f"`{name}`: {reason}"
        for name in documented_names(doc.read_text(encoding="utf-8"))
        if (reason := unresolved(name)) is not None
    )
    assert not problems, f"{_relative(doc)} names what does not exist:\n" + "\n".join(problems)


@pytest.mark.parametrize("doc", LINKED, ids=_relative)
def test_every_relative_link_reaches_a_file(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    broken = []
    for target in _LINK.findall(_FENCE.sub("", text)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # a URL (https:, mailto:)
        path, _, fragment = target.partition("#")
        linked = doc.parent / path if path else doc
        if not linked.exists() or (
            fragment
            and linked.suffix == ".md"
            and fragment not in anchors(linked.read_text(encoding="utf-8"))
        ):
            broken.append(target)
    assert not broken, f"{_relative(doc)} links to missing files or headings: {broken}"


def test_the_checks_themselves_find_what_is_missing() -> None:
    text = (
        "`oneplan_events.streams.service_stream` and `oneplan_events.streams.STREAMS`\n"
        "```python\nfrom oneplan_events.catalogue import Catalogue, CATALOGUE\n```\n"
        "`oneplan_outbox` is a channel; `oneplan_<name>` a pattern; `oneplan_nothing.x`\n"
    )
    names = documented_names(text)
    assert names == {
        "oneplan_events.streams.service_stream",
        "oneplan_events.streams.STREAMS",
        "oneplan_events.catalogue",
        "oneplan_events.catalogue.Catalogue",
        "oneplan_events.catalogue.CATALOGUE",
        "oneplan_nothing.x",
    }
    missing = {name for name in names if unresolved(name) is not None}
    assert missing == {
        "oneplan_events.streams.STREAMS",
        "oneplan_events.catalogue.CATALOGUE",
        "oneplan_nothing.x",
    }
    assert anchors("# Who sees `x.y` records\n## Settings (`a.b`)\n## Settings (`a.b`)\n") == {
        "who-sees-xy-records",
        "settings-ab",
        "settings-ab-1",
    }
    # Fields declared without a class attribute count as members.
    assert unresolved("oneplan_events.store.RecordedEvent.envelope") is None
    assert unresolved("oneplan_kit.service.ServiceDefinition.name") is None
