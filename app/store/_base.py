"""What every repository shares: the document type, the collection it queries, and the grouped
writes to it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pymongo import IndexModel
from pymongo.asynchronous.collection import AsyncCollection

from app.store._grouped import GroupedWrites

Document = dict[str, Any]


class Repository:
    """The queries of one collection (subclasses hold them; nothing else reaches it)."""

    # The collection's indexes, created together (one createIndexes) when the store opens.
    indexes: ClassVar[Sequence[IndexModel]] = ()

    def __init__(self, collection: AsyncCollection[Document]):
        self._collection = collection
        # Writes whose callers need nothing back but success share commands under load.
        self._grouped = GroupedWrites(collection)

    async def ensure_indexes(self) -> None:
        """Create the declared indexes (a no-op for those that exist)."""
        if self.indexes:
            await self._collection.create_indexes(list(self.indexes))
