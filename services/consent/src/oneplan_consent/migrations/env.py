"""Alembic environment of the consent service."""

from oneplan_consent.adapters.tables import CONSENT_METADATA
from oneplan_kit.migrations import run_env

run_env(CONSENT_METADATA)
