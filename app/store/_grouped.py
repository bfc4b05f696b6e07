"""Writes that concurrent tasks make to one collection, sent together as one command.

Group commit, as the accept path does it (`app/dispatch/intake.py`): while one bulk write is in
flight, the writes that arrive meanwhile wait for the next, so under load one command carries
many (a worker's hundred tasks in flight share their run records, event appends and counters),
while a write that arrives alone is sent at once: nothing lingers waiting for company. Each
caller still returns only once its own write is stored, or raises what kept it out.

Only for writes whose callers need nothing back but success: a bulk write does not say which of
its updates matched a document.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pymongo import InsertOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import (
    BulkWriteError,
    DuplicateKeyError,
    PyMongoError,
    WriteConcernError,
    WriteError,
)

# Far below MongoDB's 100,000 writes and 48 MB per batch for the documents written here.
MAX_BATCH = 512
DUPLICATE_KEY = (11000, 11001)

Write = InsertOne[dict[str, Any]] | UpdateOne


@dataclass(eq=False)
class _Pending:
    """One write of the next batch and the callers waiting for it."""

    op: Write | None  # None: an increment, built from `inc` when the batch is sent
    waiters: list[asyncio.Future[None]]
    doc_id: Any = None
    inc: Counter[str] = field(default_factory=Counter)

    def operation(self) -> Write:
        if self.op is not None:
            return self.op
        return UpdateOne({"_id": self.doc_id}, {"$inc": dict(self.inc)}, upsert=True)

    def settle(self, error: Exception | None) -> None:
        for waiter in self.waiters:
            if waiter.done():  # the caller was cancelled; its write went out all the same
                continue
            if error is None:
                waiter.set_result(None)
            else:
                # Each caller raises an exception of its own: tracebacks and the notes
                # LangGraph adds to what a node raised must not pile up on one shared object.
                waiter.set_exception(_own(error))

    def cancel(self) -> None:
        for waiter in self.waiters:
            waiter.cancel()


def _own(error: Exception) -> Exception:
    """A copy of `error` for one caller, caused by the original."""
    try:
        mine = copy.copy(error)
    except Exception:  # an exception that cannot be copied is shared as it is
        return error
    mine.__cause__ = error
    mine.__traceback__ = None
    return mine


class GroupedWrites:
    """The single-document writes of one collection, in batches of whoever is waiting."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]], max_batch: int = MAX_BATCH):
        self._collection = collection
        self._max_batch = max_batch
        self._pending: list[_Pending] = []
        self._increments: dict[Any, _Pending] = {}
        self._writer: asyncio.Task[None] | None = None

    async def write(self, op: Write) -> None:
        """Store one insert or update; raises the PyMongoError that kept it out.

        A caller cancelled before its batch was sent takes its write back: nothing is written
        for it once it has moved on (a write already sent may be applied, as a lone one may).
        """
        waiter = asyncio.get_running_loop().create_future()
        pending = _Pending(op, [waiter])
        self._pending.append(pending)
        try:
            await self._sent(waiter)
        except asyncio.CancelledError:
            if pending in self._pending:
                self._pending.remove(pending)
            raise

    async def increment(self, doc_id: Any, inc: Mapping[str, float]) -> None:
        """`$inc` the counters of one document (created if missing). Increments of the same
        document waiting together are summed into one update."""
        waiter = asyncio.get_running_loop().create_future()
        pending = self._increments.get(doc_id)
        if pending is None:
            pending = self._increments[doc_id] = _Pending(None, [], doc_id)
            self._pending.append(pending)
        pending.inc.update(inc)
        pending.waiters.append(waiter)
        await self._sent(waiter)

    async def _sent(self, waiter: asyncio.Future[None]) -> None:
        if self._writer is None or self._writer.done():
            # A context of its own: the batch must not run under the first caller's deadline
            # (pymongo.timeout) or log with its bound fields; the client's timeoutMS bounds it.
            self._writer = asyncio.create_task(self._write(), context=contextvars.Context())
        await waiter

    async def _write(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            for pending in batch:
                if pending.op is None:
                    del self._increments[pending.doc_id]
            try:
                errors = await self._bulk([pending.operation() for pending in batch])
            except Exception as exc:  # the store is unreachable, or timed out
                for pending in batch:
                    pending.settle(exc)
                continue
            except BaseException:  # the loop is shutting down: nothing more is sent
                for pending in [*batch, *self._pending]:
                    pending.cancel()
                self._pending.clear()
                self._increments.clear()
                raise
            for n, pending in enumerate(batch):
                pending.settle(errors.get(n))

    async def _bulk(self, ops: list[Write]) -> dict[int, PyMongoError]:
        """Send the batch unordered (its writes are independent); the error of each write
        that failed by its index, as the single write would have raised it."""
        try:
            await self._collection.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            errors: dict[int, PyMongoError] = {}
            for error in exc.details.get("writeErrors", ()):
                kind = DuplicateKeyError if error.get("code") in DUPLICATE_KEY else WriteError
                errors[error["index"]] = kind(error.get("errmsg"), error.get("code"), error)
            if concern := exc.details.get("writeConcernErrors"):
                # Applied, but not as durably as asked: what a single write raises then.
                last = concern[-1]
                unsure = WriteConcernError(last.get("errmsg"), last.get("code"), last)
                errors |= {n: unsure for n in range(len(ops)) if n not in errors}
            return errors
        return {}
