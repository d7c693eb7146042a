"""Alembic environment of the kit's test service: the two lines every service writes."""

from oneplan_kit.migrations import run_env

run_env(None)
