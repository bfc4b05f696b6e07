"""The `idempotency_keys` collection: one task per (API key, Idempotency-Key) for 24 hours."""

from __future__ import annotations

from dataclasses import dataclass

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from app.domain.models import utcnow
from app.store._base import Repository

KEEP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Reservation:
    """Who holds a key: the task it names and the fingerprint of the body that created it."""

    task_id: str
    fingerprint: str
    created: bool


class IdempotencyRepository(Repository):
    """Reserve keys atomically (the unique _id decides between concurrent requests)."""

    indexes = (
        IndexModel(
            [("created_at", ASCENDING)], name="expire_after_24h", expireAfterSeconds=KEEP_SECONDS
        ),
    )

    async def reserve(self, owner: str, key: str, fingerprint: str, task_id: str) -> Reservation:
        """Bind the key to task_id, or return the binding an earlier request made."""
        key_id = f"{owner}:{key}"
        try:
            await self._collection.insert_one(
                {
                    "_id": key_id,
                    "owner": owner,
                    "task_id": task_id,
                    "fingerprint": fingerprint,
                    "created_at": utcnow(),
                }
            )
        except DuplicateKeyError:
            doc = await self._collection.find_one({"_id": key_id})
            if doc is None:  # expired between the insert and the read: take it now
                return await self.reserve(owner, key, fingerprint, task_id)
            return Reservation(doc["task_id"], doc["fingerprint"], created=False)
        return Reservation(task_id, fingerprint, created=True)

    async def release(self, owner: str, key: str, task_id: str) -> None:
        """Drop a reservation whose task could not be stored, so the key can be used again."""
        await self._collection.delete_one({"_id": f"{owner}:{key}", "task_id": task_id})
