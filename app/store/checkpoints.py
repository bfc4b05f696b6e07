"""The `checkpoints` collection: approval checkpoints (humans in the loop)."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

Document = dict[str, Any]


class CheckpointRepository:
    """Queries on checkpoints."""

    def __init__(self, collection: AsyncCollection[Document]):
        self._checkpoints = collection

    async def pending_count(self) -> int:
        """Checkpoints waiting for a decision."""
        return await self._checkpoints.count_documents({"status": "pending"})
