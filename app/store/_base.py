"""What every repository shares: the document type and the collection it queries."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

Document = dict[str, Any]


class Repository:
    """The queries of one collection (subclasses hold them; nothing else reaches it)."""

    def __init__(self, collection: AsyncCollection[Document]):
        self._collection = collection
