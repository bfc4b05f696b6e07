"""LangGraph's saved graph state in MongoDB, through PyMongo's async client.

LangGraph calls these checkpoints; they are not the approval checkpoints people decide on
(`app/store/checkpoints.py`), hence the collections' names: `graph_state` and
`graph_state_writes`. Graphs run with `ainvoke`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from bson import Binary
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    PendingWrite,
    get_checkpoint_id,
    get_serializable_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from app.store._async_only import AsyncOnlySaver
from app.store._base import Document

STATES = "graph_state"
STATE_WRITES = "graph_state_writes"
_CHECKPOINT_KEY = [
    ("thread_id", ASCENDING),
    ("checkpoint_ns", ASCENDING),
    ("checkpoint_id", ASCENDING),
]
_NEWEST_FIRST = [("checkpoint_id", DESCENDING)]
# A `configurable` key of the caller's: the thread is new (it knows nothing was saved for it),
# so loading its latest checkpoint answers None without a read.
NEW_THREAD = "new_thread"


def _config(thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> RunnableConfig:
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": checkpoint_ns,
            "checkpoint_id": checkpoint_id,
        }
    }


@dataclass
class HeldSaves:
    """What a held run asked to save, in memory: its latest checkpoint and that one's writes."""

    checkpoint: tuple[RunnableConfig, Checkpoint, CheckpointMetadata, ChannelVersions] | None = None
    writes: list[tuple[RunnableConfig, Sequence[tuple[str, Any]], str, str]] = field(
        default_factory=list
    )


_HELD: ContextVar[HeldSaves | None] = ContextVar("held_graph_saves", default=None)


