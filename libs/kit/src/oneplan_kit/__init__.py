"""oneplan_kit: the one shape of every OnePlan service.

A service is a :class:`ServiceDefinition` (found through the ``oneplan.services`` entry point)
that :func:`create_app` runs: deciders executed by the command pipeline (:data:`CommandDep`),
routes whose principals are declared in their signatures (:mod:`oneplan_kit.access`), domain
errors mapped to problem documents in one table, reactions to other services' events
(:class:`Subscription`), supervised workers (:class:`Worker`), one table style
(:mod:`oneplan_kit.tables`) and the kit's Alembic environment. ``oneplan new-service NAME``
scaffolds one; ``docs/service-kit.md`` walks through it.
"""

from oneplan_kit.access import (
    AgencyStaff,
    Allow,
    Authenticated,
    Caller,
    ChildReader,
    FamilyOrPractitioner,
    Practitioner,
    Public,
    Reader,
    Role,
    SafeguardingLead,
    SendManager,
    SendStaff,
)
from oneplan_kit.app import create_app
from oneplan_kit.auth import CurrentPrincipal, Principal, TokenVerifier, issue_dev_token
from oneplan_kit.clock import NowDep, TodayDep
from oneplan_kit.commands import Command, CommandDep, ReadDep
from oneplan_kit.config import DevelopmentKeyOutsideDevelopment, ServiceSettings
from oneplan_kit.consistency import CONSISTENCY_HEADER, ReplicaDep
from oneplan_kit.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    IfMatchVersion,
    NotFound,
    PreconditionRequired,
    ProblemError,
    ServiceUnavailable,
    Unauthorized,
    ValidationProblem,
    VersionConflict,
    etag_for,
    parse_if_match,
    problem_type,
)
from oneplan_kit.runtime import Runtime, RuntimeDep
from oneplan_kit.service import EVERY_SERVICE, ServiceDefinition, Subscription, Worker
from oneplan_kit.workers import WorkerContext

__all__ = [
    "CONSISTENCY_HEADER",
    "EVERY_SERVICE",
    "AgencyStaff",
    "Allow",
    "Authenticated",
    "BadRequest",
    "Caller",
    "ChildReader",
    "Command",
    "CommandDep",
    "Conflict",
    "CurrentPrincipal",
    "DevelopmentKeyOutsideDevelopment",
    "FamilyOrPractitioner",
    "Forbidden",
    "IfMatchVersion",
    "NotFound",
    "NowDep",
    "Practitioner",
    "PreconditionRequired",
    "Principal",
    "ProblemError",
    "Public",
    "ReadDep",
    "Reader",
    "ReplicaDep",
    "Role",
    "Runtime",
    "RuntimeDep",
    "SafeguardingLead",
    "SendManager",
    "SendStaff",
    "ServiceDefinition",
    "ServiceSettings",
    "ServiceUnavailable",
    "Subscription",
    "TodayDep",
    "TokenVerifier",
    "Unauthorized",
    "ValidationProblem",
    "VersionConflict",
    "Worker",
    "WorkerContext",
    "create_app",
    "etag_for",
    "issue_dev_token",
    "parse_if_match",
    "problem_type",
]
