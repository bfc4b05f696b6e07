"""The `tasks` collection: create, read for an owner, and conditional status changes.

A task's events live in its document (see `task_events`): every write here may carry the
events that go with it, so a status change and its event are one write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, PyMongoError

from app.domain.errors import TaskErrorCode
from app.domain.models import (
    AttemptRecord,
    Checkpoint,
    RoutingDecision,
    RoutingOverride,
    Task,
    TaskErrorInfo,
    TaskEvent,
    TaskResult,
    TaskStatus,
    Usage,
    utcnow,
)
from app.observability.task_metrics import record_finish
from app.store import task_events
from app.store._cursor import decode_cursor, encode_cursor
from app.store.task_stats import TaskStatsRepository

Document = dict[str, Any]
Events = Sequence[Document]
# Task reads never carry the event array: the event stream reads it on its own.
WITHOUT_EVENTS = {"events": 0}
# Statuses in which no worker holds the task.
WAITING = (TaskStatus.QUEUED, TaskStatus.AWAITING_APPROVAL)


def _new_document(task: Task) -> Document:
    """A new task as stored: the task and its first event."""
    first = task_events.event("status", {"status": task.status.value, "attempt": task.attempt})
    return task.model_dump(by_alias=True, mode="python") | {"events": [first]}


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

    def __init__(self, collection: AsyncCollection[Document], stats: TaskStatsRepository):
        self._tasks = collection
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
        """Insert a new task (status queued) with its first event."""
        stored = await self.create_many([task])
        if isinstance(stored[0], PyMongoError):
            raise stored[0]

    async def create_many(self, tasks: Sequence[Task]) -> list[PyMongoError | None]:
        """Insert new tasks (status queued) in one command, and count them in one per day.

        Answers, for each task in order, None when it was stored or the error that kept it
        out; an error that stored none (the store is unreachable) is raised.
        """
        docs = [_new_document(task) for task in tasks]
        errors: dict[int, PyMongoError] = {}
        try:
            await self._tasks.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            errors = {error["index"]: exc for error in exc.details.get("writeErrors", ())}
        await self._stats.created([t for n, t in enumerate(tasks) if n not in errors])
        return [errors.get(n) for n in range(len(tasks))]

    async def get(self, task_id: str) -> Task | None:
        """A task by id, whoever owns it (workers)."""
        doc = await self._tasks.find_one({"_id": task_id}, WITHOUT_EVENTS)
        return Task.model_validate(doc) if doc else None

    async def get_for_owner(self, task_id: str, owner: str) -> Task | None:
        """A task by id if `owner` owns it."""
        doc = await self._tasks.find_one({"_id": task_id, "owner": owner}, WITHOUT_EVENTS)
        return Task.model_validate(doc) if doc else None

    async def events_after(
        self, task_id: str, seq: int, limit: int = 500
    ) -> tuple[TaskStatus | None, list[TaskEvent]]:
        """The task's status and its events with ids above seq (None: no such task)."""
        doc = await self._tasks.find_one(
            {"_id": task_id}, {"status": 1, "events": {"$slice": [seq, limit]}}
        )
        if doc is None:
            return None, []
        return TaskStatus(doc["status"]), task_events.after(task_id, doc.get("events", []), seq + 1)

    async def append_events(self, task_id: str, events: Events, attempt: int | None = None) -> bool:
        """Add events to the task (only while `attempt`, when given, still owns it)."""
        if not events:
            return True
        query: Document = {"_id": task_id}
        if attempt is not None:
            query |= {"status": TaskStatus.PROCESSING.value, "attempt": attempt}
        outcome = await self._tasks.update_one(query, task_events.appended(events))
        return outcome.matched_count == 1

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
            # The bound lets an index walk start at the cursor; the $or says exactly what follows.
            created["$lte"] = min(after_created, created.get("$lte", after_created))
            query["created_at"] = created
            query["$or"] = [
                {"created_at": {"$lt": after_created}},
                {"created_at": after_created, "_id": {"$lt": after_id}},
            ]
        docs = (
            await self._tasks.find(query, WITHOUT_EVENTS)
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit + 1)
            .to_list()
        )
        tasks = [Task.model_validate(doc) for doc in docs[:limit]]
        next_cursor = encode_cursor(tasks[-1]) if len(docs) > limit else None
        return TaskPage(tasks=tasks, next_cursor=next_cursor)

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
    ) -> bool:
        """Store the router's decision (and its event) on the attempt that still owns the task."""
        decided = task_events.event("routing", {"attempt": attempt, **routing.model_dump()})
        fields = {"routing": routing.model_dump(), "selected_agent": routing.agent_name}
        return await self._set_while_owned(task_id, attempt, fields, [*events, decided])

    async def record_override(
        self, task_id: str, attempt: int, override: RoutingOverride, events: Events = ()
    ) -> bool:
        """A reviewer sent the task to another agent: it is the task's agent from now on, and
        `routing` keeps the router's decision beside the override."""
        data = {"attempt": attempt, **override.model_dump()}
        overridden = task_events.event("routing_override", data)
        fields = {"routing.override": override.model_dump(), "selected_agent": override.agent_name}
        return await self._set_while_owned(task_id, attempt, fields, [*events, overridden])

    async def _set_while_owned(
        self, task_id: str, attempt: int, fields: Document, events: Events
    ) -> bool:
        """Set fields and append events, only while `attempt` still owns the task."""
        update = task_events.appended(events)
        update["$set"] = {**fields, "updated_at": utcnow()}
        outcome = await self._tasks.update_one(
            {"_id": task_id, "status": TaskStatus.PROCESSING.value, "attempt": attempt}, update
        )
        return outcome.modified_count == 1

    async def heartbeat(self, task_id: str, attempt: int, lease_seconds: float) -> Heartbeat:
        """Renew the attempt's lease; say whether it still owns the task and if cancel is asked."""
        now = utcnow()
        doc = await self._tasks.find_one_and_update(
            {"_id": task_id, "status": TaskStatus.PROCESSING.value, "attempt": attempt},
            {"$set": {"lease_expires_at": now + timedelta(seconds=lease_seconds)}},
            projection={"cancel_requested": 1, "_id": 0},
        )
        if doc is None:
            return Heartbeat(owned=False, cancel_requested=False)
        return Heartbeat(owned=True, cancel_requested=bool(doc.get("cancel_requested")))

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

    async def cancel_waiting(self, task_id: str, owner: str) -> Task | None:
        """Cancel a task no worker holds (queued or awaiting approval) at once."""
        fields: Document = {
            "error": {"type": TaskErrorCode.CANCELLED, "message": "Cancelled on request."},
            "completed_at": utcnow(),
            "lease_expires_at": None,
            "pending_checkpoint": None,
        }
        current = await self.get_for_owner(task_id, owner)
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
        doc = await self._tasks.find_one_and_update(
            {"_id": task_id, "owner": owner, "status": TaskStatus.PROCESSING.value},
            update,
            projection=WITHOUT_EVENTS,
            return_document=ReturnDocument.AFTER,
        )
        return Task.model_validate(doc) if doc is not None else None

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
            {"$set": {"queued_at": utcnow()}},
        )
        return outcome.modified_count == 1

    async def expired_leases(self, now: datetime, limit: int) -> list[Task]:
        """Processing tasks whose lease ran out: their worker died or stalled."""
        cursor = self._tasks.find(
            {"status": TaskStatus.PROCESSING.value, "lease_expires_at": {"$lt": now}},
            WITHOUT_EVENTS,
        ).limit(limit)
        return [Task.model_validate(doc) async for doc in cursor]

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
        doc = await self._tasks.find_one_and_update(
            {**query, "status": from_.value},
            update,
            projection=WITHOUT_EVENTS,
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        task = Task.model_validate(doc)
        # Per-day counters and metrics follow every change.
        await self._stats.moved(from_, task)
        if task.status.final:
            record_finish(task)
        return task
