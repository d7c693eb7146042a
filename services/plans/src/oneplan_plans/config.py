"""Settings of the plans service.

Environment variables prefixed `PLANS_`, and the shared `ONEPLAN_*` ones.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from oneplan_kit.config import ServiceSettings
from oneplan_plans.domain.plan_types import PlanTypes, parse_plan_types
from oneplan_plans.domain.settings_directory import SettingsDirectory, parse_directory

__all__ = ["PlansSettings", "load_directory", "load_plan_types"]


class PlansSettings(ServiceSettings):
    """`PLANS_DATABASE_URL`, `PLANS_SETTINGS_DIRECTORY` and the shared `ONEPLAN_*` settings."""

    model_config = SettingsConfigDict(env_prefix="PLANS_")

    settings_directory: Path | None = Field(
        default=None,
        description="A CSV of settings in the DfE's establishment-data shape (default: the "
        "synthetic directory shipped for the demo).",
    )

    plan_types_file: Path | None = Field(
        default=None,
        description="`PLANS_PLAN_TYPES_FILE`: a YAML list of plan types (default: the EHC "
        "plan and the SEN support plan, `data/plan_types.yaml`).",
    )

    def directory(self) -> SettingsDirectory:
        """The settings directory (read once per file)."""
        return load_directory(self.settings_directory)

    def plan_types(self) -> PlanTypes:
        """The plan types vocabulary (read once per file)."""
        return load_plan_types(self.plan_types_file)


@cache
def load_directory(path: Path | None) -> SettingsDirectory:
    """The directory in `path`, or the synthetic one shipped with the service."""
    if path is None:
        text = files("oneplan_plans").joinpath("data/settings.csv").read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    return parse_directory(text)


@cache
def load_plan_types(path: Path | None) -> PlanTypes:
    """The plan types in `path`, or the ones shipped with the service."""
    if path is None:
        text = files("oneplan_plans").joinpath("data/plan_types.yaml").read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    return parse_plan_types(text)
