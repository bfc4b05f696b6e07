"""The `api_keys` collection: managed API keys, stored by the SHA-256 of their secret (never the
secret), with their tenant, role, dates and, after a rotation, the previous secret's hash until
its grace period ends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument

from app.domain.access import Role
from app.domain.models import utcnow
from app.store._base import Document, Repository


@dataclass(frozen=True)
class KeyRecord:
    """One managed key as stored (without any secret)."""

    key_id: str
    tenant: str
    role: Role
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    previous_valid_until: datetime | None
    limits: dict[str, Any]

    @classmethod
    def of(cls, doc: Document) -> KeyRecord:
        return cls(
            key_id=str(doc["_id"]),
            tenant=doc["tenant"],
            role=Role(doc["role"]),
            name=doc.get("name", ""),
            created_at=doc["created_at"],
            expires_at=doc.get("expires_at"),
            revoked_at=doc.get("revoked_at"),
            last_used_at=doc.get("last_used_at"),
            previous_valid_until=doc.get("previous_valid_until"),
            limits=doc.get("limits") or {},
        )


_NO_HASHES = {"secret_hash": 0, "previous_hash": 0}


class ApiKeyRepository(Repository):
    """Keys by id and by secret hash; every change is one update of the key's document."""

    indexes = (
        IndexModel([("secret_hash", ASCENDING)], name="secret_hash", unique=True),
        IndexModel([("previous_hash", ASCENDING)], name="previous_hash", sparse=True),
        IndexModel([("tenant", ASCENDING), ("created_at", DESCENDING)], name="tenant_created"),
    )

    async def insert(self, record: KeyRecord, secret_hash: str) -> None:
        await self._collection.insert_one(
            {
                "_id": record.key_id,
                "tenant": record.tenant,
                "role": record.role.value,
                "name": record.name,
                "secret_hash": secret_hash,
                "created_at": record.created_at,
                "expires_at": record.expires_at,
                "revoked_at": None,
                "last_used_at": None,
                "limits": record.limits,
            }
        )

    async def by_hash(self, secret_hash: str) -> tuple[KeyRecord, bool] | None:
        """The key whose current secret (True) or previous secret (False) hashes to this."""
        doc = await self._collection.find_one({"secret_hash": secret_hash}, _NO_HASHES)
        if doc is not None:
            return KeyRecord.of(doc), True
        doc = await self._collection.find_one({"previous_hash": secret_hash}, _NO_HASHES)
        return (KeyRecord.of(doc), False) if doc is not None else None

    async def get(self, key_id: str) -> KeyRecord | None:
        doc = await self._collection.find_one({"_id": key_id}, _NO_HASHES)
        return KeyRecord.of(doc) if doc is not None else None

    async def list(self, tenant: str | None, limit: int = 500) -> list[KeyRecord]:
        """The tenant's keys (None: every tenant's), newest first."""
        query: Document = {} if tenant is None else {"tenant": tenant}
        sort = [("tenant", ASCENDING), ("created_at", DESCENDING)]
        cursor = self._collection.find(query, _NO_HASHES).sort(sort).limit(limit)
        return [KeyRecord.of(doc) async for doc in cursor]

    async def revoke(self, key_id: str) -> KeyRecord | None:
        """Revoke the key now (a second revocation keeps the first date)."""
        doc = await self._collection.find_one_and_update(
            {"_id": key_id, "revoked_at": None},
            {"$set": {"revoked_at": utcnow()}},
            projection=_NO_HASHES,
            return_document=ReturnDocument.AFTER,
        )
        return KeyRecord.of(doc) if doc is not None else await self.get(key_id)

    async def rotate(
        self,
        key_id: str,
        secret_hash: str,
        previous_valid_until: datetime,
        expected_previous: datetime | None,
    ) -> KeyRecord | None:
        """Give a live key a new secret; the current one stays valid until the given time.
        None when the key changed since it was read (revoked, or rotated by someone else)."""
        doc = await self._collection.find_one_and_update(
            {"_id": key_id, "revoked_at": None, "previous_valid_until": expected_previous},
            [
                {
                    "$set": {
                        "previous_hash": "$secret_hash",
                        "previous_valid_until": previous_valid_until,
                        "secret_hash": secret_hash,
                    }
                }
            ],
            projection=_NO_HASHES,
            return_document=ReturnDocument.AFTER,
        )
        return KeyRecord.of(doc) if doc is not None else None

    async def touch(self, key_id: str, when: datetime) -> None:
        """Record a use (callers do it at most once a minute per key and process)."""
        await self._collection.update_one({"_id": key_id}, {"$max": {"last_used_at": when}})
