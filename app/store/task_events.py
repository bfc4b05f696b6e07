"""The `task_events` collection: a task's history as ordered events (what SSE streams)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from app.domain.models import TaskEvent, utcnow

Document = dict[str, Any]


class TaskEventRepository:
    """Append events with per-task increasing ids; read what follows an id."""

    def __init__(self, events: AsyncCollection[Document], tasks: AsyncCollection[Document]):
        self._events = events
        self._tasks = tasks

    async def ensure_indexes(self) -> None:
        await self._events.create_index(
            [("task_id", ASCENDING), ("seq", ASCENDING)], name="task_seq", unique=True
        )

    async def append(self, task_id: str, kind: str, data: Document) -> TaskEvent | None:
        """Store the next event of the task (its id is the task's next sequence number)."""
        counter = await self._tasks.find_one_and_update(
            {"_id": task_id},
            {"$inc": {"event_seq": 1}},
            projection={"event_seq": 1},
            return_document=ReturnDocument.AFTER,
        )
        if counter is None:
            return None
        event = TaskEvent(
            task_id=task_id, seq=counter["event_seq"], kind=kind, data=data, at=utcnow()
        )
        await self._events.insert_one(event.model_dump(mode="python"))
        return event

    async def emit(self, task_id: str, kind: str, data: Document) -> None:
        """Append, never failing the caller: events describe work, they do not gate it."""
        try:
            await self.append(task_id, kind, data)
        except PyMongoError:
            return

    async def after(self, task_id: str, seq: int, limit: int = 500) -> list[TaskEvent]:
        """The task's events with ids above seq, in order."""
        cursor = (
            self._events.find({"task_id": task_id, "seq": {"$gt": seq}})
            .sort([("seq", ASCENDING)])
            .limit(limit)
        )
        return [TaskEvent.model_validate(doc) async for doc in cursor]
