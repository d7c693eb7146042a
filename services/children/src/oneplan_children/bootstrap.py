"""The composition root: the children service as the kit builds and runs it.

`SERVICE` is found through the `oneplan.services` entry point (pyproject.toml); the app, the
CLI, the dev runner and the deployment files all start from it.
"""

from __future__ import annotations

from oneplan_children.adapters.tables import Base
from oneplan_children.config import ChildrenSettings
from oneplan_children.domain.identifiers import InvalidIdentifier
from oneplan_children.domain.model import (
    InvalidCommand,
    MemberNotFound,
    RecordAlreadyExists,
    RecordMerged,
    RecordNotFound,
)
from oneplan_children.entrypoints.routes import router
from oneplan_children.entrypoints.views import child_href
from oneplan_children.events import CATALOGUE
from oneplan_children.service_layer.handlers import DuplicateIdentifier
from oneplan_events.vocabulary import Agency
from oneplan_kit import Conflict, NotFound, ProblemError, ServiceDefinition, ValidationProblem
from oneplan_kit.errors import problem_type

__all__ = ["SERVICE"]


def _invalid(error: InvalidCommand) -> ProblemError:
    location = ["body", *error.field.split(".")]
    return ValidationProblem([{"location": location, "message": error.message}])


def _merged(error: RecordMerged) -> ProblemError:
    return Conflict(
        str(error), merged_into=str(error.survivor_id), survivor=child_href(error.survivor_id)
    )


def _duplicate(error: DuplicateIdentifier) -> ProblemError:
    links = [child_href(match.child_id) for match in error.matches]
    headers = {"Link": ", ".join(f'<{link}>; rel="duplicate"' for link in links)} if links else {}
    return ProblemError(
        409,
        problem_type("duplicate-child"),
        "The child already has a record",
        f"{error} (one child, one record): use the existing record.",
        headers=headers,
        existing=[
            {
                "child_id": str(match.child_id),
                "field": match.field,
                "href": child_href(match.child_id),
            }
            for match in error.matches
        ],
    )


SERVICE = ServiceDefinition(
    name="children",
    title="OnePlan children",
    description=(
        "The child's record and the family's story, told once: identity, family and network, "
        "the 'all about me' story, and the age facts other services need."
    ),
    port=8001,
    journey_step=10,
    catalogue=CATALOGUE,
    owner_agency=Agency.SEND,
    settings_cls=ChildrenSettings,
    tables=Base.metadata,
    routers=[router],
    errors={
        InvalidCommand: _invalid,
        RecordNotFound: lambda error: NotFound(str(error)),
        MemberNotFound: lambda error: NotFound(str(error)),
        RecordMerged: _merged,
        RecordAlreadyExists: lambda error: Conflict(str(error)),
        DuplicateIdentifier: _duplicate,
        InvalidIdentifier: lambda error: ValidationProblem(
            [{"location": ["body"], "message": str(error)}]
        ),
    },
    uses_consent_replica=True,
)
