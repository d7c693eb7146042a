"""The composition root: the plans service as the kit builds and runs it.

`SERVICE` is found through the `oneplan.services` entry point (pyproject.toml); the app, the
CLI, `oneplan dev` and the generated deployment files (`./oneplan generate`) all start from it.
"""

from __future__ import annotations

from oneplan_kit import Conflict, Forbidden, NotFound, ServiceDefinition, ValidationProblem
from oneplan_kit.rebuild import ReadModel
from oneplan_plans.adapters import shared_plan_tables as shared
from oneplan_plans.adapters import support_tables  # noqa: F401 - its tables join Base.metadata
from oneplan_plans.adapters.shared_plan_store import prefetch_page
from oneplan_plans.adapters.tables import Base
from oneplan_plans.config import PlansSettings
from oneplan_plans.domain.errors import (
    AlreadyRecorded,
    NotPermitted,
    NotRecorded,
    RulesBroken,
    StepOutOfOrder,
)
from oneplan_plans.entrypoints import assessments, plans, reads, shared_plan, support
from oneplan_plans.entrypoints.consumers import ADVICE, CHILD_FACTS
from oneplan_plans.entrypoints.shared_plan_consumers import (
    CONTRIBUTIONS,
    PLANS_JOURNEY,
    REFERRALS_APPOINTMENTS,
    REFERRALS_JOURNEY,
    TRANSPORT_JOURNEY,
)
from oneplan_plans.events import CATALOGUE

__all__ = ["SERVICE", "refused"]


def refused(error: RulesBroken) -> ValidationProblem:
    """422 naming each broken rule at the field it concerns."""
    errors = [
        {"location": ["body", *item.field.split(".")], "message": item.message, "type": "rule"}
        for item in error.broken
    ]
    return ValidationProblem(errors, detail=str(error))


SERVICE = ServiceDefinition(
    name="plans",
    title="OnePlan plans",
    description=(
        "EHC needs assessments and EHC plans: the statutory process as events, every "
        "deadline computed from the law and explained, advice requests to the agencies, "
        "draft and final plans, amendments and reviews."
    ),
    port=8003,
    journey_step=30,
    catalogue=CATALOGUE,
    # The SEND team (the local authority) owns assessment and plan records.
    owner_agency="send",
    settings_cls=PlansSettings,
    tables=Base.metadata,
    routers=[assessments.router, plans.router, reads.router, shared_plan.router, support.router],
    errors={
        RulesBroken: refused,
        StepOutOfOrder: lambda error: Conflict(str(error)),
        AlreadyRecorded: lambda error: Conflict(str(error)),
        NotRecorded: lambda error: NotFound(str(error)),
        NotPermitted: lambda error: Forbidden(str(error)),
    },
    subscriptions=[
        CHILD_FACTS,
        ADVICE,
        CONTRIBUTIONS,
        PLANS_JOURNEY,
        REFERRALS_JOURNEY,
        REFERRALS_APPOINTMENTS,
        TRANSPORT_JOURNEY,
    ],
    uses_consent_replica=True,
    read_models=[
        ReadModel(
            "shared_plan",
            tables=[
                shared.PlanItemRow.__tablename__,
                shared.PlanItemVersionRow.__tablename__,
                shared.TimelineStepRow.__tablename__,
                shared.PlanSourceRow.__tablename__,
                shared.LeadProfessionalRow.__tablename__,
            ],
            subscriptions=[
                CHILD_FACTS,
                CONTRIBUTIONS,
                PLANS_JOURNEY,
                REFERRALS_JOURNEY,
                REFERRALS_APPOINTMENTS,
                TRANSPORT_JOURNEY,
            ],
            prefetch=prefetch_page,
        )
    ],
)
