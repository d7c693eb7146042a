"""The composition root: the referrals service as the kit builds and runs it.

`SERVICE` is found through the `oneplan.services` entry point (pyproject.toml); the app, the
CLI, `oneplan dev` and the generated deployment files (`./oneplan generate`) all start from it.
"""

from __future__ import annotations

import logging

from oneplan_events.store import ConcurrencyError
from oneplan_kit import Conflict, NotFound, ServiceDefinition, ValidationProblem
from oneplan_kit.runtime import Runtime
from oneplan_referrals.adapters.directory import load_directory
from oneplan_referrals.adapters.tables import Base
from oneplan_referrals.config import ReferralsSettings
from oneplan_referrals.domain import errors
from oneplan_referrals.entrypoints import advice, directory, referrals
from oneplan_referrals.entrypoints.consumers import ADVICE_REQUESTS, CHILDREN, STORIES
from oneplan_referrals.events import CATALOGUE
from oneplan_referrals.service_layer.directory import sync

__all__ = ["SERVICE"]


def _invalid(error: errors.InvalidInput) -> ValidationProblem:
    """422 naming the field the rule refuses."""
    return ValidationProblem(
        [{"location": ["body", error.field], "message": error.message, "type": "rule"}],
        detail=str(error),
    )


_log = logging.getLogger(__name__)

# Instances starting together race to list the same services: the loser reads again.
_SYNC_ATTEMPTS = 3


async def _load_directory(runtime: Runtime) -> None:
    """Bring the directory to the CSV file (each listing and change an event); a faulty
    file stops the start with its faults, not the first referral."""
    settings = runtime.settings
    loaded = load_directory(
        settings.directory_csv if isinstance(settings, ReferralsSettings) else None
    )
    for attempt in range(1, _SYNC_ATTEMPTS + 1):
        try:
            async with runtime.unit_of_work() as uow:
                synced = await sync(uow, loaded)
                await uow.commit()
        except (ConcurrencyError, errors.AlreadyRecorded):
            if attempt == _SYNC_ATTEMPTS:
                raise
            continue
        if synced.listed or synced.changed:
            _log.info(
                "directory loaded",
                extra={"listed": len(synced.listed), "changed": len(synced.changed)},
            )
        return


SERVICE = ServiceDefinition(
    name="referrals",
    title="OnePlan referrals",
    description=(
        "Health's own records: referrals to Rise, CAMHS and other children's health services, "
        "triage, appointments and the 18-week wait to a first appointment, discharge, and "
        "health advice for EHC needs assessments."
    ),
    port=8004,
    journey_step=40,
    catalogue=CATALOGUE,
    # Health's data: other agencies read it only with a permit.
    owner_agency="health",
    settings_cls=ReferralsSettings,
    tables=Base.metadata,
    routers=[directory.router, referrals.router, advice.router],
    errors={
        errors.InvalidInput: _invalid,
        errors.NotFound: lambda error: NotFound(str(error)),
        errors.AlreadyRecorded: lambda error: Conflict(str(error)),
        errors.WrongState: lambda error: Conflict(str(error)),
    },
    subscriptions=[CHILDREN, STORIES, ADVICE_REQUESTS],
    on_startup=[_load_directory],
    uses_consent_replica=True,
)
