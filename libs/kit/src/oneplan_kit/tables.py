"""The house style of every service's own tables: one naming convention, native UUIDs and
timezone-aware timestamps on PostgreSQL and SQLite alike.

Each service declares its base in three lines (its own ``MetaData``, so two services' tables
never mix even in one test process)::

    class Base(DeclarativeBase):
        metadata = house_metadata()
        type_annotation_map = HOUSE_TYPES

``Mapped[UUID]`` is then a native ``uuid`` column on PostgreSQL (and SQLAlchemy's portable
``Uuid`` on SQLite), ``Mapped[datetime]`` a UTC ``timestamptz`` that never hands back a naive
datetime, and constraint and index names follow ``NAMING_CONVENTION`` (the backbone's).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

from sqlalchemy import MetaData, Uuid

from oneplan_events.schema import NAMING_CONVENTION, UtcDateTime

__all__ = ["HOUSE_TYPES", "NAMING_CONVENTION", "house_metadata"]

HOUSE_TYPES: Final[dict[Any, Any]] = {
    uuid.UUID: Uuid(native_uuid=True),
    datetime: UtcDateTime(),
}
"""``type_annotation_map`` of every service's declarative base."""


def house_metadata() -> MetaData:
    """A new ``MetaData`` with the house naming convention, for one service's tables."""
    return MetaData(naming_convention=NAMING_CONVENTION)