class MongoGraphStateSaver(AsyncOnlySaver):
    """Checkpoints and pending writes in `graph_state` and `graph_state_writes`.

    Each checkpoint document holds the whole serialized checkpoint, channel values included,
    so one read restores it; metadata is stored as a plain document so `alist` filters in
    the query. Checkpoint ids are uuid6, so sorting on them is sorting by time.
    """

    def __init__(
        self, db: AsyncDatabase[Document], *, serde: SerializerProtocol | None = None
    ) -> None:
        super().__init__(serde=serde)
        self._checkpoints = db[STATES]
        self._writes = db[STATE_WRITES]

    async def ensure_indexes(self) -> None:
        """Create the unique keys that make replayed puts upserts rather than duplicates."""
        await self._checkpoints.create_index(_CHECKPOINT_KEY, unique=True, name="checkpoint_key")
        await self._writes.create_index(
            [*_CHECKPOINT_KEY, ("task_id", ASCENDING), ("idx", ASCENDING)],
            unique=True,
            name="write_key",
        )

    @contextmanager
    def holding(self) -> Iterator[HeldSaves]:
        """Graph runs started inside keep what they save in memory, until `keep` stores it.

        For a caller that needs a run's state only in some endings (a pause for a person) and
        records every other ending elsewhere: those runs then cost no write here.
        """
        held = HeldSaves()
        token = _HELD.set(held)
        try:
            yield held
        finally:
            _HELD.reset(token)

    async def keep(self, held: HeldSaves) -> None:
        """Store a held run's last checkpoint, then the writes made against it."""
        if held.checkpoint is None:
            return
        config, checkpoint, metadata, new_versions = held.checkpoint
        stored = await self._put(config, checkpoint, metadata, new_versions)
        for write_config, writes, task_id, task_path in held.writes:
            if write_config["configurable"].get("checkpoint_id") == checkpoint["id"]:
                await self._put_writes(stored, writes, task_id, task_path)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint `config` names by id, or the thread's latest in its namespace."""
        conf = config["configurable"]
        if conf.get(NEW_THREAD):
            return None
        query: Document = {
            "thread_id": conf["thread_id"],
            "checkpoint_ns": conf.get("checkpoint_ns", ""),
        }
        if checkpoint_id := get_checkpoint_id(config):
            query["checkpoint_id"] = checkpoint_id
        doc = await self._checkpoints.find_one(query, sort=_NEWEST_FIRST)
        return None if doc is None else await self._to_tuple(doc)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Checkpoints newest first, narrowed by thread/namespace/id, metadata and `before`."""
        if limit is not None and limit <= 0:
            return
        query: Document = {}
        id_condition: Document = {}
        if config is not None:
            conf = config["configurable"]
            query["thread_id"] = conf["thread_id"]
            if (checkpoint_ns := conf.get("checkpoint_ns")) is not None:
                query["checkpoint_ns"] = checkpoint_ns
            if checkpoint_id := get_checkpoint_id(config):
                id_condition["$eq"] = checkpoint_id
        if before is not None and (before_id := get_checkpoint_id(before)):
            id_condition["$lt"] = before_id
        if id_condition:
            query["checkpoint_id"] = id_condition
        for key, value in (filter or {}).items():
            query[f"metadata.{key}"] = value
        async for doc in self._checkpoints.find(query, sort=_NEWEST_FIRST, limit=limit or 0):
            yield await self._to_tuple(doc)

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint (an upsert: replaying the same put leaves one document)."""
        if (held := _HELD.get()) is not None:
            held.checkpoint, held.writes = (config, checkpoint, metadata, new_versions), []
            conf = config["configurable"]
            return _config(conf["thread_id"], conf.get("checkpoint_ns", ""), checkpoint["id"])
        return await self._put(config, checkpoint, metadata, new_versions)

    async def _put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        # new_versions is not needed: channel values live inline in the checkpoint, not in
        # per-version blobs as in InMemorySaver, so there is nothing to store per channel.
        conf = config["configurable"]
        thread_id, checkpoint_ns = conf["thread_id"], conf.get("checkpoint_ns", "")
        key = {
            "thread_id": thread_id,
            "checkpoint_ns": checkpoint_ns,
            "checkpoint_id": checkpoint["id"],
        }
        fields = {
            "parent_checkpoint_id": conf.get("checkpoint_id"),
            "checkpoint": self._dump(checkpoint),
            "metadata": get_serializable_checkpoint_metadata(config, metadata),
        }
        await self._checkpoints.update_one(key, {"$set": fields}, upsert=True)
        return _config(thread_id, checkpoint_ns, checkpoint["id"])

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's writes against the checkpoint `config` names: one document, one command.

        As InMemorySaver: a task's regular writes keep the first copy stored (they are one
        document, inserted once), while each special one (error, interrupt, resume, scheduled)
        takes the latest value (a document per kind, replaced).
        """
        if (held := _HELD.get()) is not None:
            held.writes.append((config, writes, task_id, task_path))
            return
        await self._put_writes(config, writes, task_id, task_path)

    async def _put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str,
    ) -> None:
        conf = config["configurable"]
        key = {
            "thread_id": conf["thread_id"],
            "checkpoint_ns": conf.get("checkpoint_ns", ""),
            "checkpoint_id": conf["checkpoint_id"],
            "task_id": task_id,
        }
        regular: list[Document] = []
        upserts: list[tuple[Document, Document]] = []
        for position, (channel, value) in enumerate(writes):
            idx = WRITES_IDX_MAP.get(channel, position)
            stored = {"idx": idx, "channel": channel, "value": self._dump(value)}
            if idx >= 0:
                regular.append(stored)
                continue
            fields = {"task_path": task_path, "writes": [stored]}
            upserts.append(({**key, "idx": idx}, {"$set": fields}))
        if regular:
            fields = {"task_path": task_path, "writes": regular}
            upserts.append(({**key, "idx": 0}, {"$setOnInsert": fields}))
        if len(upserts) == 1:
            # A bulk_write costs about three update_ones in client CPU, and most calls need one.
            await self._writes.update_one(*upserts[0], upsert=True)
        elif upserts:
            operations = [UpdateOne(query, update, upsert=True) for query, update in upserts]
            await self._writes.bulk_write(operations, ordered=False)

    async def adelete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint and write of one thread, in all namespaces."""
        await self._checkpoints.delete_many({"thread_id": thread_id})
        await self._writes.delete_many({"thread_id": thread_id})

    def get_next_version(self, current: str | None, channel: None) -> str:
        """Zero-padded counters, so string order is numeric order."""
        number = 0 if current is None else int(str(current).split(".")[0])
        return f"{number + 1:032}"

    async def _to_tuple(self, doc: Document) -> CheckpointTuple:
        thread_id, checkpoint_ns = doc["thread_id"], doc["checkpoint_ns"]
        checkpoint_id, parent_id = doc["checkpoint_id"], doc.get("parent_checkpoint_id")
        stored = [
            write
            async for write in self._writes.find(
                {
                    "thread_id": thread_id,
                    "checkpoint_ns": checkpoint_ns,
                    "checkpoint_id": checkpoint_id,
                }
            )
        ]
        flat = [
            (doc["task_path"], doc["task_id"], write)
            for doc in stored
            for write in doc.get("writes", [doc])  # [doc]: a write stored alone, as before
        ]
        flat.sort(key=lambda w: writes_sort_key(w[0], w[1], w[2]["idx"]))
        pending: list[PendingWrite] = [
            (task_id, write["channel"], self._load(write["value"])) for _, task_id, write in flat
        ]
        return CheckpointTuple(
            config=_config(thread_id, checkpoint_ns, checkpoint_id),
            checkpoint=self._load(doc["checkpoint"]),
            metadata=doc["metadata"],
            parent_config=_config(thread_id, checkpoint_ns, parent_id) if parent_id else None,
            pending_writes=pending,
        )

    def _dump(self, value: Any) -> Document:
        type_, data = self.serde.dumps_typed(value)
        return {"type": type_, "data": Binary(data)}

    def _load(self, stored: Document) -> Any:
        return self.serde.loads_typed((stored["type"], bytes(stored["data"])))
