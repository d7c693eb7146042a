"""The directory of services a child can be referred to, held as data.

A directory is read from CSV (one row a service; `data/directory.csv` is the synthetic one the
service ships for the demo) and exported in the Open Referral UK shape (HSDS 3.0 as profiled by
ORUK: services with their organization, eligibility, contacts and taxonomy terms). Pure: text
in, values out; loading a file is the caller's business. Each service of it is a record of its
own, listed, changed and retired by events (`domain/listing.py`); a :class:`Directory` is
what those records say now.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from oneplan_referrals.events import DirectoryEntry

__all__ = [
    "CSV_COLUMNS",
    "Directory",
    "DirectoryEntry",
    "DirectoryError",
    "demo_directory_csv",
    "parse_directory",
]

CSV_COLUMNS = (
    "id",
    "code",
    "name",
    "organisation_id",
    "organisation",
    "description",
    "min_age",
    "max_age",
    "referral_criteria",
    "email",
    "phone",
    "url",
    "categories",
)
"""The directory's CSV header, in order (`categories` separated by `;`)."""


class DirectoryError(ValueError):
    """A directory that cannot be used: each fault names its row and column."""

    def __init__(self, faults: list[str]) -> None:
        super().__init__("; ".join(faults))
        self.faults = faults


@dataclass(frozen=True)
class Directory:
    """The services, by id; ``retired`` ones keep their entry (a referral to one still
    names it) but take no new referrals and are not listed."""

    entries: Mapping[UUID, DirectoryEntry]
    retired: frozenset[UUID] = field(default_factory=frozenset)

    def get(self, service_id: UUID) -> DirectoryEntry | None:
        """The service with this id (retired or not), or None."""
        return self.entries.get(service_id)

    def takes_referrals(self, service_id: UUID) -> bool:
        """Whether the service is listed and not retired."""
        return service_id in self.entries and service_id not in self.retired

    def listed(self) -> list[DirectoryEntry]:
        """Every service not retired, by name."""
        active = (e for e in self.entries.values() if e.id not in self.retired)
        return sorted(active, key=lambda entry: (entry.name, str(entry.id)))

    def oruk(self) -> dict[str, Any]:
        """The directory as an Open Referral UK page of services (one page holding all)."""
        contents = [_oruk_service(entry) for entry in self.listed()]
        return {
            "total_items": len(contents),
            "total_pages": 1,
            "page_number": 1,
            "size": len(contents),
            "first_page": True,
            "last_page": True,
            "empty": not contents,
            "contents": contents,
        }


def _oruk_service(entry: DirectoryEntry) -> dict[str, Any]:
    contacts = [
        {
            "id": str(entry.id),
            "name": entry.name,
            "email": entry.email,
            "phones": [{"id": str(entry.id), "number": entry.phone}] if entry.phone else [],
        }
    ]
    return {
        "id": str(entry.id),
        "name": entry.name,
        "alternate_name": entry.code,
        "description": entry.description,
        "url": str(entry.url) if entry.url else None,
        "email": entry.email,
        "status": "active",
        "eligibility_description": entry.referral_criteria,
        "minimum_age": entry.min_age,
        "maximum_age": entry.max_age,
        "organization": {
            "id": str(entry.organisation_id),
            "name": entry.organisation,
        },
        "contacts": contacts,
        "taxonomy_terms": [
            {"id": f"oneplan:{term}", "name": term, "vocabulary": "oneplan-referrals"}
            for term in entry.categories
        ],
    }


def _row_values(row: Mapping[str, str | None]) -> dict[str, Any]:
    values: dict[str, Any] = {
        column: (row.get(column) or "").strip() or None for column in CSV_COLUMNS
    }
    values["categories"] = tuple(
        part.strip() for part in (values["categories"] or "").split(";") if part.strip()
    )
    return values


def parse_directory(text: str) -> Directory:
    """A directory from CSV text with the header :data:`CSV_COLUMNS`; every faulty row and
    column is reported at once (:class:`DirectoryError`)."""
    reader = csv.DictReader(io.StringIO(text))
    header = tuple(reader.fieldnames or ())
    missing = [column for column in CSV_COLUMNS if column not in header]
    if missing:
        raise DirectoryError([f"the header lacks {', '.join(missing)}"])
    faults: list[str] = []
    entries: dict[UUID, DirectoryEntry] = {}
    codes: set[str] = set()
    for number, row in enumerate(reader, start=2):
        try:
            entry = DirectoryEntry.model_validate(_row_values(row))
        except ValidationError as error:
            faults.extend(
                f"line {number}, {'.'.join(str(p) for p in fault['loc'])}: {fault['msg']}"
                for fault in error.errors()
            )
            continue
        if entry.id in entries or entry.code in codes:
            faults.append(f"line {number}, id: the service {entry.code} is listed twice")
        entries[entry.id] = entry
        codes.add(entry.code)
    if faults:
        raise DirectoryError(faults)
    return Directory(entries)


def demo_directory_csv() -> str:
    """The synthetic directory shipped with the service (Rise, CAMHS crisis, SALT, OT,
    community paediatrics, school nursing), as CSV text."""
    return resources.files("oneplan_referrals").joinpath("data/directory.csv").read_text("utf-8")
