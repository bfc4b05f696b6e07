"""The `tasks` collection: create, read for an owner, and conditional status changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from app.domain.models import (
    AttemptRecord,
    RoutingDecision,
    Task,
    TaskErrorInfo,
    TaskResult,
    TaskStatus,
    Usage,
    utcnow,
)
from app.observability.task_metrics import record_finish
from app.store._cursor import decode_cursor, encode_cursor
from app.store.task_events import TaskEventRepository
from app.store.task_stats import TaskStatsRepository

Document = dict[str, Any]


@dataclass(frozen=True)
class TaskFilters:
    status: TaskStatus | None = None
    agent_type: str | None = None
    session_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


@dataclass(frozen=True)
class Heartbeat:
    owned: bool
    cancel_requested: bool


@dataclass(frozen=True)
class TaskPage:
    tasks: list[Task]
    next_cursor: str | None


class TaskRepository:
    """Every query on `tasks`; status changes are compare-and-set on the current status."""

    def __init__(
        self,
        collection: AsyncCollection[Document],
        events: TaskEventRepository,
        stats: TaskStatsRepository,
    ):
        self._tasks = collection
        self._events = events
        self._stats = stats

    async def ensure_indexes(self) -> None:
        await self._tasks.create_index(
            [("owner", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
            name="owner_created",
        )
        await self._tasks.create_index(
            [("owner", ASCENDING), ("status", ASCENDING), ("created_at", DESCENDING)],
            name="owner_status_created",
        )
        await self._tasks.create_index(
            [("owner", ASCENDING), ("session_id", ASCENDING), ("created_at", DESCENDING)],
            name="owner_session_created",
        )
        await self._tasks.create_index(
            [("status", ASCENDING), ("queued_at", ASCENDING)], name="status_queued"
        )

    async def create(self, task: Task) -> None:
        """Insert a new task (status queued)."""
        await self._tasks.insert_one(task.model_dump(by_alias=True, mode="python"))
        await self._observe(None, task)

    async def get(self, task_id: str) -> Task | None:
        """A task by id, whoever owns it (workers)."""
        doc = await self._tasks.find_one({"_id": task_id})
        return Task.model_validate(doc) if doc else None

    async def get_for_owner(self, task_id: str, owner: str) -> Task | None:
        """A task by id if `owner` owns it."""
        doc = await self._tasks.find_one({"_id": task_id, "owner": owner})
        return Task.model_validate(doc) if doc else None

    async def list_for_owner(
        self, owner: str, filters: TaskFilters, limit: int, cursor: str | None
    ) -> TaskPage:
        """The owner's tasks, newest first, one page of at most `limit`."""
        query: Document = {"owner": owner}
        if filters.status is not None:
            query["status"] = filters.status.value
        if filters.agent_type is not None:
            query["selected_agent"] = filters.agent_type
        if filters.session_id is not None:
            query["session_id"] = filters.session_id
        created: Document = {}
        if filters.created_from is not None:
            created["$gte"] = filters.created_from
        if filters.created_to is not None:
            created["$lte"] = filters.created_to
        if created:
            query["created_at"] = created
        if cursor is not None:
            after_created, after_id = decode_cursor(cursor)
            query["$or"] = [
                {"created_at": {"$lt": after_created}},
                {"created_at": after_created, "_id": {"$lt": after_id}},
            ]
        docs = (
            await self._tasks.find(query)
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit + 1)
            .to_list()
        )
        tasks = [Task.model_validate(doc) for doc in docs[:limit]]
        next_cursor = encode_cursor(tasks[-1]) if len(docs) > limit else None
        return TaskPage(tasks=tasks, next_cursor=next_cursor)

    async def claim(self, task_id: str, worker_id: str, lease_seconds: float) -> Task | None:
        """Move a queued task to processing for this worker; None if it is not queued."""
        now = utcnow()
        return await self._transition(
            {"_id": task_id},
            TaskStatus.QUEUED,
            TaskStatus.PROCESSING,
            {
                "worker_id": worker_id,
                "started_at": now,
                "lease_expires_at": now + timedelta(seconds=lease_seconds),
            },
            inc={"attempt": 1},
        )

    async def record_routing(self, task_id: str, attempt: int, routing: RoutingDecision) -> bool:
        """Store the router's decision on the attempt that still owns the task."""
        outcome = await self._tasks.update_one(
            {"_id": task_id, "status": TaskStatus.PROCESSING.value, "attempt": attempt},
            {
                "$set": {
                    "routing": routing.model_dump(),
                    "selected_agent": routing.agent_name,
                    "updated_at": utcnow(),
                }
            },
        )
        if outcome.modified_count != 1:
            return False
        await self._events.emit(task_id, "routing", {"attempt": attempt, **routing.model_dump()})
        return True

    async def heartbeat(self, task_id: str, attempt: int, lease_seconds: float) -> Heartbeat:
        """Renew the attempt's lease; say whether it still owns the task and if cancel is asked."""
        now = utcnow()
        doc = await self._tasks.find_one_and_update(
            {"_id": task_id, "status": TaskStatus.PROCESSING.value, "attempt": attempt},
            {"$set": {"lease_expires_at": now + timedelta(seconds=lease_seconds)}},
            projection={"cancel_requested": 1},
        )
        if doc is None:
            return Heartbeat(owned=False, cancel_requested=False)
        return Heartbeat(owned=True, cancel_requested=bool(doc.get("cancel_requested")))

    async def requeue(
        self, task_id: str, attempt: int, reason: TaskErrorInfo, delay_seconds: float
    ) -> bool:
        """Give a processing task back to the queue (deferred), keeping why in last_error."""
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
            },
            inc={"deferrals": 1},
        )
        return task is not None

    async def complete(
        self, task_id: str, attempt: int, result: TaskResult, usage: Usage, agent: str | None
    ) -> bool:
        """Finish the attempt as completed; False if the attempt no longer owns the task.

        `agent` is the one that answered (a reviewer may have overridden the router's choice).
        """
        fields: Document = {"result": result.model_dump(), "usage": usage.model_dump()}
        if agent is not None:
            fields["selected_agent"] = agent
        return await self._finish(task_id, attempt, TaskStatus.COMPLETED, fields)

    async def fail(self, task_id: str, attempt: int, error: TaskErrorInfo, usage: Usage) -> bool:
        """Finish the attempt as failed with error.type and error.message."""
        fields = {"error": error.model_dump(), "usage": usage.model_dump()}
        return await self._finish(task_id, attempt, TaskStatus.FAILED, fields)

    async def finish_cancelled(self, task_id: str, attempt: int) -> bool:
        """The worker stopped the attempt because cancel was requested."""
        error = {"type": "CANCELLED", "message": "Cancelled on request while running."}
        return await self._finish(task_id, attempt, TaskStatus.CANCELLED, {"error": error})

    async def cancel_waiting(self, task_id: str, owner: str) -> Task | None:
        """Cancel a task no worker holds (queued or awaiting approval) at once."""
        fields: Document = {
            "error": {"type": "CANCELLED", "message": "Cancelled on request."},
            "completed_at": utcnow(),
            "lease_expires_at": None,
            "pending_checkpoint": None,
        }
        for waiting in (TaskStatus.QUEUED, TaskStatus.AWAITING_APPROVAL):
            task = await self._transition(
                {"_id": task_id, "owner": owner}, waiting, TaskStatus.CANCELLED, fields
            )
            if task is not None:
                return task
        return None

    async def request_cancel(self, task_id: str, owner: str) -> Task | None:
        """Ask the worker running the task to stop at its next step."""
        doc = await self._tasks.find_one_and_update(
            {"_id": task_id, "owner": owner, "status": TaskStatus.PROCESSING.value},
            {"$set": {"cancel_requested": True, "updated_at": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        await self._events.emit(task_id, "cancel_requested", {"attempt": doc.get("attempt")})
        return Task.model_validate(doc)

    async def retry(self, task: Task) -> Task | None:
        """Queue a failed or cancelled task again; the attempt that ended goes to history."""
        ended = AttemptRecord(
            attempt=task.attempt,
            status=task.status,
            error=task.error,
            result_summary=task.result.summary if task.result else None,
            started_at=task.started_at,
            completed_at=task.completed_at,
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
            },
            push={"history": ended.model_dump()},
        )

    async def pause(self, task_id: str, attempt: int, checkpoint_id: str) -> Task | None:
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
        )

    async def release(self, task_id: str, checkpoint_id: str, resume: Document) -> Task | None:
        """A decision lets the paused task go on: queue it with what the graph resumes with."""
        return await self._transition(
            {"_id": task_id, "pending_checkpoint": checkpoint_id},
            TaskStatus.AWAITING_APPROVAL,
            TaskStatus.QUEUED,
            {
                "queued_at": utcnow(),
                "pending_checkpoint": None,
                "resume": {"checkpoint_id": checkpoint_id, "value": resume},
            },
        )

    async def fail_waiting(
        self, task_id: str, checkpoint_id: str, error: TaskErrorInfo
    ) -> Task | None:
        """A rejected or expired checkpoint ends the paused task."""
        return await self._transition(
            {"_id": task_id, "pending_checkpoint": checkpoint_id},
            TaskStatus.AWAITING_APPROVAL,
            TaskStatus.FAILED,
            {"error": error.model_dump(), "completed_at": utcnow(), "pending_checkpoint": None},
        )

    async def stale_queued(self, due_before: datetime, limit: int) -> list[tuple[str, datetime]]:
        """Queued tasks due before `due_before` (their message may be lost): (id, queued_at)."""
        cursor = (
            self._tasks.find(
                {"status": TaskStatus.QUEUED.value, "queued_at": {"$lt": due_before}},
                {"queued_at": 1},
            )
            .sort([("queued_at", ASCENDING)])
            .limit(limit)
        )
        return [(doc["_id"], doc["queued_at"]) async for doc in cursor]

    async def mark_redispatched(self, task_id: str, queued_at: datetime) -> bool:
        """Restart a stale task's clock before sending it again (one sender wins)."""
        outcome = await self._tasks.update_one(
            {"_id": task_id, "status": TaskStatus.QUEUED.value, "queued_at": queued_at},
            {"$set": {"queued_at": utcnow()}, "$inc": {"dispatches": 1}},
        )
        return outcome.modified_count == 1

    async def expired_leases(self, now: datetime, limit: int) -> list[Task]:
        """Processing tasks whose lease ran out: their worker died or stalled."""
        cursor = self._tasks.find(
            {"status": TaskStatus.PROCESSING.value, "lease_expires_at": {"$lt": now}}
        ).limit(limit)
        return [Task.model_validate(doc) async for doc in cursor]

    async def reclaim(self, task: Task, now: datetime) -> bool:
        """Take an expired attempt back to the queue (only if it is still the expired one)."""
        reclaimed = await self._transition(
            {"_id": task.task_id, "attempt": task.attempt, "lease_expires_at": {"$lt": now}},
            TaskStatus.PROCESSING,
            TaskStatus.QUEUED,
            {"queued_at": now, "worker_id": None, "lease_expires_at": None},
            inc={"reclaims": 1},
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
        self, task_id: str, attempt: int, status: TaskStatus, fields: Document
    ) -> bool:
        finished = await self._transition(
            {"_id": task_id, "attempt": attempt},
            TaskStatus.PROCESSING,
            status,
            {**fields, "completed_at": utcnow(), "lease_expires_at": None, "resume": None},
        )
        return finished is not None

    async def _transition(
        self,
        query: Document,
        from_: TaskStatus,
        to: TaskStatus,
        fields: Document,
        *,
        inc: Document | None = None,
        push: Document | None = None,
    ) -> Task | None:
        """The one way a task changes status: compare-and-set on `from_`, then observe it."""
        update: Document = {"$set": {**fields, "status": to.value, "updated_at": utcnow()}}
        if inc:
            update["$inc"] = inc
        if push:
            update["$push"] = push
        doc = await self._tasks.find_one_and_update(
            {**query, "status": from_.value}, update, return_document=ReturnDocument.AFTER
        )
        if doc is None:
            return None
        task = Task.model_validate(doc)
        await self._observe(from_, task)
        return task

    async def _observe(self, from_: TaskStatus | None, task: Task) -> None:
        """Per-day counters, the stored event stream and metrics follow every change."""
        await self._stats.moved(from_, task)
        event: Document = {"status": task.status.value, "attempt": task.attempt}
        if task.error is not None and task.status.final:
            event["error"] = task.error.model_dump()
        await self._events.emit(task.task_id, "status", event)
        if task.status.final and from_ is not None:
            record_finish(task)
