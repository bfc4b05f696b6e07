"""Status changes of a task a worker holds: claim, routing, deferral, the end of an attempt, a
pause for approval, and the reconciler's reclaim of a task whose worker was lost."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.domain.errors import TaskErrorCode
from app.domain.models import (
    RoutingDecision,
    RoutingOverride,
    Task,
    TaskErrorInfo,
    TaskResult,
    TaskStatus,
    Usage,
    utcnow,
)
from app.store import Document, task_events
from app.tasks._transitions import Events, Transitions


class HeldTransitions(Transitions):
    """The worker's and the reconciler's changes (see TaskLifecycle)."""

    async def claim(self, task_id: str, worker_id: str, lease_seconds: float) -> Task | None:
        """Move a queued task to processing for this worker; None if it is not queued.

        The claim takes the attempt the task was queued for: a new attempt is counted when it
        is queued (submit, retry, reclaim, deferral), and a resume after a decision goes on
        with the attempt that paused (its `started_at` stays). The `processing` event is the
        caller's to send (with its first write), because only the claim's answer tells which
        attempt this is.
        """
        now = utcnow()
        fields: Document = {
            "worker_id": worker_id,
            "lease_expires_at": now + timedelta(seconds=lease_seconds),
        }
        fresh = await self._transition(
            {"_id": task_id, "resume": None},
            TaskStatus.QUEUED,
            TaskStatus.PROCESSING,
            {**fields, "started_at": now},
            announce=False,
        )
        if fresh is not None:
            return fresh
        return await self._transition(
            {"_id": task_id, "resume": {"$ne": None}},
            TaskStatus.QUEUED,
            TaskStatus.PROCESSING,
            fields,
            announce=False,
        )

    async def record_routing(
        self, task_id: str, attempt: int, routing: RoutingDecision, events: Events = ()
    ) -> None:
        """Store the router's decision (and its event) on the attempt that still owns the task."""
        decided = task_events.event("routing", {"attempt": attempt, **routing.model_dump()})
        fields = {"routing": routing.model_dump(), "selected_agent": routing.agent_name}
        await self._tasks.set_while_owned(task_id, attempt, fields, [*events, decided])

    async def record_override(
        self, task_id: str, attempt: int, override: RoutingOverride, events: Events = ()
    ) -> None:
        """A reviewer sent the task to another agent: it is the task's agent from now on, and
        `routing` keeps the router's decision beside the override."""
        data = {"attempt": attempt, **override.model_dump()}
        overridden = task_events.event("routing_override", data)
        fields = {"routing.override": override.model_dump(), "selected_agent": override.agent_name}
        await self._tasks.set_while_owned(task_id, attempt, fields, [*events, overridden])

    async def requeue(
        self,
        task_id: str,
        attempt: int,
        reason: TaskErrorInfo,
        delay_seconds: float,
        events: Events = (),
    ) -> bool:
        """Give a processing task back to the queue (deferred), keeping why in last_error.

        The next attempt routes on the decision stored on the task, if any (`recover`).
        """
        now = utcnow()
        task = await self._transition(
            {"_id": task_id, "attempt": attempt},
            TaskStatus.PROCESSING,
            TaskStatus.QUEUED,
            {
                # Due when the deferral ends: the reconciler counts staleness from then.
                "queued_at": now + timedelta(seconds=delay_seconds),
                "worker_id": None,
                "lease_expires_at": None,
                "last_error": reason.model_dump(),
                "recover": True,
            },
            inc={"deferrals": 1, "attempt": 1},
            events=events,
            attempt=attempt + 1,
        )
        return task is not None

    async def complete(
        self,
        task_id: str,
        attempt: int,
        result: TaskResult,
        usage: Usage,
        agent: str | None,
        events: Events = (),
    ) -> bool:
        """Finish the attempt as completed; False if the attempt no longer owns the task.

        `agent` is the one that answered (a reviewer may have overridden the router's choice).
        """
        fields: Document = {"result": result.model_dump(), "usage": usage.model_dump()}
        if agent is not None:
            fields["selected_agent"] = agent
        return await self._finish(task_id, attempt, TaskStatus.COMPLETED, fields, events)

    async def fail(
        self, task_id: str, attempt: int, error: TaskErrorInfo, usage: Usage, events: Events = ()
    ) -> bool:
        """Finish the attempt as failed with error.type and error.message."""
        fields = {"error": error.model_dump(), "usage": usage.model_dump()}
        return await self._finish(task_id, attempt, TaskStatus.FAILED, fields, events)

    async def finish_cancelled(self, task_id: str, attempt: int, events: Events = ()) -> bool:
        """The worker stopped the attempt because cancel was requested."""
        error = {"type": TaskErrorCode.CANCELLED, "message": "Cancelled on request while running."}
        return await self._finish(task_id, attempt, TaskStatus.CANCELLED, {"error": error}, events)

    async def pause(
        self, task_id: str, attempt: int, checkpoint_id: str, events: Events = ()
    ) -> Task | None:
        """The attempt stops at a checkpoint: no worker holds the task while it waits."""
        return await self._transition(
            {"_id": task_id, "attempt": attempt},
            TaskStatus.PROCESSING,
            TaskStatus.AWAITING_APPROVAL,
            {
                "pending_checkpoint": checkpoint_id,
                "worker_id": None,
                "lease_expires_at": None,
                "resume": None,
            },
            events=events,
        )

    async def reclaim(self, task: Task, now: datetime) -> bool:
        """Take an expired attempt back to the queue (only if it is still the expired one).

        The next attempt routes on the decision stored on the task, if any (`recover`).
        """
        reclaimed = await self._transition(
            {"_id": task.task_id, "attempt": task.attempt, "lease_expires_at": {"$lt": now}},
            TaskStatus.PROCESSING,
            TaskStatus.QUEUED,
            {"queued_at": now, "worker_id": None, "lease_expires_at": None, "recover": True},
            inc={"reclaims": 1, "attempt": 1},
            attempt=task.attempt + 1,
        )
        return reclaimed is not None

    async def fail_expired(self, task: Task, now: datetime, error: TaskErrorInfo) -> bool:
        """Fail an expired attempt that was the last one allowed."""
        failed = await self._transition(
            {"_id": task.task_id, "attempt": task.attempt, "lease_expires_at": {"$lt": now}},
            TaskStatus.PROCESSING,
            TaskStatus.FAILED,
            {"error": error.model_dump(), "completed_at": now, "lease_expires_at": None},
            inc={"reclaims": 1},
        )
        return failed is not None

    async def _finish(
        self, task_id: str, attempt: int, status: TaskStatus, fields: Document, events: Events
    ) -> bool:
        finished = await self._transition(
            {"_id": task_id, "attempt": attempt},
            TaskStatus.PROCESSING,
            status,
            {**fields, "completed_at": utcnow(), "lease_expires_at": None, "resume": None},
            events=events,
        )
        return finished is not None
