"""What every command handler shares: the `Call` it receives and its argument readers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from standins.mongo.errors import CommandError
from standins.mongo.wire import Document

if TYPE_CHECKING:
    from standins.mongo.cursors import Cursors
    from standins.mongo.storage import Collection, Database, Storage


@dataclass(frozen=True)
class Call:
    """One command invocation: the body, the database it targets and the server state."""

    storage: Storage
    cursors: Cursors
    db_name: str
    body: Document
    connection_id: int

    @property
    def target(self) -> str:
        """The collection named by the command's first field."""
        name, value = next(iter(self.body.items()))
        if not isinstance(value, str) or not value:
            raise CommandError(73, f"{name} needs a collection name, got {value!r}")
        return value

    @property
    def namespace(self) -> str:
        return f"{self.db_name}.{self.target}"

    def database(self) -> Database:
        return self.storage.database(self.db_name)

    def reading(self) -> Collection:
        """The target collection to read (empty when it does not exist), TTL applied."""
        collection = self.database().reading(self.target)
        collection.expire(dt.datetime.now(dt.UTC))
        return collection

    def writing(self) -> Collection:
        """The target collection to write (created when it does not exist), TTL applied."""
        collection = self.database().writing(self.target)
        collection.expire(dt.datetime.now(dt.UTC))
        return collection

    def coll_stats(self, options: Any) -> Document:
        """One `$collStats` document: counts and queryExecStats, as MongoDB 7 reports them."""
        collection = self.database().reading(self.target)
        stats: Document = {"ns": self.namespace, "localTime": dt.datetime.now(dt.UTC)}
        wanted = options if isinstance(options, dict) else {}
        if "queryExecStats" in wanted:
            scans = collection.stats.collection_scans
            stats["queryExecStats"] = {"collectionScans": {"total": scans, "nonTailable": scans}}
        if "count" in wanted:
            stats["count"] = len(collection.docs)
        if "storageStats" in wanted:
            stats["storageStats"] = {
                "count": len(collection.docs),
                "nindexes": len(collection.indexes),
            }
        return stats

    def cursor_reply(self, namespace: str, documents: list[Document]) -> Document:
        options = mapping_arg(self.body, "cursor")
        return self.cursors.open(namespace, documents, batch_size(options))


# Every handler is synchronous and runs to completion before the next message is read, which is
# what makes findAndModify and filtered updates compare-and-set operations. Never await in one.
Handler = Callable[[Call], Document]


def refuse_collation(spec: Document) -> None:
    # mongomock has no collations; failing loudly beats comparing strings the wrong way.
    if spec.get("collation"):
        raise CommandError(238, "collation is not supported by the mongo stand-in")


def mapping_arg(body: Document, key: str) -> Document:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CommandError(14, f"'{key}' must be a document")
    return value


def list_arg(body: Document, key: str) -> list[Any]:
    value = body.get(key, [])
    if not isinstance(value, list):
        raise CommandError(14, f"'{key}' must be an array")
    return value


def batch_size(options: Document) -> int | None:
    value = options.get("batchSize")
    return None if value is None else int(value)


def sort_arg(body: Document) -> list[tuple[str, int]] | None:
    """The sort keys and directions; `$natural` (insertion order) is the unsorted order."""
    keys: list[tuple[str, int]] = []
    for field, way in mapping_arg(body, "sort").items():
        if field == "$natural":
            if way == -1:
                raise CommandError(238, "$natural: -1 is not supported by the mongo stand-in")
            continue
        if not isinstance(way, int | float) or way not in (1, -1):
            raise CommandError(2, f"sort direction of {field!r} must be 1 or -1, got {way!r}")
        keys.append((field, int(way)))
    return keys or None
