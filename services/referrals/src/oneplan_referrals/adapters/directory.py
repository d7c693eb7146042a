"""Loading the directory of services: the CSV file the settings name, or the shipped one."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from oneplan_referrals.domain.directory import Directory, demo_directory_csv, parse_directory

__all__ = ["load_directory"]


@lru_cache(maxsize=8)
def load_directory(path: Path | None) -> Directory:
    """The directory read from ``path`` (UTF-8 CSV), or the synthetic one when None; a
    faulty file raises :class:`~oneplan_referrals.domain.directory.DirectoryError`."""
    text = demo_directory_csv() if path is None else path.read_text("utf-8")
    return parse_directory(text)
