"""`oneplan demo`: load a synthetic scenario through the public HTTP APIs of running services.

Each service package may provide a module ``oneplan_<name>.demo`` with::

    async def run(ctx: DemoContext) -> None: ...

The runner calls them in journey order (children, consent, plans, referrals, socialcare,
transport, insights, then any other service alphabetically), skipping services that are not in
``services/`` or have no demo module. A step passes ids to later steps through
``ctx.scenario`` (for example ``ctx.scenario["children"]``) and reports what it does with
``ctx.progress(...)``. Every piece of data is synthetic.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

import httpx

from oneplan_kit.dev import ServiceInfo, discover_services

DEFAULT_BASE_URL_TEMPLATE = "http://127.0.0.1:{port}"

TokenMinter = Callable[[str, Sequence[str], Sequence[str]], str]


class DemoError(RuntimeError):
    """The demo cannot go on; the message says why and what to do."""


class DemoStep(Protocol):
    """What ``oneplan_<name>.demo.run`` must be."""

    def __call__(self, ctx: DemoContext) -> Awaitable[None]: ...


@dataclass
class DemoContext:
    """What a service's demo step gets: URLs, tokens, an HTTP client and the shared scenario.

    ``scenario`` is one dict shared by every step, in journey order, so the children step can
    leave ``scenario["children"]`` for the consent step and so on. Keys are the steps' own
    agreement; document the ones you add in ``docs/demo.md``.
    """

    client: httpx.AsyncClient
    scenario: dict[str, Any]
    base_urls: dict[str, str]
    mint: TokenMinter
    out: TextIO
    current: str = ""
    _started: float = field(default_factory=time.monotonic)

    def base_url(self, service: str) -> str:
        """The root URL of a running service, e.g. ``http://127.0.0.1:8001``."""
        try:
            return self.base_urls[service]
        except KeyError:
            raise DemoError(f"service {service!r} is not part of this run") from None

    def has(self, service: str) -> bool:
        """Whether a service takes part in this run (a step may add to another's data)."""
        return service in self.base_urls

    def token(
        self, agency: str, roles: Sequence[str] = ("caseworker",), children: Sequence[str] = ()
    ) -> str:
        """A development bearer token for ``agency`` with ``roles`` (family users: ``children``)."""
        return self.mint(agency, list(roles), [str(child) for child in children])

    def auth(
        self, agency: str, roles: Sequence[str] = ("caseworker",), children: Sequence[str] = ()
    ) -> dict[str, str]:
        """An ``Authorization`` header for :meth:`token`'s arguments."""
        return {"Authorization": f"Bearer {self.token(agency, roles, children)}"}

    def progress(self, message: str) -> None:
        """Print one progress line, prefixed with the elapsed time and the current service."""
        elapsed = time.monotonic() - self._started
        self.out.write(f"[{elapsed:6.1f}s] {self.current:<10} {message}\n")
        self.out.flush()


def demo_step(service: str) -> DemoStep | None:
    """The service's ``run`` coroutine function, or None when it ships no demo module."""
    module_name = f"oneplan_{service}.demo"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        # Only a missing demo module means "no demo"; a broken import inside it must surface.
        if error.name == module_name:
            return None
        if error.name == module_name.removesuffix(".demo"):
            raise DemoError(f"{error.name} is not installed: run `uv sync`") from error
        raise
    step = getattr(module, "run", None)
    if step is None or not callable(step):
        raise DemoError(f"{module_name} has no run(ctx) coroutine function")
    return step  # type: ignore[no-any-return]  # checked callable above; shape is documented


def base_urls_for(services: Sequence[ServiceInfo], template: str) -> dict[str, str]:
    """Each service's URL from a template naming ``{name}`` and/or ``{port}``."""
    return {
        service.name: template.format(name=service.name, port=service.port).rstrip("/")
        for service in services
    }


async def check_reachable(client: httpx.AsyncClient, name: str, url: str) -> None:
    """Fail with a clear message unless the service answers ``/readyz`` with 200."""
    try:
        response = await client.get(f"{url}/readyz", timeout=5.0)
    except httpx.HTTPError as error:
        raise DemoError(
            f"service {name} is not reachable at {url} ({error.__class__.__name__}: {error}); "
            "start the services with `./oneplan dev` in another terminal first"
        ) from error
    if response.status_code != 200:
        raise DemoError(
            f"service {name} at {url} is not ready (/readyz answered {response.status_code}: "
            f"{response.text[:300]})"
        )


async def run_demo(
    root: Path,
    mint: TokenMinter,
    out: TextIO,
    *,
    template: str = DEFAULT_BASE_URL_TEMPLATE,
    port_offset: int = 0,
) -> dict[str, Any]:
    """Run every service's demo step in journey order; returns the shared scenario."""
    services = discover_services(port_offset)
    if not services:
        raise DemoError(f"no services found under {root / 'services'}")
    urls = base_urls_for(services, template)
    async with httpx.AsyncClient(timeout=30.0) as client:
        ctx = DemoContext(client=client, scenario={}, base_urls=urls, mint=mint, out=out)
        for service in services:
            await check_reachable(client, service.name, urls[service.name])
        for service in services:
            await _run_step(ctx, service.name)
    ctx.current = ""
    ctx.progress("demo loaded")
    return ctx.scenario


async def _run_step(ctx: DemoContext, service: str) -> None:
    ctx.current = service
    step = demo_step(service)
    if step is None:
        ctx.progress(f"no demo steps (no oneplan_{service}.demo module)")
        return
    try:
        await step(ctx)
    except httpx.HTTPStatusError as error:
        response = error.response
        raise DemoError(
            f"{service} demo: {response.request.method} {response.request.url} answered "
            f"{response.status_code}: {response.text[:500]}"
        ) from error
    except httpx.HTTPError as error:
        raise DemoError(f"{service} demo: {error.__class__.__name__}: {error}") from error
