"""The `messages` collection: a session's history of tasks and answers."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import BulkWriteError, DuplicateKeyError

from app.domain.models import Message
from app.store._base import Document, Repository

_DUPLICATE_KEY = 11000


class MessageRepository(Repository):
    """Append turns to a session and read its latest ones."""

    indexes = (
        IndexModel(
            [("owner", ASCENDING), ("session_id", ASCENDING), ("created_at", ASCENDING)],
            name="owner_session_created",
        ),
        # A task adds its question and its answer once, whatever the deliveries.
        IndexModel([("task_id", ASCENDING), ("role", ASCENDING)], name="task_role", unique=True),
    )

    async def append(self, *messages: Message) -> int:
        """Add turns in one write; returns how many were new (a task adds each role once)."""
        docs = [message.model_dump(mode="python") for message in messages]
        try:
            result = await self._collection.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            if any(error.get("code") != _DUPLICATE_KEY for error in exc.details["writeErrors"]):
                raise
            return int(exc.details["nInserted"])
        except DuplicateKeyError:
            return 0
        return len(result.inserted_ids)

    async def recent(
        self, owner: str, session_id: str, limit: int, before: str | None = None
    ) -> list[Message]:
        """The session's last `limit` turns, oldest first (without task `before`'s own turns)."""
        if limit == 0:
            return []
        query: Document = {"owner": owner, "session_id": session_id}
        if before is not None:
            query["task_id"] = {"$ne": before}
        docs = (
            await self._collection.find(query)
            .sort([("created_at", DESCENDING)])
            .limit(limit)
            .to_list()
        )
        return [Message.model_validate(doc) for doc in reversed(docs)]
