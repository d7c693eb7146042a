"""The API routes of an app as the client sees them (included routers flattened, prefixes
applied): what the kit's checks and its OpenAPI rewriting walk."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

__all__ = ["ApiRoute", "api_routes", "dependency_calls"]


@dataclass(frozen=True, slots=True)
class ApiRoute:
    """One API route: its methods, its full path and its dependencies."""

    methods: frozenset[str]
    path: str
    dependant: Dependant
    include_in_schema: bool
    declared_responses: frozenset[str] = frozenset()
    """Status codes the route documents itself (``responses=`` on the decorator)."""


def api_routes(routes: Sequence[BaseRoute]) -> list[ApiRoute]:
    """Every API route under ``routes`` (an app's or a router's), included routers flattened."""
    found = []
    for context in iter_route_contexts(routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        dependant: Any = context.dependant
        found.append(
            ApiRoute(
                frozenset(context.methods or ()),
                str(context.path_format),
                dependant,
                bool(context.include_in_schema),
                frozenset(str(code) for code in context.original_route.responses),
            )
        )
    return found


def dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """Every callable a route depends on, however deep."""
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from dependency_calls(sub)
