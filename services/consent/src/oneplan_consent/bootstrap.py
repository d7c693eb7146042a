"""The composition root: the consent service's definition and its background workers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

from fastapi import FastAPI

from oneplan_consent.config import ConsentSettings
from oneplan_consent.entrypoints import consents, decisions, overrides
from oneplan_consent.entrypoints.consumers import DisclosureLog, child_facts_consumer
from oneplan_consent.service_layer.expiry import ExpiryScheduler
from oneplan_events.consumer import DurableConsumer
from oneplan_events.streams import stream_for
from oneplan_kit import Runtime, ServiceDefinition
from oneplan_kit import create_app as kit_create_app

__all__ = ["bootstrap", "definition"]


def definition(settings: ConsentSettings) -> ServiceDefinition:
    """The consent service as the kit runs it."""

    def consumers(runtime: Runtime) -> Sequence[DurableConsumer]:
        return [
            child_facts_consumer(
                runtime,
                name=f"{settings.consumer_prefix}_child_facts",
                stream=settings.children_stream,
            )
        ]

    return ServiceDefinition(
        name="consent",
        title="OnePlan consent",
        description="Consents, safeguarding overrides, statutory duties, sharing decisions "
        "and the disclosure log families can read.",
        port=8002,
        stream=stream_for("consent"),
        migrations="oneplan_consent:migrations",
        settings_cls=ConsentSettings,
        routers=[consents.router, overrides.router, decisions.router],
        consumers=consumers,
        uses_consent_replica=True,
    )


def bootstrap(settings: ConsentSettings | None = None) -> FastAPI:
    """The app: the kit's lifespan, plus the expiry scheduler and the disclosure log."""
    settings = settings if settings is not None else ConsentSettings()
    app = kit_create_app(definition(settings), settings)
    kit_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with kit_lifespan(app), _workers(app.state.runtime, settings):
            yield

    app.router.lifespan_context = lifespan
    return app


@contextlib.asynccontextmanager
async def _workers(runtime: Runtime, settings: ConsentSettings) -> AsyncIterator[None]:
    # Why here and not in the kit: these workers are the consent service's own; they start
    # after the runtime and stop before it, so they never outlive the engine or NATS.
    expiry = ExpiryScheduler(runtime.unit_of_work, interval=settings.expiry_interval)
    disclosures = DisclosureLog(
        runtime, prefix=settings.consumer_prefix, interval=settings.discovery_interval
    )
    async with contextlib.AsyncExitStack() as stack:
        for name, worker in (("consent_expiry", expiry), ("disclosure_log", disclosures)):
            runtime.tasks[name] = asyncio.create_task(worker.run(), name=f"consent:{name}")
            stack.push_async_callback(_stop, runtime, name, worker)
        yield


async def _stop(runtime: Runtime, name: str, worker: ExpiryScheduler | DisclosureLog) -> None:
    await worker.stop()
    task = runtime.tasks[name]
    try:
        await asyncio.wait_for(task, runtime.settings.shutdown_timeout)
    except TimeoutError:
        task.cancel()
