"""The SEND Provision Matrix as versioned data, and its decider (one record, stream
`provision_matrix/<MATRIX_ID>`).

For each area of need and tier the matrix says what is ordinarily available (entries with an
id, a description, a typical provider and a frequency). The SEND team's managers publish
versions, each in force from its effective date until the next one's; a plan is judged
against the version in force on its cycle's date, never today's (`Matrix.in_force`).

Pure: parsing CSV or YAML text, choosing the version in force, deciding a publication.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Final
from uuid import UUID, uuid5

import yaml
from pydantic import ValidationError

from oneplan_events.catalogue import Event
from oneplan_events.clock import local_date
from oneplan_plans.domain.errors import Broken, RulesBroken
from oneplan_plans.events import MatrixEntry, MatrixVersionPublished

__all__ = [
    "MATRIX",
    "MATRIX_ID",
    "Matrix",
    "MatrixDecider",
    "MatrixVersion",
    "PublishMatrixVersion",
    "parse_matrix_csv",
    "parse_matrix_yaml",
]

MATRIX_ID: Final = uuid5(UUID("6f1d3c2a-5b8e-4f7a-9c0d-2e4b6a8c0e1f"), "send-provision-matrix")
"""The one matrix record of a deployment."""

CSV_COLUMNS: Final = ("entry_id", "area", "tier", "description", "typical_provider", "frequency")


@dataclass(frozen=True, slots=True)
class MatrixVersion:
    """One published version: in force from `effective_from` until the next version's."""

    version: int
    effective_from: date
    published_on: date
    title: str
    entries: tuple[MatrixEntry, ...]

    def entry(self, entry_id: str) -> MatrixEntry | None:
        return next((e for e in self.entries if e.entry_id == entry_id), None)


@dataclass(frozen=True, slots=True)
class Matrix:
    """Every published version, in effective order."""

    versions: tuple[MatrixVersion, ...] = ()

    def in_force(self, on: date) -> MatrixVersion | None:
        """The version in force on `on` (None: the first is not in force yet)."""
        found = None
        for version in self.versions:
            if version.effective_from <= on:
                found = version
        return found

    def get(self, version: int) -> MatrixVersion | None:
        return next((v for v in self.versions if v.version == version), None)


@dataclass(frozen=True)
class PublishMatrixVersion:
    """Publish a new version of the matrix, in force from `effective_from`."""

    effective_from: date
    title: str
    entries: tuple[MatrixEntry, ...]
    published_by: str


def _check_entries(entries: Sequence[MatrixEntry], field: str) -> list[Broken]:
    broken = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if entry.entry_id in seen:
            broken.append(Broken(f"{field}.{index}.entry_id", f"{entry.entry_id} is repeated"))
        seen.add(entry.entry_id)
    if not entries:
        broken.append(Broken(field, "a matrix version has at least one entry"))
    return broken


def decide(state: Matrix, command: PublishMatrixVersion, now: datetime) -> Sequence[Event]:
    """The version's publication, or RulesBroken.

    The first version may be in force from any date (the authority adopting its published
    matrix). A later one starts after today and after the latest version: so a cycle already
    recorded is never judged again against a matrix that did not exist when it started.
    """
    today = local_date(now)
    broken = _check_entries(command.entries, "entries")
    latest = state.versions[-1] if state.versions else None
    if latest is not None:
        if command.effective_from <= latest.effective_from:
            broken.append(
                Broken(
                    "effective_from",
                    f"is not after version {latest.version}'s effective date "
                    f"({latest.effective_from.isoformat()})",
                )
            )
        if command.effective_from <= today:
            broken.append(
                Broken(
                    "effective_from",
                    f"a new version takes effect after today ({today.isoformat()}): cycles "
                    "already recorded keep the version they were judged against",
                )
            )
    if broken:
        raise RulesBroken(broken)
    return [
        MatrixVersionPublished(
            matrix_version=(latest.version + 1) if latest else 1,
            effective_from=command.effective_from,
            published_on=today,
            title=command.title,
            entries=command.entries,
            published_by=command.published_by,
        )
    ]


def evolve(state: Matrix, event: Event) -> Matrix:
    if not isinstance(event, MatrixVersionPublished):
        raise ValueError(f"{type(event).__name__} is not an event of the provision matrix")
    version = MatrixVersion(
        event.matrix_version, event.effective_from, event.published_on, event.title, event.entries
    )
    return replace(state, versions=(*state.versions, version))


class MatrixDecider:
    """The matrix for the kit: stream `provision_matrix/<MATRIX_ID>`."""

    stream_prefix = "provision_matrix"

    def initial_state(self) -> Matrix:
        return Matrix()

    def decide(
        self, state: Matrix, command: PublishMatrixVersion, now: datetime
    ) -> Sequence[Event]:
        return decide(state, command, now)

    def evolve(self, state: Matrix, event: Event) -> Matrix:
        return evolve(state, event)


MATRIX = MatrixDecider()


# -- loading the matrix from text ---------------------------------------------------------


def _entries(rows: Sequence[tuple[str, Mapping[str, Any]]], field: str) -> tuple[MatrixEntry, ...]:
    """Entries from (where, row) pairs; RulesBroken naming every row and column at fault."""
    entries, broken = [], []
    for where, row in rows:
        try:
            entries.append(MatrixEntry.model_validate({k: row.get(k) for k in CSV_COLUMNS}))
        except ValidationError as error:
            for item in error.errors():
                column = ".".join(str(part) for part in item["loc"])
                broken.append(Broken(field, f"{where}, {column}: {item['msg']}"))
    if broken:
        raise RulesBroken(broken)
    return tuple(entries)


def parse_matrix_csv(text: str, field: str = "csv") -> tuple[MatrixEntry, ...]:
    """Entries of a CSV with the columns `CSV_COLUMNS` (a header row first)."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise RulesBroken([Broken(field, f"the header lacks {', '.join(missing)}")])
    rows = [(f"line {line}", row) for line, row in enumerate(reader, start=2)]
    return _entries(rows, field)


def parse_matrix_yaml(text: str, field: str = "yaml") -> tuple[MatrixEntry, ...]:
    """Entries of a YAML document: a list of entries, or a mapping with `entries`."""
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RulesBroken([Broken(field, f"is not YAML: {error}")]) from error
    if isinstance(loaded, Mapping):
        loaded = loaded.get("entries")
    if not isinstance(loaded, list):
        raise RulesBroken([Broken(field, "is a list of entries or a mapping with `entries`")])
    rows = []
    for index, item in enumerate(loaded, start=1):
        if not isinstance(item, Mapping):
            raise RulesBroken([Broken(field, f"entry {index} is not a mapping")])
        unknown = sorted(str(k) for k in item if k not in CSV_COLUMNS)
        if unknown:
            # A comma in a flow mapping splits a value into a key: say so rather than drop it.
            raise RulesBroken(
                [Broken(field, f"entry {index} has unknown keys: {', '.join(unknown)}")]
            )
        rows.append((f"entry {index}", {k: _text(v) for k, v in item.items()}))
    return _entries(rows, field)


def _text(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) else value
