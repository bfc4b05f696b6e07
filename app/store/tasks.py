"""The `tasks` collection: its queries and its writes, each one command.

A task's events live in its document (see `task_events`): a write may carry the events that go
with it, so a status change and its event are one write. Which writes a status change makes,
and what follows it (counters, metrics), is the task lifecycle's (`app/tasks/lifecycle.py`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, PyMongoError

from app.domain.models import (
    Task,
    TaskEvent,
    TaskStatus,
    utcnow,
)
from app.store import task_events
from app.store._base import Document, Repository
from app.store._cursor import decode_cursor, encode_cursor

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
    text: str | None = None  # a part of the task's text, any case


@dataclass(frozen=True)
class Heartbeat:
    owned: bool
    cancel_requested: bool


@dataclass(frozen=True)
class TaskPage:
    tasks: list[Task]
    next_cursor: str | None


class TaskRepository(Repository):
    """Every query and write on `tasks`; a status change is a compare-and-set on the status."""

    indexes = (
        IndexModel(
            [("owner", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
            name="owner_created",
        ),
        IndexModel(
            [("owner", ASCENDING), ("status", ASCENDING), ("created_at", DESCENDING)],
            name="owner_status_created",
        ),
        IndexModel(
            [("owner", ASCENDING), ("session_id", ASCENDING), ("created_at", DESCENDING)],
            name="owner_session_created",
        ),
        IndexModel([("status", ASCENDING), ("queued_at", ASCENDING)], name="status_queued"),
        # Every tenant's tasks, newest first (admins).
        IndexModel([("created_at", DESCENDING), ("_id", DESCENDING)], name="created"),
    )

    async def insert_many(self, tasks: Sequence[Task]) -> dict[int, PyMongoError]:
        """Insert new tasks, each with its first event, in one command; the errors by index of
        those kept out (an error that stored none, the store unreachable, is raised)."""
        docs = [_new_document(task) for task in tasks]
        try:
            await self._collection.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            return {error["index"]: exc for error in exc.details.get("writeErrors", ())}
        return {}

    async def find_and_update(self, query: Document, update: Document) -> Task | None:
        """Apply `update` to the task `query` matches and answer it as updated (None: no match).

        With the status in `query`, this is the compare-and-set every status change is."""
        doc = await self._collection.find_one_and_update(
            query, update, projection=WITHOUT_EVENTS, return_document=ReturnDocument.AFTER
        )
        return Task.model_validate(doc) if doc is not None else None

    async def get(self, task_id: str) -> Task | None:
        """A task by id, whoever owns it (workers)."""
        doc = await self._collection.find_one({"_id": task_id}, WITHOUT_EVENTS)
        return Task.model_validate(doc) if doc else None

    async def owner_of(self, task_id: str) -> str | None:
        """Who owns a task (None if there is no such task)."""
        doc = await self._collection.find_one({"_id": task_id}, {"owner": 1})
        return str(doc["owner"]) if doc else None

    async def get_for_owner(self, task_id: str, owner: str) -> Task | None:
        """A task by id if `owner` owns it."""
        doc = await self._collection.find_one({"_id": task_id, "owner": owner}, WITHOUT_EVENTS)
        return Task.model_validate(doc) if doc else None

    async def events_after(
        self, task_id: str, seq: int, limit: int = 500
    ) -> tuple[TaskStatus | None, list[TaskEvent]]:
        """The task's status and its events with ids above seq (None: no such task)."""
        doc = await self._collection.find_one(
            {"_id": task_id}, {"status": 1, "events": {"$slice": [seq, limit]}}
        )
        if doc is None:
            return None, []
        return TaskStatus(doc["status"]), task_events.after(task_id, doc.get("events", []), seq + 1)

    async def append_events(self, task_id: str, events: Events, attempt: int | None = None) -> None:
        """Add events to the task (only while `attempt`, when given, still owns it)."""
        if not events:
            return
        query: Document = {"_id": task_id}
        if attempt is not None:
            query |= {"status": TaskStatus.PROCESSING.value, "attempt": attempt}
        await self._grouped.write(UpdateOne(query, task_events.appended(events)))

    async def list_for_owner(
        self, owner: str | None, filters: TaskFilters, limit: int, cursor: str | None
    ) -> TaskPage:
        """The owner's tasks (None: every owner's), newest first, one page of at most `limit`."""
        query: Document = {} if owner is None else {"owner": owner}
        if filters.text:
            query["task"] = {"$regex": re.escape(filters.text), "$options": "i"}
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
            await self._collection.find(query, WITHOUT_EVENTS)
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit + 1)
            .to_list()
        )
        tasks = [Task.model_validate(doc) for doc in docs[:limit]]
        next_cursor = encode_cursor(tasks[-1]) if len(docs) > limit else None
        return TaskPage(tasks=tasks, next_cursor=next_cursor)

    async def set_while_owned(
        self, task_id: str, attempt: int, fields: Document, events: Events
    ) -> None:
        """Set fields and append events, only while `attempt` still owns the task (a lost
        attempt's write changes nothing)."""
        update = task_events.appended(events)
        update["$set"] = {**fields, "updated_at": utcnow()}
        owned = {"_id": task_id, "status": TaskStatus.PROCESSING.value, "attempt": attempt}
        await self._grouped.write(UpdateOne(owned, update))

    async def heartbeat(self, task_id: str, attempt: int, lease_seconds: float) -> Heartbeat:
        """Renew the attempt's lease; say whether it still owns the task and if cancel is asked."""
        now = utcnow()
        doc = await self._collection.find_one_and_update(
            {"_id": task_id, "status": TaskStatus.PROCESSING.value, "attempt": attempt},
            {"$set": {"lease_expires_at": now + timedelta(seconds=lease_seconds)}},
            projection={"cancel_requested": 1, "_id": 0},
        )
        if doc is None:
            return Heartbeat(owned=False, cancel_requested=False)
        return Heartbeat(owned=True, cancel_requested=bool(doc.get("cancel_requested")))

    async def stale_queued(self, due_before: datetime, limit: int) -> list[tuple[str, datetime]]:
        """Queued tasks due before `due_before` (their message may be lost): (id, queued_at)."""
        cursor = (
            self._collection.find(
                {"status": TaskStatus.QUEUED.value, "queued_at": {"$lt": due_before}},
                {"queued_at": 1},
            )
            .sort([("queued_at", ASCENDING)])
            .limit(limit)
        )
        return [(doc["_id"], doc["queued_at"]) async for doc in cursor]

    async def mark_redispatched(self, task_id: str, queued_at: datetime) -> bool:
        """Restart a stale task's clock before sending it again (one sender wins)."""
        outcome = await self._collection.update_one(
            {"_id": task_id, "status": TaskStatus.QUEUED.value, "queued_at": queued_at},
            {"$set": {"queued_at": utcnow()}},
        )
        return outcome.modified_count == 1

    async def expired_leases(self, now: datetime, limit: int) -> list[Task]:
        """Processing tasks whose lease ran out: their worker died or stalled."""
        cursor = self._collection.find(
            {"status": TaskStatus.PROCESSING.value, "lease_expires_at": {"$lt": now}},
            WITHOUT_EVENTS,
        ).limit(limit)
        return [Task.model_validate(doc) async for doc in cursor]
