"""A process's background jobs (index creation, the reconciler), which end when asked to.

They are stopped by asking, never by a cancel. A cancel lands in whatever store call the job is
making, and on Python 3.11 one that lands while PyMongo waits on a condition (server selection,
a pool checkout) can be swallowed (`asyncio.wait_for` hands back the result instead) or turn
into "RuntimeError: Lock is not acquired": the job then runs on, and a shutdown that waits for
it waits forever. Asked to stop, a job stops waiting for the call it is in (`Stopping.unless`:
the call goes on to its own end, bounded by its client's timeouts, and its outcome is dropped)
and ends. A stop waits a grace period for its jobs; one still running after it is cancelled
and left behind, so a stop always ends. Once the clients are closed, `drain` gives the calls
left behind a moment to fail on their own, before the event loop's end would cancel them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import structlog
from pymongo.errors import PyMongoError

from app.store import Store, drop_outcome

log = structlog.get_logger(__name__)

T = TypeVar("T")
# How long a stop waits for its jobs (they end at once, but for letting go of a Redis lock),
# and for the store's client to close.
GRACE_SECONDS = 5.0
# How long a stop waits for a job it had to cancel, and `drain` for the calls left behind.
AFTER_CANCEL_SECONDS = 1.0


class Stopping:
    """What a job is told: whether to stop, and how to wait without being cancelled."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.left_behind: set[asyncio.Future[Any]] = set()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    async def within(self, seconds: float) -> bool:
        """Wait up to `seconds`, ending early when asked to stop; whether it was."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._event.wait()
        return self.is_set()

    async def unless(self, call: Coroutine[Any, Any, T]) -> T | None:
        """The answer of `call`, or None as soon as a stop is asked: the call is then left to
        end on its own, its outcome dropped. A cancel of the caller does not reach it either.
        Asked to stop already, the call is not made."""
        if self.is_set():
            call.close()
            return None
        running = asyncio.ensure_future(call)
        running.add_done_callback(drop_outcome)
        stop = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait({running, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not running.done():  # stopped, or the caller was cancelled
                self.left_behind.add(running)
                running.add_done_callback(self.left_behind.discard)
        return running.result() if running.done() else None


Job = Callable[[Stopping], Coroutine[Any, Any, None]]


async def bounded(call: Awaitable[object], seconds: float, what: str) -> None:
    """Await `call` for at most `seconds`; past that it is cancelled and not waited for (a
    close that hangs on a wedged client must not hold the process's shutdown)."""
    running = asyncio.ensure_future(call)
    await asyncio.wait({running}, timeout=seconds)
    if not running.done():
        log.warning("shutdown_step_abandoned", step=what, after_seconds=seconds)
        running.cancel()
        running.add_done_callback(drop_outcome)
    elif not running.cancelled() and (exc := running.exception()) is not None:
        log.warning("shutdown_step_failed", step=what, error=repr(exc))


class BackgroundJobs:
    """Jobs of one event loop that run until `stop`."""

    def __init__(self) -> None:
        self.stopping = Stopping()
        self._jobs: list[asyncio.Task[None]] = []

    def start(self, name: str, job: Job) -> None:
        task = asyncio.create_task(job(self.stopping), name=name)
        task.add_done_callback(_report_failure)
        self._jobs.append(task)

    async def stop(self, grace: float = GRACE_SECONDS) -> None:
        """Ask every job to end and wait up to `grace` seconds for them."""
        self.stopping.set()
        if not self._jobs:
            return
        _, late = await asyncio.wait(self._jobs, timeout=grace)
        if late:
            for job in late:
                log.warning("background_job_outlived_stop", job=job.get_name(), grace_seconds=grace)
                job.cancel()
            await asyncio.wait(late, timeout=AFTER_CANCEL_SECONDS)

    async def drain(self, seconds: float = AFTER_CANCEL_SECONDS) -> None:
        """After the clients are closed: wait up to `seconds` for the calls the jobs left
        behind, which then fail at once (the event loop's end would cancel them)."""
        if left := set(self.stopping.left_behind):
            await asyncio.wait(left, timeout=seconds)


def index_creation(store: Store, retry_seconds: float = 2.0) -> Job:
    """A job that creates the store's indexes, retrying while MongoDB is unreachable (so a
    process may start before its store)."""

    async def create(stopping: Stopping) -> None:
        while not stopping.is_set():
            try:
                await stopping.unless(store.ensure_indexes())
            except PyMongoError as exc:
                log.warning("store_unreachable_indexes_pending", error=str(exc))
                await stopping.within(retry_seconds)
            else:
                return

    return create


def _report_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("background_job_failed", job=task.get_name(), exc_info=exc)
