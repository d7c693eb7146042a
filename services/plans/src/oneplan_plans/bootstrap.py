"""The composition root: the plans service as the kit builds and runs it.

`SERVICE` is found through the `oneplan.services` entry point (pyproject.toml); the app, the
CLI, `oneplan dev` and the generated deployment files (`./oneplan generate`) all start from it.
Add a reaction to another service's events with `subscriptions=[Subscription(...)]`, a
background job with `workers=[Worker(...)]` (docs/service-kit.md).
"""

from __future__ import annotations

from oneplan_kit import Conflict, ServiceDefinition
from oneplan_plans.adapters.tables import Base
from oneplan_plans.config import PlansSettings
from oneplan_plans.domain.model import NoteAlreadyRecorded
from oneplan_plans.entrypoints.routes import router
from oneplan_plans.events import CATALOGUE

__all__ = ["SERVICE"]

SERVICE = ServiceDefinition(
    name="plans",
    title="OnePlan plans",
    description=(
        "Notes about a child by the agency's practitioners, shared with other agencies "
        "as consent permits."
    ),
    port=8003,
    catalogue=CATALOGUE,
    # The agency whose data this service's records are: others read them only with a permit.
    owner_agency="plans",
    settings_cls=PlansSettings,
    tables=Base.metadata,
    routers=[router],
    errors={NoteAlreadyRecorded: lambda error: Conflict(str(error))},
    uses_consent_replica=True,
)
