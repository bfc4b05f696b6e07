"""One asyncio loop per worker process, fed by Celery's thread pool.

Agents are I/O bound: each Celery thread hands its task to the process's event loop and waits,
so WORKER_CONCURRENCY tasks are in flight at once on one loop, one Mongo pool, one HTTP pool.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

import structlog

from app.config import Settings
from app.dispatch.processing import Outcome, WorkerDeps, process_task

log = structlog.get_logger(__name__)
T = TypeVar("T")


class WorkerRuntime:
    """Owns the worker process's event loop thread and the clients opened on it."""

    def __init__(self, settings: Settings, worker_id: str | None = None):
        self.settings = settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="agent-loop", daemon=True
        )
        self._deps: WorkerDeps | None = None

    def start(self) -> None:
        """Start the loop thread and open the clients on it."""
        self._thread.start()
        self._deps = self._submit(WorkerDeps.open(self.settings, self.worker_id)).result(timeout=60)
        log.info("worker_runtime_started", worker_id=self.worker_id)

    def process(self, task_id: str, request_id: str | None = None) -> Outcome:
        """Run one task on the loop; blocks the calling (Celery) thread until it ends."""
        if self._deps is None:
            raise RuntimeError("WorkerRuntime.start() was not called")
        return self._submit(self._run(task_id, request_id, self._deps)).result()

    async def _run(self, task_id: str, request_id: str | None, deps: WorkerDeps) -> Outcome:
        # Each task runs in its own asyncio task, hence its own copy of the log context.
        structlog.contextvars.bind_contextvars(
            task_id=task_id, request_id=request_id, worker_id=self.worker_id
        )
        return await process_task(task_id, deps)

    def stop(self) -> None:
        """Close the clients and stop the loop."""
        if self._deps is not None:
            self._submit(self._deps.close()).result(timeout=10)
            self._deps = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)
