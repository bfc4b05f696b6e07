"""Status changes people and clients ask for: a new task, cancel, retry, and the decision on a
checkpoint that lets a paused task go on or ends it."""

from __future__ import annotations

from collections.abc import Sequence

from pymongo.errors import PyMongoError

from app.domain.errors import TaskErrorCode
from app.domain.models import (
    AttemptRecord,
    Checkpoint,
    Task,
    TaskErrorInfo,
    TaskStatus,
    utcnow,
)
from app.store import Document, task_events
from app.store.tasks import WAITING
from app.tasks._transitions import Events, Transitions


class AskedTransitions(Transitions):
    """The API's changes (see TaskLifecycle)."""

    async def create(self, task: Task) -> None:
        """Insert a new task (status queued) with its first event."""
        stored = await self.create_many([task])
        if isinstance(stored[0], PyMongoError):
            raise stored[0]

    async def create_many(self, tasks: Sequence[Task]) -> list[PyMongoError | None]:
        """Insert new tasks (status queued) in one command, and count them in one per day.

        Answers, for each task in order, None when it was stored or the error that kept it
        out; an error that stored none (the store is unreachable) is raised.
        """
        errors = await self._tasks.insert_many(tasks)
        await self._stats.created([t for n, t in enumerate(tasks) if n not in errors])
        return [errors.get(n) for n in range(len(tasks))]

    async def cancel_waiting(self, task_id: str, owner: str) -> Task | None:
        """Cancel a task no worker holds (queued or awaiting approval) at once."""
        fields: Document = {
            "error": {"type": TaskErrorCode.CANCELLED, "message": "Cancelled on request."},
            "completed_at": utcnow(),
            "lease_expires_at": None,
            "pending_checkpoint": None,
        }
        current = await self._tasks.get_for_owner(task_id, owner)
        if current is None or current.status not in WAITING:
            return None
        # On the attempt read, so the cancelled event names it; a change since: None.
        return await self._transition(
            {"_id": task_id, "owner": owner, "attempt": current.attempt},
            current.status,
            TaskStatus.CANCELLED,
            fields,
        )

    async def request_cancel(self, task_id: str, owner: str) -> Task | None:
        """Ask the worker running the task to stop at its next step."""
        # The event names no attempt: the cancel is for whichever attempt holds the task.
        update = task_events.appended([task_events.event("cancel_requested", {})])
        update["$set"] = {"cancel_requested": True, "updated_at": utcnow()}
        return await self._tasks.find_and_update(
            {"_id": task_id, "owner": owner, "status": TaskStatus.PROCESSING.value}, update
        )

    async def retry(self, task: Task) -> Task | None:
        """Queue a failed or cancelled task again; the attempt that ended goes to history."""
        ended = AttemptRecord(
            attempt=task.attempt,
            status=task.status,
            error=task.error,
            result_summary=task.result.summary if task.result else None,
            started_at=task.started_at,
            completed_at=task.completed_at,
            usage=task.usage,
        )
        return await self._transition(
            # Compare-and-set on what we read: a concurrent retry or change wins, we do nothing.
            {"_id": task.task_id, "updated_at": task.updated_at},
            task.status,
            TaskStatus.QUEUED,
            {
                "queued_at": utcnow(),
                "error": None,
                "last_error": None,
                "result": None,
                "completed_at": None,
                "cancel_requested": False,
                "deferrals": 0,
                "reclaims": 0,
                "resume": None,
                "pending_checkpoint": None,
                "recover": False,
                # Starts afresh: a lost or deferred attempt of the retry must not route on the
                # decision of the attempt that ended (it may be why the task failed).
                "routing": None,
                "selected_agent": None,
                "started_at": None,
                "worker_id": None,
            },
            inc={"attempt": 1},
            push={"history": ended.model_dump()},
            attempt=task.attempt + 1,
        )

    async def release(
        self, task_id: str, checkpoint: Checkpoint, resume: Document, events: Events = ()
    ) -> Task | None:
        """A decision lets the paused task go on: queue it with what the graph resumes with.

        The attempt that paused goes on (no new attempt is counted).
        """
        return await self._transition(
            {"_id": task_id, "pending_checkpoint": checkpoint.checkpoint_id},
            TaskStatus.AWAITING_APPROVAL,
            TaskStatus.QUEUED,
            {
                "queued_at": utcnow(),
                "pending_checkpoint": None,
                "resume": {
                    "checkpoint_id": checkpoint.checkpoint_id,
                    "interrupt_id": checkpoint.interrupt_id,
                    "value": resume,
                },
            },
            events=events,
            attempt=checkpoint.attempt,
        )

    async def fail_waiting(
        self, task_id: str, checkpoint: Checkpoint, error: TaskErrorInfo, events: Events = ()
    ) -> Task | None:
        """A rejected or expired checkpoint ends the paused task (and the attempt that paused)."""
        return await self._transition(
            {"_id": task_id, "pending_checkpoint": checkpoint.checkpoint_id},
            TaskStatus.AWAITING_APPROVAL,
            TaskStatus.FAILED,
            {"error": error.model_dump(), "completed_at": utcnow(), "pending_checkpoint": None},
            events=events,
            attempt=checkpoint.attempt,
        )
