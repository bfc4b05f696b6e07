"""Accepted tasks go to the store and the queue together: one command for many requests.

Group commit: while one batch is being written, the requests that arrive meanwhile wait for
the next, so under load one insert_many, one counter update and one LPUSH carry many tasks
(the accept path's cost per task falls as load rises), while a request that arrives alone is
written at once: nothing lingers waiting for company. Each request still answers only after
its own task is stored, then published, as when it was written alone.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from app.dispatch.enqueue import Dispatcher
from app.domain.models import Task
from app.tasks import TaskLifecycle

# Enough that a burst of every connection a busy API holds goes in one or two commands;
# small enough that one insert stays well under MongoDB's 48 MB message.
MAX_BATCH = 256


@dataclass(eq=False)
class _Waiting:
    task: Task
    answer: asyncio.Future[bool]

    def settle(self, dispatched: bool | None = None, error: BaseException | None = None) -> None:
        if self.answer.done():  # the request went away (client disconnected)
            return
        if error is not None:
            self.answer.set_exception(error)
        else:
            self.answer.set_result(bool(dispatched))


@dataclass
class Intake:
    """Stores new tasks (queued), then publishes them, in batches of whoever is waiting."""

    tasks: TaskLifecycle
    dispatcher: Dispatcher
    max_batch: int = MAX_BATCH
    _waiting: list[_Waiting] = field(default_factory=list)
    _writer: asyncio.Task[None] | None = None

    async def accept(self, task: Task) -> bool:
        """Store `task`, then publish it: whether it was published (a stored task that was not
        is re-sent by the reconciler). Raises the PyMongoError that kept it out of the store.
        """
        waiting = _Waiting(task, asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await waiting.answer

    async def _write(self) -> None:
        while self._waiting:
            batch = self._waiting[: self.max_batch]
            del self._waiting[: self.max_batch]
            try:
                await self._write_batch(batch)
            except BaseException as exc:  # the store is unreachable, or we are cancelled
                for waiting in batch:
                    waiting.settle(error=exc)
                if not isinstance(exc, Exception):
                    raise

    async def _write_batch(self, batch: list[_Waiting]) -> None:
        errors = await self.tasks.create_many([waiting.task for waiting in batch])
        stored = [w.task for w, error in zip(batch, errors, strict=True) if error is None]
        dispatched = bool(stored) and await self.dispatcher.enqueue_many(
            [(task.task_id, task.request.request_id) for task in stored]
        )
        for waiting, error in zip(batch, errors, strict=True):
            waiting.settle(dispatched, error)
