"""The settings directory: schools, early-years settings, resourced provisions and post-16
providers, loaded from a CSV in the shape of the DfE's published establishment data
(`URN`, `EstablishmentName`, `TypeOfEstablishment (name)`, `PhaseOfEducation (name)`,
`LA (name)`), with OnePlan's own optional columns (`OnePlanSettingType`, `ResourcedPlaces`,
`ResourcedNeed`, `InclusionKitemark`). Pure: parsing takes the text, not a file.

Section I of a plan names a setting: a URN the directory does not hold is refused, and a
section I type that contradicts the directory's is refused.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from oneplan_plans.domain.errors import Broken, RulesBroken
from oneplan_plans.events import Setting, SettingType

__all__ = ["DirectoryEntry", "SettingsDirectory", "parse_directory"]

# DfE establishment types that are special or post-16 settings; every other type is
# mainstream unless OnePlan's own column says otherwise (a resourced provision, say).
_DFE_TYPES: Mapping[str, SettingType] = {
    "community special school": SettingType.STATE_SPECIAL,
    "foundation special school": SettingType.STATE_SPECIAL,
    "academy special converter": SettingType.STATE_SPECIAL,
    "academy special sponsor led": SettingType.STATE_SPECIAL,
    "free schools special": SettingType.STATE_SPECIAL,
    "non-maintained special school": SettingType.INDEPENDENT_SPECIAL,
    "other independent special school": SettingType.INDEPENDENT_SPECIAL,
    "further education": SettingType.POST16_FE,
    "sixth form centres": SettingType.POST16_FE,
    "special post 16 institution": SettingType.SPECIALIST_POST16,
}


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """One setting."""

    urn: str
    name: str
    dfe_type: str
    phase: str
    local_authority: str
    setting_type: SettingType
    resourced_places: int | None = None
    resourced_need: str | None = None
    inclusion_kitemark: bool = False


class SettingsDirectory:
    """The settings by URN."""

    def __init__(self, entries: Iterable[DirectoryEntry]) -> None:
        self._by_urn = {entry.urn: entry for entry in entries}

    def __len__(self) -> int:
        return len(self._by_urn)

    def get(self, urn: str) -> DirectoryEntry | None:
        return self._by_urn.get(urn)

    def entries(self, setting_type: SettingType | None = None) -> list[DirectoryEntry]:
        """Every setting (of one section I type), by URN."""
        return sorted(
            (e for e in self._by_urn.values() if setting_type in (None, e.setting_type)),
            key=lambda e: e.urn,
        )

    def check(self, setting: Setting, field: str = "setting") -> Setting:
        """The setting with its type from the directory; refused (422 at `field`) when its URN
        is unknown or its type contradicts the directory's."""
        if setting.urn is None:
            return setting
        entry = self.get(setting.urn)
        if entry is None:
            raise RulesBroken(
                [Broken(f"{field}.urn", "is not a setting in the settings directory")]
            )
        if setting.type is not None and setting.type is not entry.setting_type:
            raise RulesBroken(
                [
                    Broken(
                        f"{field}.type",
                        f"the directory lists URN {entry.urn} as {entry.setting_type.value}",
                    )
                ]
            )
        return Setting(name=setting.name, urn=setting.urn, type=entry.setting_type)


def _entry(row: Mapping[str, str]) -> DirectoryEntry:
    dfe_type = row["TypeOfEstablishment (name)"].strip()
    own = (row.get("OnePlanSettingType") or "").strip()
    places = (row.get("ResourcedPlaces") or "").strip()
    return DirectoryEntry(
        urn=row["URN"].strip(),
        name=row["EstablishmentName"].strip(),
        dfe_type=dfe_type,
        phase=row["PhaseOfEducation (name)"].strip(),
        local_authority=row["LA (name)"].strip(),
        setting_type=SettingType(own)
        if own
        else _DFE_TYPES.get(dfe_type.lower(), SettingType.MAINSTREAM),
        resourced_places=int(places) if places else None,
        resourced_need=(row.get("ResourcedNeed") or "").strip() or None,
        inclusion_kitemark=(row.get("InclusionKitemark") or "").strip().lower()
        in ("yes", "true", "1"),
    )


def parse_directory(text: str) -> SettingsDirectory:
    """The directory in a CSV of the DfE's shape; ValueError naming the line at fault."""
    entries = []
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        try:
            entry = _entry(row)
        except (KeyError, ValueError, AttributeError) as error:
            raise ValueError(f"settings directory line {line}: {error}") from error
        if not (len(entry.urn) == 6 and entry.urn.isdigit()):
            raise ValueError(f"settings directory line {line}: URN {entry.urn!r} is not 6 digits")
        entries.append(entry)
    return SettingsDirectory(entries)
