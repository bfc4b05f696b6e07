"""The `checkpoints` collection: approval checkpoints and their decisions (the audit trail)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument

from app.domain.models import Checkpoint, CheckpointStatus, utcnow
from app.store._base import Document, Repository


class CheckpointRepository(Repository):
    """Create checkpoints and decide them, each decision a compare-and-set on `pending`."""

    indexes = (
        IndexModel([("task_id", ASCENDING), ("created_at", ASCENDING)], name="task_created"),
        IndexModel([("status", ASCENDING), ("deadline", ASCENDING)], name="status_deadline"),
        # The review queue by status, oldest or newest first.
        IndexModel([("status", ASCENDING), ("created_at", ASCENDING)], name="status_created"),
    )

    async def create(self, checkpoint: Checkpoint) -> None:
        await self._collection.insert_one(checkpoint.model_dump(by_alias=True, mode="python"))

    async def get(self, checkpoint_id: str) -> Checkpoint | None:
        doc = await self._collection.find_one({"_id": checkpoint_id})
        return Checkpoint.model_validate(doc) if doc else None

    async def for_task(self, task_id: str) -> list[Checkpoint]:
        """The task's checkpoints, oldest first."""
        cursor = self._collection.find({"task_id": task_id}).sort([("created_at", ASCENDING)])
        return [Checkpoint.model_validate(doc) async for doc in cursor]

    async def listing(
        self, status: CheckpointStatus | None, limit: int, oldest_first: bool = False
    ) -> list[Checkpoint]:
        """Checkpoints of every task, newest (or oldest) first, optionally of one status."""
        query: Document = {} if status is None else {"status": status.value}
        order = ASCENDING if oldest_first else DESCENDING
        cursor = self._collection.find(query).sort([("created_at", order)]).limit(limit)
        return [Checkpoint.model_validate(doc) async for doc in cursor]

    async def decide(
        self,
        checkpoint_id: str,
        status: CheckpointStatus,
        decided_by: str,
        comment: str | None,
        edits: dict[str, Any] | None = None,
    ) -> Checkpoint | None:
        """Record a decision on a pending checkpoint; None when it was already decided."""
        doc = await self._collection.find_one_and_update(
            {"_id": checkpoint_id, "status": CheckpointStatus.PENDING.value},
            {
                "$set": {
                    "status": status.value,
                    "decided_by": decided_by,
                    "decided_at": utcnow(),
                    "comment": comment,
                    "edits": edits,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return Checkpoint.model_validate(doc) if doc else None

    async def overdue(self, now: datetime, limit: int) -> list[Checkpoint]:
        """Pending checkpoints past their deadline."""
        cursor = self._collection.find(
            {"status": CheckpointStatus.PENDING.value, "deadline": {"$lt": now}}
        ).limit(limit)
        return [Checkpoint.model_validate(doc) async for doc in cursor]

    async def pending_count(self) -> int:
        """Checkpoints waiting for a decision."""
        return await self._collection.count_documents({"status": CheckpointStatus.PENDING.value})
