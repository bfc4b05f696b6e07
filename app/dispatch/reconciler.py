"""The reconciler: nothing accepted is lost, even when messages or workers are.

Every worker process (and the API) runs it periodically; a Redis lock of the deployment's
(`{namespace}:reconciler:lock`) lets one process at a time do passes, and is released when that
process stops. Every step is a compare-and-set on MongoDB, so two passes racing change nothing
twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, RedisError

from app.config import Settings
from app.dispatch.background import Stopping
from app.dispatch.checkpoints import expire_overdue
from app.dispatch.enqueue import Dispatcher
from app.domain.errors import TaskErrorCode
from app.domain.models import TaskErrorInfo, utcnow
from app.observability.metrics import RECOVERED_TASKS
from app.store import Store
from app.tasks import TaskLifecycle

log = structlog.get_logger(__name__)
BATCH = 500
RELEASE_SECONDS = 2.0


def lock_key(namespace: str) -> str:
    """The deployment's reconciler lock (Settings.redis_namespace)."""
    return f"{namespace}:reconciler:lock"


@dataclass
class Pass:
    """What one pass did."""

    redispatched: int = 0
    reclaimed: int = 0
    failed: int = 0
    expired_checkpoints: int = 0


class Reconciler:
    """Re-sends lost messages, reclaims dead workers' tasks, expires overdue checkpoints."""

    def __init__(
        self, settings: Settings, store: Store, dispatcher: Dispatcher, redis: Redis, owner: str
    ):
        self._settings = settings.worker
        self._store = store
        self._lifecycle = TaskLifecycle.of(store)
        self._dispatcher = dispatcher
        self._owner = owner
        self._redis = redis
        self._stopping = Stopping()  # run_forever's; never set for a lone run_once
        self._holding: asyncio.Task[Any] | None = None
        # Held for three intervals at a time, renewed by every pass of its holder; the token is
        # the owner's name, so `GET` on the key says who holds it.
        self._lock = Lock(
            redis,
            lock_key(settings.redis_namespace),
            timeout=settings.worker.reconcile_interval_seconds * 3,
            blocking=False,
            thread_local=False,
        )

    async def run_forever(self, stopping: Stopping, first_pass_after: float = 0.0) -> None:
        """A pass every RECONCILE_INTERVAL_SECONDS while this process holds the lock, until a
        stop is asked (the process stops; see app.dispatch.background): a pass under way is no
        longer waited for and goes no further than the item it is on, and the lock is let go,
        so another process takes over at once."""
        self._stopping = stopping
        interval = self._settings.reconcile_interval_seconds
        try:
            if await stopping.within(first_pass_after):
                return
            while True:
                try:
                    if await stopping.unless(self._hold_lock()):
                        done = await stopping.unless(self.run_once())
                        if done is None:
                            return
                        if any(vars(done).values()):
                            log.info("reconciled", **vars(done))
                except (RedisError, OSError) as exc:
                    log.warning("reconciler_lock_unavailable", error=str(exc))
                except Exception:
                    log.exception("reconciler_pass_failed")
                if await stopping.within(interval):
                    return
        finally:
            await self._let_go()

    async def _hold_lock(self) -> bool:
        """Take the lock, or renew it when it carries this process's name: held since the last
        pass, or from before a restart (a container keeps its hostname and pid), which then
        takes it back at once instead of waiting for it to expire."""
        self._holding = asyncio.current_task()  # run by Stopping.unless: _let_go waits for it
        holder = await self._redis.get(self._lock.name)
        if holder is not None and _text(holder) == self._owner:
            self._lock.local.token = self._owner.encode()
            with contextlib.suppress(LockError):  # expired and taken meanwhile
                await self._lock.reacquire()
                return True
        return bool(await self._lock.acquire(token=self._owner))

    async def _let_go(self) -> None:
        # A take or renewal still under way (Redis slow) is waited for, so that it does not set
        # the lock after it was let go; one slower than that leaves the lock to expire.
        holding = self._holding
        if holding is not None and holding is not asyncio.current_task() and not holding.done():
            await asyncio.wait({holding}, timeout=RELEASE_SECONDS)
        self._lock.local.token = self._owner.encode()  # the token is the owner's name
        with contextlib.suppress(LockError, RedisError, OSError, TimeoutError):
            await asyncio.wait_for(self._lock.release(), RELEASE_SECONDS)

    async def run_once(self) -> Pass:
        """One pass: re-dispatch stale queued tasks, reclaim or fail expired leases."""
        done = Pass()
        now = utcnow()
        stale_before = now - timedelta(seconds=self._settings.dispatch_stale_seconds)
        for task_id, queued_at in await self._store.tasks.stale_queued(stale_before, BATCH):
            if self._stopping.is_set():
                return done
            if await self._store.tasks.mark_redispatched(task_id, queued_at):
                await self._dispatcher.enqueue(task_id)
                RECOVERED_TASKS.labels("redispatched").inc()
                done.redispatched += 1
        if self._stopping.is_set():
            return done
        for task in await self._store.tasks.expired_leases(now, BATCH):
            if self._stopping.is_set():
                return done
            if task.reclaims + 1 >= self._settings.max_attempts:
                error = TaskErrorInfo(
                    type=TaskErrorCode.MAX_ATTEMPTS_EXCEEDED,
                    message=f"The task's worker was lost {task.reclaims + 1} times "
                    f"(TASK_MAX_ATTEMPTS={self._settings.max_attempts}).",
                )
                if await self._lifecycle.fail_expired(task, now, error):
                    await self._store.agent_runs.abandon(task.task_id, task.attempt)
                    RECOVERED_TASKS.labels("failed_max_attempts").inc()
                    done.failed += 1
            elif await self._lifecycle.reclaim(task, now):
                await self._store.agent_runs.abandon(task.task_id, task.attempt)
                await self._dispatcher.enqueue(task.task_id)
                RECOVERED_TASKS.labels("reclaimed").inc()
                log.warning("task_reclaimed", task_id=task.task_id, attempt=task.attempt)
                done.reclaimed += 1
        if not self._stopping.is_set():
            done.expired_checkpoints = await expire_overdue(self._store, now)
        return done


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
