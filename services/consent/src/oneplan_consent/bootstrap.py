"""The composition root: the consent service as the kit builds and runs it.

`SERVICE` is found through the `oneplan.services` entry point (pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Iterable

from oneplan_consent.adapters.tables import Base
from oneplan_consent.config import ConsentSettings
from oneplan_consent.domain.aggregates import (
    AlreadyEnded,
    AlreadyRecorded,
    ConsentRefused,
    NotRecorded,
)
from oneplan_consent.domain.who_may_consent import Issue
from oneplan_consent.entrypoints import consents, decisions, overrides
from oneplan_consent.entrypoints.consumers import CHILD_FACTS, DISCLOSURES
from oneplan_consent.events import CATALOGUE
from oneplan_consent.service_layer.expiry import EXPIRY_WORKER
from oneplan_consent.service_layer.handlers import ChildUnknown
from oneplan_kit import Conflict, NotFound, ProblemError, ServiceDefinition, ValidationProblem

__all__ = ["SERVICE", "refused"]


def refused(issues: Iterable[Issue]) -> ValidationProblem:
    """422 listing each rule the request breaks, at the field it concerns."""
    listed = list(issues)
    errors = [
        {"location": ["body", *issue.field.split(".")], "message": issue.message, "type": "rule"}
        for issue in listed
    ]
    return ValidationProblem(errors, detail="; ".join(issue.message for issue in listed))


def _unknown_child(error: ChildUnknown) -> ProblemError:
    return NotFound(
        f"The consent service does not know child {error.child_id}: it learns children from "
        "the children service's events (register the child there first, or retry in a "
        "moment).",
        child_id=str(error.child_id),
    )


SERVICE = ServiceDefinition(
    name="consent",
    title="OnePlan consent",
    description="Consents, safeguarding overrides, statutory duties, sharing decisions "
    "and the disclosure log families can read.",
    port=8002,
    journey_step=20,
    catalogue=CATALOGUE,
    settings_cls=ConsentSettings,
    tables=Base.metadata,
    routers=[consents.router, overrides.router, decisions.router],
    errors={
        ConsentRefused: lambda error: refused(error.issues),
        AlreadyEnded: lambda error: Conflict(str(error)),
        AlreadyRecorded: lambda error: Conflict(str(error)),
        NotRecorded: lambda error: NotFound(str(error)),
        ChildUnknown: _unknown_child,
    },
    subscriptions=[CHILD_FACTS, DISCLOSURES],
    workers=[EXPIRY_WORKER],
    uses_consent_replica=True,
    consistency_tokens=True,
)
