"""The one way a task changes status, which every transition of the lifecycle goes through."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from app.domain.models import Task, TaskStatus, utcnow
from app.observability.task_metrics import record_finish
from app.store import Document, Store, task_events
from app.store.task_stats import TaskStatsRepository
from app.store.tasks import TaskRepository

Events = Sequence[Document]


class Transitions:
    """A compare-and-set on the task's status that carries its events, then the per-day counters
    and the metrics that follow every change."""

    def __init__(self, tasks: TaskRepository, stats: TaskStatsRepository):
        self._tasks = tasks
        self._stats = stats

    @classmethod
    def of(cls, store: Store) -> Self:
        """The lifecycle of the tasks in `store`."""
        return cls(store.tasks, store.stats)

    async def _transition(
        self,
        query: Document,
        from_: TaskStatus,
        to: TaskStatus,
        fields: Document,
        *,
        inc: Document | None = None,
        push: Document | None = None,
        events: Events = (),
        announce: bool = True,
        attempt: int | None = None,
    ) -> Task | None:
        """The one way a task changes status: compare-and-set on `from_`, then observe it.

        The status event (unless `announce` is off) and `events` are appended in the same
        write, so no reader sees the new status without them.
        """
        status_event: list[Document] = []
        if announce:
            data: Document = {"status": to.value}
            # The attempt the new status belongs to: given when the change starts a new one.
            if (attempt := query.get("attempt") if attempt is None else attempt) is not None:
                data["attempt"] = attempt
            if "error" in fields and to.final:
                data["error"] = fields["error"]
            status_event = [task_events.event("status", data)]
        update = task_events.appended([*events, *status_event])
        update["$set"] = {**fields, "status": to.value, "updated_at": utcnow()}
        if inc:
            update["$inc"] = {**update.get("$inc", {}), **inc}
        if push:
            update["$push"] = {**update.get("$push", {}), **push}
        task = await self._tasks.find_and_update({**query, "status": from_.value}, update)
        if task is None:
            return None
        # Per-day counters and metrics follow every change.
        await self._stats.moved(from_, task)
        if task.status.final:
            record_finish(task)
        return task
