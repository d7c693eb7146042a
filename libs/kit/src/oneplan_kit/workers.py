"""Background work of a service, supervised: started, restarted with backoff, reported, stopped.

Everything a service runs beside its HTTP API goes through one :class:`Supervisor`: the outbox
relay, each consumer and stream follower, the consent replica, the idempotency-key retention,
and the workers a service declares (``ServiceDefinition.workers``: consent expiry, deadline
reminders...). A job that raises is logged and started again after a backoff (0.5 s doubling
to 30 s, reset once it has run a minute); ``/readyz`` shows each job's state; on shutdown the
jobs stop in the reverse order of their start, each given ``grace`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from oneplan_kit.runtime import Runtime

__all__ = ["Job", "JobState", "Supervisor", "WorkerContext"]

_log = logging.getLogger("oneplan_kit.workers")

_FIRST_BACKOFF: Final = 0.5
_MAX_BACKOFF: Final = 30.0
_HEALTHY_AFTER: Final = 60.0


@dataclass
class WorkerContext:
    """What a worker gets: the running service, and a way to wait that ends on shutdown."""

    runtime: Runtime
    stopping: asyncio.Event

    @property
    def now(self) -> datetime:
        """The service clock's current instant."""
        return self.runtime.clock.now()

    async def sleep(self, seconds: float) -> bool:
        """Wait ``seconds``; False when the service is stopping (return then)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), max(seconds, 0.0))
        return not self.stopping.is_set()


@dataclass
class JobState:
    """What ``/readyz`` says about one job."""

    running: bool = False
    restarts: int = 0
    last_error: str | None = None
    started_at: float | None = None


@dataclass
class Job:
    """One supervised piece of background work.

    ``run`` does the work until it is told to stop; ``stop`` (optional) tells it to, for work
    with its own stop protocol (a consumer finishing its batch); without one the stopping
    event is the signal. ``required`` jobs make the service not ready while they are down.
    """

    name: str
    run: Callable[[], Awaitable[None]]
    stop: Callable[[], Awaitable[None] | None] | None = None
    required: bool = True
    state: JobState = field(default_factory=JobState)


class Supervisor:
    """Runs jobs until :meth:`stop`, restarting the ones that fail."""

    def __init__(self, *, grace: float) -> None:
        self.grace = grace
        self.stopping = asyncio.Event()
        self.jobs: dict[str, Job] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, job: Job) -> None:
        """Start supervising ``job`` (its name must be unique)."""
        if job.name in self.jobs:
            raise ValueError(f"a job named {job.name} runs already")
        self.jobs[job.name] = job
        job.state.running = True  # from now on; the task may not have been scheduled yet
        self._tasks[job.name] = asyncio.create_task(self._keep_running(job), name=job.name)

    def running(self, name: str) -> bool:
        """True while the job ``name`` is running (not stopped, not waiting to restart)."""
        job = self.jobs.get(name)
        return job is not None and job.state.running

    async def _keep_running(self, job: Job) -> None:
        loop = asyncio.get_running_loop()
        backoff = _FIRST_BACKOFF
        while not self.stopping.is_set():
            job.state.running, job.state.started_at = True, loop.time()
            try:
                await job.run()
            except asyncio.CancelledError:
                job.state.running = False
                raise
            except Exception as error:
                job.state.last_error = f"{type(error).__name__}: {error}"
                _log.error("background job %s failed; restarting", job.name, exc_info=error)
            else:
                if self.stopping.is_set():
                    break
                job.state.last_error = "returned while the service was running"
                _log.error("background job %s stopped by itself; restarting", job.name)
            job.state.running = False
            job.state.restarts += 1
            if loop.time() - (job.state.started_at or 0.0) > _HEALTHY_AFTER:
                backoff = _FIRST_BACKOFF
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF)
        job.state.running = False

    async def stop(self) -> None:
        """Stop every job, the last started first, each within ``grace`` seconds."""
        self.stopping.set()
        for name in reversed(list(self.jobs)):
            await self._stop_one(self.jobs[name], self._tasks[name])

    async def _stop_one(self, job: Job, task: asyncio.Task[None]) -> None:
        if job.stop is not None:
            try:
                result = job.stop()
                if result is not None:
                    await result
            except Exception:
                _log.warning("stopping %s failed", job.name, exc_info=True)
        try:
            await asyncio.wait_for(asyncio.shield(task), self.grace)
        except TimeoutError:
            _log.warning("%s did not stop in %ss; cancelling", job.name, self.grace)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        except Exception:
            _log.debug("%s ended with an error (already reported)", job.name)

    def report(self) -> dict[str, dict[str, Any]]:
        """Each job's state, for ``/readyz``."""
        return {
            name: {
                "running": job.state.running,
                "restarts": job.state.restarts,
                "last_error": job.state.last_error,
                "required": job.required,
            }
            for name, job in self.jobs.items()
        }
