"""The `tasks` collection: create, read for an owner, and conditional status changes."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from app.domain.errors import InvalidCursor
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


def encode_cursor(task: Task) -> str:
    """An opaque cursor pointing just after `task` in newest-first order."""
    raw = json.dumps([task.created_at.isoformat(), task.task_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (created_at, task_id) a cursor points after; InvalidCursor when it is not ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, task_id = json.loads(base64.urlsafe_b64decode(padded))
        when = datetime.fromisoformat(created)
        # MongoDB stores UTC: a date that does not fit in UTC is not one we issued.
        return when.astimezone(UTC) if when.tzinfo else when, str(task_id)
    except (ValueError, TypeError, OverflowError, binascii.Error) as exc:
        raise InvalidCursor("The cursor is not one this API returned.") from exc


class TaskRepository:
    """Every query on `tasks`; status changes are compare-and-set on the current status."""

    def __init__(self, collection: AsyncCollection[Document]):
        self._tasks = collection

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
        doc = await self._tasks.find_one_and_update(
            {"_id": task_id, "status": TaskStatus.QUEUED.value},
            {
                "$set": {
                    "status": TaskStatus.PROCESSING.value,
                    "worker_id": worker_id,
                    "started_at": now,
                    "updated_at": now,
                    "lease_expires_at": now + timedelta(seconds=lease_seconds),
                },
                "$inc": {"attempt": 1},
            },
            return_document=ReturnDocument.AFTER,
        )
        return Task.model_validate(doc) if doc else None

    async def record_routing(self, task_id: str, attempt: int, routing: RoutingDecision) -> bool:
        """Store the router's decision on the attempt that still owns the task."""
        return await self._update_owned(
            task_id,
            attempt,
            {"routing": routing.model_dump(), "selected_agent": routing.agent_name},
        )

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
        outcome = await self._tasks.update_one(
            {"_id": task_id, "status": TaskStatus.PROCESSING.value, "attempt": attempt},
            {
                "$set": {
                    "status": TaskStatus.QUEUED.value,
                    # Due when the deferral ends: the reconciler counts staleness from then.
                    "queued_at": now + timedelta(seconds=delay_seconds),
                    "updated_at": now,
                    "worker_id": None,
                    "lease_expires_at": None,
                    "last_error": reason.model_dump(),
                },
                "$inc": {"deferrals": 1},
            },
        )
        return outcome.modified_count == 1

    async def complete(self, task_id: str, attempt: int, result: TaskResult, usage: Usage) -> bool:
        """Finish the attempt as completed; False if the attempt no longer owns the task."""
        return await self._finish(
            task_id,
            attempt,
            TaskStatus.COMPLETED,
            {"result": result.model_dump(), "usage": usage.model_dump()},
        )

    async def fail(self, task_id: str, attempt: int, error: TaskErrorInfo, usage: Usage) -> bool:
        """Finish the attempt as failed with error.type and error.message."""
        return await self._finish(
            task_id,
            attempt,
            TaskStatus.FAILED,
            {"error": error.model_dump(), "usage": usage.model_dump()},
        )

    async def finish_cancelled(self, task_id: str, attempt: int) -> bool:
        """The worker stopped the attempt because cancel was requested."""
        return await self._finish(
            task_id,
            attempt,
            TaskStatus.CANCELLED,
            {"error": {"type": "CANCELLED", "message": "Cancelled on request while running."}},
        )

    async def cancel_waiting(self, task_id: str, owner: str) -> Task | None:
        """Cancel a task no worker holds (queued or awaiting approval) at once."""
        now = utcnow()
        doc = await self._tasks.find_one_and_update(
            {
                "_id": task_id,
                "owner": owner,
                "status": {"$in": [TaskStatus.QUEUED.value, TaskStatus.AWAITING_APPROVAL.value]},
            },
            {
                "$set": {
                    "status": TaskStatus.CANCELLED.value,
                    "error": {"type": "CANCELLED", "message": "Cancelled on request."},
                    "completed_at": now,
                    "updated_at": now,
                    "lease_expires_at": None,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return Task.model_validate(doc) if doc else None

    async def request_cancel(self, task_id: str, owner: str) -> Task | None:
        """Ask the worker running the task to stop at its next step."""
        doc = await self._tasks.find_one_and_update(
            {"_id": task_id, "owner": owner, "status": TaskStatus.PROCESSING.value},
            {"$set": {"cancel_requested": True, "updated_at": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )
        return Task.model_validate(doc) if doc else None

    async def retry(self, task: Task) -> Task | None:
        """Queue a failed or cancelled task again; the attempt that ended goes to history."""
        now = utcnow()
        ended = AttemptRecord(
            attempt=task.attempt,
            status=task.status,
            error=task.error,
            result_summary=task.result.summary if task.result else None,
            started_at=task.started_at,
            completed_at=task.completed_at,
        )
        doc = await self._tasks.find_one_and_update(
            # Compare-and-set on what we read: a concurrent retry or change wins, we do nothing.
            {"_id": task.task_id, "status": task.status.value, "updated_at": task.updated_at},
            {
                "$set": {
                    "status": TaskStatus.QUEUED.value,
                    "queued_at": now,
                    "updated_at": now,
                    "error": None,
                    "last_error": None,
                    "result": None,
                    "completed_at": None,
                    "cancel_requested": False,
                    "deferrals": 0,
                    "reclaims": 0,
                },
                "$push": {"history": ended.model_dump()},
            },
            return_document=ReturnDocument.AFTER,
        )
        return Task.model_validate(doc) if doc else None

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
        outcome = await self._tasks.update_one(
            {
                "_id": task.task_id,
                "status": TaskStatus.PROCESSING.value,
                "attempt": task.attempt,
                "lease_expires_at": {"$lt": now},
            },
            {
                "$set": {
                    "status": TaskStatus.QUEUED.value,
                    "queued_at": now,
                    "updated_at": now,
                    "worker_id": None,
                    "lease_expires_at": None,
                },
                "$inc": {"reclaims": 1},
            },
        )
        return outcome.modified_count == 1

    async def fail_expired(self, task: Task, now: datetime, error: TaskErrorInfo) -> bool:
        """Fail an expired attempt that was the last one allowed."""
        outcome = await self._tasks.update_one(
            {
                "_id": task.task_id,
                "status": TaskStatus.PROCESSING.value,
                "attempt": task.attempt,
                "lease_expires_at": {"$lt": now},
            },
            {
                "$set": {
                    "status": TaskStatus.FAILED.value,
                    "error": error.model_dump(),
                    "completed_at": now,
                    "updated_at": now,
                    "lease_expires_at": None,
                },
                "$inc": {"reclaims": 1},
            },
        )
        return outcome.modified_count == 1

    async def _finish(
        self, task_id: str, attempt: int, status: TaskStatus, fields: Document
    ) -> bool:
        now = utcnow()
        return await self._update_owned(
            task_id,
            attempt,
            {**fields, "status": status.value, "completed_at": now, "lease_expires_at": None},
        )

    async def _update_owned(self, task_id: str, attempt: int, fields: Document) -> bool:
        outcome = await self._tasks.update_one(
            {"_id": task_id, "status": TaskStatus.PROCESSING.value, "attempt": attempt},
            {"$set": {**fields, "updated_at": utcnow()}},
        )
        return outcome.modified_count == 1
