"""The directory of services referrals go to: public, as data and in the Open Referral UK
shape."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from oneplan_kit.access import Public
from oneplan_kit.runtime import RuntimeDep
from oneplan_referrals.adapters.directory import load_directory
from oneplan_referrals.config import ReferralsSettings
from oneplan_referrals.domain.directory import Directory, DirectoryEntry

__all__ = ["DirectoryDep", "router"]

router = APIRouter(prefix="/v1", tags=["directory"])


def _directory(runtime: RuntimeDep) -> Directory:
    settings = runtime.settings
    path = settings.directory_csv if isinstance(settings, ReferralsSettings) else None
    return load_directory(path)


DirectoryDep = Annotated[Directory, Depends(_directory)]
"""The service's directory (loaded once from the CSV the settings name)."""


@router.get(
    "/directory",
    summary="The services a child can be referred to",
    response_model=list[DirectoryEntry],
)
async def list_services(_: Public, directory: DirectoryDep) -> list[DirectoryEntry]:
    """Every service of the directory, by name: what it offers, ages, referral criteria,
    contact. Public: the directory holds nothing about any child."""
    return directory.listed()


@router.get(
    "/directory.oruk.json",
    summary="The directory in the Open Referral UK (HSDS) shape",
    response_model=dict[str, Any],
)
async def oruk(_: Public, directory: DirectoryDep) -> dict[str, Any]:
    """A page of ORUK services (all of them): each with its organization, eligibility,
    age range, contacts and taxonomy terms."""
    return directory.oruk()
