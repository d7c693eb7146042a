"""The composition root: the transport service as the kit builds and runs it.

`SERVICE` is found through the `oneplan.services` entry point (pyproject.toml); the app, the
CLI, `oneplan dev` and the generated deployment files (`./oneplan generate`) all start from it.
"""

from __future__ import annotations

from oneplan_kit import Conflict, NotFound, ServiceDefinition, ValidationProblem
from oneplan_transport.adapters.tables import Base
from oneplan_transport.config import TransportSettings
from oneplan_transport.domain.model import (
    ArrangementBeforeEligibility,
    ArrangementExists,
    CaseNotFound,
    DecisionStands,
    NoArrangement,
    NoDecision,
    NoTraining,
    ReviewPending,
    TimesMakeNoSense,
    TrainingInProgress,
)
from oneplan_transport.entrypoints.consumers import CHILD_EVENTS, PLAN_EVENTS
from oneplan_transport.entrypoints.routes import router
from oneplan_transport.events import CATALOGUE
from oneplan_transport.service_layer.handlers import AgeUnknown

__all__ = ["SERVICE"]


def _field_fault(field: str, message: str) -> ValidationProblem:
    error = {"location": ["body", field], "message": message, "type": "rule"}
    return ValidationProblem([error], detail=message)


def _conflict(error: Exception) -> Conflict:
    return Conflict(str(error))


SERVICE = ServiceDefinition(
    name="transport",
    title="OnePlan transport",
    description=(
        "Home-to-school transport cases opened from EHC plan events: eligibility decisions, "
        "risk assessments, arrangements and independent travel training."
    ),
    port=8006,
    journey_step=60,
    catalogue=CATALOGUE,
    # The agency whose data this service's records are: others read them only with a permit.
    owner_agency="transport",
    settings_cls=TransportSettings,
    tables=Base.metadata,
    routers=[router],
    errors={
        CaseNotFound: lambda error: NotFound(str(error)),
        DecisionStands: _conflict,
        NoDecision: _conflict,
        ReviewPending: _conflict,
        ArrangementBeforeEligibility: _conflict,
        ArrangementExists: _conflict,
        NoArrangement: _conflict,
        TrainingInProgress: _conflict,
        NoTraining: _conflict,
        TimesMakeNoSense: lambda error: _field_fault(error.field, str(error)),
        AgeUnknown: lambda error: _field_fault("date_of_birth", str(error)),
    },
    subscriptions=[PLAN_EVENTS, CHILD_EVENTS],
    uses_consent_replica=True,
)
