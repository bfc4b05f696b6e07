"""One asyncio loop per worker process, fed by Celery's thread pool.

Agents are I/O bound: each Celery thread hands its task to the process's event loop and waits,
so WORKER_CONCURRENCY tasks are in flight at once on one loop, one Mongo pool, one HTTP pool.
Every wait is bounded: a thread waits at most the task's time limit plus its final writes, and
a watchdog thread reports a loop or a store that stopped making progress.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as WaitTimeout
from typing import Any, TypeVar

import structlog
import uvloop

from app.agents.base import Agent, AgentDeps
from app.agents.registry import AGENTS
from app.config import Settings
from app.dispatch.background import AFTER_CANCEL_SECONDS, GRACE_SECONDS
from app.dispatch.processing import Outcome, process_task
from app.dispatch.redis_clients import open_sync_redis
from app.dispatch.watchdog import Gauges, Watchdog
from app.dispatch.wiring import WorkerDeps

log = structlog.get_logger(__name__)
T = TypeVar("T")
# WorkerDeps.close: its jobs' grace and their cancel, the store's close, the calls left behind.
CLOSE_SECONDS = 2 * GRACE_SECONDS + 2 * AFTER_CANCEL_SECONDS + 3


class _Slots:
    """How many Celery threads are waiting for a task on the loop (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.busy = 0

    def __enter__(self) -> None:
        with self._lock:
            self.busy += 1

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self.busy -= 1


class WorkerRuntime:
    """Owns the worker process's event loop thread, the clients opened on it, its watchdog."""

    def __init__(
        self,
        settings: Settings,
        worker_id: str | None = None,
        agents: Sequence[Callable[[AgentDeps], Agent]] = AGENTS,
    ):
        self.settings = settings
        self._agents = agents
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        # uvloop (uvicorn's loop, already a dependency) costs about half of asyncio's per wake-up.
        self._loop = uvloop.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="agent-loop", daemon=True
        )
        self._deps: WorkerDeps | None = None
        self._slots = _Slots()
        self._watchdog: Watchdog | None = None

    def start(self) -> None:
        """Start the loop thread, open the clients on it, start the watchdog."""
        self._thread.start()
        opening = WorkerDeps.open(self.settings, self.worker_id, self._agents)
        deps = self._submit(opening).result(timeout=60)
        self._deps = deps
        self._watchdog = Watchdog(
            self._loop,
            Gauges(
                in_flight=lambda: len(deps.in_flight),
                slots_busy=lambda: self._slots.busy,
                store_last_answer=lambda: deps.store.commands.last_success,
            ),
            worker_id=self.worker_id,
            concurrency=self.settings.worker.concurrency,
            redis=open_sync_redis(self.settings),
            namespace=self.settings.redis_namespace,
            stall_seconds=self.settings.worker.stall_seconds,
            heartbeat_file=self.settings.worker.heartbeat_file,
        )
        self._watchdog.start()
        log.info("worker_runtime_started", worker_id=self.worker_id)

    def process(self, task_id: str, request_id: str | None = None) -> Outcome:
        """Run one task on the loop; blocks the calling (Celery) thread until it ends.

        Never longer than the task's time limit plus its bounded store calls: past that the run
        is cancelled and the task handed back (its lease runs out, the reconciler reclaims it).
        """
        if self._deps is None:
            raise RuntimeError("WorkerRuntime.start() was not called")
        with self._slots:
            future = self._submit(self._run(task_id, request_id, self._deps))
            try:
                return future.result(timeout=self.settings.wait_limit_seconds)
            except WaitTimeout:
                future.cancel()
                log.error("task_wait_limit_passed", task_id=task_id)
                return Outcome.HANDED_BACK

    async def _run(self, task_id: str, request_id: str | None, deps: WorkerDeps) -> Outcome:
        # Each task runs in its own asyncio task, hence its own copy of the log context.
        structlog.contextvars.bind_contextvars(
            task_id=task_id, request_id=request_id, worker_id=self.worker_id
        )
        return await process_task(task_id, deps)

    def stop(self) -> None:
        """Stop the watchdog, close the clients and stop the loop."""
        if self._watchdog is not None:
            self._watchdog.stop()
            self._watchdog = None
        try:
            if self._deps is not None:
                self._submit(self._deps.close()).result(timeout=CLOSE_SECONDS)
        except WaitTimeout:
            log.warning("worker_clients_not_closed", after_seconds=CLOSE_SECONDS)
        except Exception:  # the process is stopping all the same
            log.exception("worker_clients_close_failed")
        finally:
            self._deps = None
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def _submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)
