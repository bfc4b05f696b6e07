"""Open cursors: the not-yet-returned rest of query results, served by getMore."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

from bson.int64 import Int64
from bson.raw_bson import RawBSONDocument

from standins.mongo import wire
from standins.mongo.wire import Document

DEFAULT_FIRST_BATCH = 101
CURSOR_IDLE_TIMEOUT_S = 600.0
# Room for the reply envelope around a batch, so a full batch still fits in one BSON object.
_BATCH_BYTES = wire.MAX_BSON_OBJECT_SIZE - 64 * 1024


@dataclass
class OpenCursor:
    """The rest of one query result, encoded when the query ran."""

    namespace: str
    documents: list[RawBSONDocument]
    position: int = 0
    last_used: float = field(default_factory=time.monotonic)


class Cursors:
    """The server's open cursors by id."""

    def __init__(self) -> None:
        self._open: dict[int, OpenCursor] = {}
        self._ids = itertools.count(1)

    def open(
        self,
        namespace: str,
        documents: list[Document],
        batch_size: int | None = None,
        single_batch: bool = False,
    ) -> Document:
        """Answer a cursor-returning command with its first batch, keeping the rest for getMore.

        Every document is encoded now: the stored ones may change before a getMore reads on.
        """
        self._drop_idle()
        encoded = [wire.raw_document(document) for document in documents]
        first_batch, position = _take_batch(encoded, 0, batch_size or DEFAULT_FIRST_BATCH)
        cursor_id = 0
        if position < len(encoded) and not single_batch:
            cursor_id = next(self._ids)
            self._open[cursor_id] = OpenCursor(namespace, encoded, position)
        return {"cursor": {"firstBatch": first_batch, "id": Int64(cursor_id), "ns": namespace}}

    def get_more(self, cursor_id: int, batch_size: int | None) -> Document | None:
        """The next batch of an open cursor, or None when no such cursor is open."""
        cursor = self._open.get(cursor_id)
        if cursor is None:
            return None
        batch, cursor.position = _take_batch(cursor.documents, cursor.position, batch_size)
        cursor.last_used = time.monotonic()
        if cursor.position >= len(cursor.documents):
            del self._open[cursor_id]
            cursor_id = 0
        return {"cursor": {"nextBatch": batch, "id": Int64(cursor_id), "ns": cursor.namespace}}

    def kill(self, cursor_id: int) -> bool:
        """Close a cursor; whether it was open."""
        return self._open.pop(cursor_id, None) is not None

    def _drop_idle(self) -> None:
        # Like the real server's cursor timeout: clients that vanish must not pin results forever.
        deadline = time.monotonic() - CURSOR_IDLE_TIMEOUT_S
        for cursor_id in [key for key, cur in self._open.items() if cur.last_used < deadline]:
            del self._open[cursor_id]


def _take_batch(
    documents: list[RawBSONDocument], start: int, limit: int | None
) -> tuple[list[RawBSONDocument], int]:
    batch: list[RawBSONDocument] = []
    size = 0
    position = start
    while position < len(documents) and (not limit or len(batch) < limit):
        encoded = documents[position]
        size += len(encoded.raw)
        if batch and size > _BATCH_BYTES:
            break
        batch.append(encoded)
        position += 1
    return batch, position
