"""Alembic environment of the children service (configured by oneplan_kit)."""

from oneplan_children.adapters.tables import Base
from oneplan_kit.migrations import run_env

run_env(Base.metadata)
