"""oneplan_kit: the shared service kit (settings, app factory, unit of work, auth, errors).

See ``docs/service-kit.md`` for a complete minimal service.
"""

from oneplan_kit.app import create_app
from oneplan_kit.auth import (
    CurrentPrincipal,
    Principal,
    TokenVerifier,
    issue_dev_token,
    require_roles,
)
from oneplan_kit.clock import RequestNow, RequestToday
from oneplan_kit.config import DevelopmentKeyOutsideDevelopment, ServiceSettings
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
from oneplan_kit.idempotency import Idempotency, IdempotencyDep
from oneplan_kit.runtime import Runtime, RuntimeDep, ServiceDefinition, UnitOfWorkDep
from oneplan_kit.uow import UnitOfWork

__all__ = [
    "BadRequest",
    "Conflict",
    "CurrentPrincipal",
    "DevelopmentKeyOutsideDevelopment",
    "Forbidden",
    "Idempotency",
    "IdempotencyDep",
    "IfMatchVersion",
    "NotFound",
    "PreconditionRequired",
    "Principal",
    "ProblemError",
    "RequestNow",
    "RequestToday",
    "Runtime",
    "RuntimeDep",
    "ServiceDefinition",
    "ServiceSettings",
    "ServiceUnavailable",
    "TokenVerifier",
    "Unauthorized",
    "UnitOfWork",
    "UnitOfWorkDep",
    "ValidationProblem",
    "VersionConflict",
    "create_app",
    "etag_for",
    "issue_dev_token",
    "parse_if_match",
    "problem_type",
    "require_roles",
]
