"""Documents and indexes of the MongoDB stand-in, and the reads and writes commands make of them.

Each collection keeps its documents by `_id` and an `Index` for `_id_` and for every index
createIndexes declared; inserts, updates and deletes keep all of them current, unique ones are
checked by lookup, and reads take the planner's index walk, so an operation's cost grows with
what it matches, not with the collection. Matching, update operators and projection are
mongomock's (`_language`); a filter no index serves is a collection scan, counted per
collection as MongoDB counts them (`$collStats` `queryExecStats.collectionScans`).

Stored documents belong to the store: a write replaces a document with an updated copy, and a
read's caller encodes what it gets before the next command runs.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import bson
from bson import ObjectId

from standins.mongo import _language as language
from standins.mongo.errors import CommandError
from standins.mongo.indexes import Index, path_values
from standins.mongo.order import DATE, HIGHEST, MIN_KEY, Key, order_key
from standins.mongo.planner import Plan, Sort, plan
from standins.mongo.wire import DECODE_OPTIONS, ENCODE_OPTIONS, Document

_EMPTY_ARRAY_SORT: Key = (MIN_KEY + 1,)  # an empty array sorts before null


class DuplicateKey(CommandError):
    """E11000: a write would give a unique index two equal keys."""

    def __init__(self, namespace: str, index: Index, doc: Document) -> None:
        values = {field: _lookup(doc, field) for field in index.fields}
        shown = ", ".join(f"{field}: {value!r}" for field, value in values.items())
        super().__init__(
            11000,
            f"E11000 duplicate key error collection: {namespace} index: {index.name} "
            f"dup key: {{ {shown} }}",
        )
        self.details = {"keyPattern": dict(index.keys), "keyValue": values}


def _lookup(doc: Document, field: str) -> Any:
    value: Any = doc
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _copy(doc: Document) -> Document:
    # A BSON round trip is a deep copy three times faster than copy.deepcopy.
    return bson.decode(bson.encode(doc, codec_options=ENCODE_OPTIONS), DECODE_OPTIONS)


def _sort_key(doc: Document, field: str, ascending: bool) -> Key:
    """MongoDB's sort value of a field: an array sorts by its least (or greatest) element."""
    keys: list[Key] = []
    for value in language.key_candidates(field, doc):
        if language.is_nothing(value) or value is None:
            keys.append(order_key(None))
        elif isinstance(value, list):
            keys.extend(order_key(item) for item in value)
            if not value:
                keys.append(_EMPTY_ARRAY_SORT)
        else:
            keys.append(order_key(value))
    if not keys:
        return order_key(None)
    return min(keys) if ascending else max(keys)


def sort_documents(docs: list[Document], sort: Sort) -> list[Document]:
    """docs in sort order (stable: equal documents keep their order)."""
    for field, way in reversed(sort):
        docs.sort(key=functools.partial(_sort_key, field=field, ascending=way > 0), reverse=way < 0)
    return docs


@dataclass
class QueryStats:
    """What the collection's queries cost, as MongoDB's queryExecStats and serverStatus say."""

    collection_scans: int = 0


@dataclass(frozen=True)
class UpdateOutcome:
    matched: int
    modified: int
    upserted_id: Any = None
    # The one matched (or upserted) document before and after, for findAndModify.
    before: Document | None = None
    after: Document | None = None


class Collection:
    """One collection: documents by _id key, their indexes, what queries cost."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.docs: dict[Key, Document] = {}
        self.indexes: dict[str, Index] = {"_id_": Index("_id_", [("_id", 1)], {}, language.matches)}
        self.stats = QueryStats()

    # -- indexes -------------------------------------------------------------------------

    def create_index(self, name: str, keys: list[tuple[str, Any]], options: Document) -> bool:
        """Build an index over the stored documents; False when it exists already."""
        existing = self.indexes.get(name)
        if existing is not None:
            if existing.keys != keys or existing.options != options:
                raise CommandError(
                    86, f"An existing index has the same name as the requested index: {name}"
                )
            return False
        for other in self.indexes.values():
            if other.keys == keys:
                raise CommandError(85, f"Index already exists with a different name: {other.name}")
        index = Index(name, keys, options, language.matches)
        for id_key, doc in self.docs.items():
            if index.collides(id_key, doc, self.docs):
                raise DuplicateKey(self.namespace, index, doc)
            index.add(id_key, doc)
        self.indexes[name] = index
        return True

    def drop_index(self, name: str) -> None:
        if name == "_id_":
            raise CommandError(72, "cannot drop _id index")
        if self.indexes.pop(name, None) is None:
            raise CommandError(27, f"index not found with name [{name}]")

    def index_named_by_keys(self, keys: list[tuple[str, Any]]) -> str:
        for name, index in self.indexes.items():
            if index.keys == keys:
                return name
        raise CommandError(27, f"can't find index with key: {dict(keys)}")

    def expire(self, now: dt.datetime) -> None:
        """Remove documents a TTL index says are expired (MongoDB's TTL monitor, run lazily)."""
        for index in list(self.indexes.values()):
            if index.expire_after is None or len(index.fields) != 1:
                continue
            cutoff = (now - dt.timedelta(seconds=index.expire_after)).replace(tzinfo=None)
            expired = list(index.walk(((DATE,),), ((DATE, cutoff), HIGHEST), False))
            for id_key in index.multikey:
                values = path_values(self.docs[id_key], index.fields[0].split("."))
                dates = [v for v in values if isinstance(v, dt.datetime)]
                if dates and min(dates) <= cutoff:
                    expired.append(id_key)
            for id_key in expired:
                self._remove(id_key)

    # -- reads ---------------------------------------------------------------------------

    def plan(self, query: Document, sort: Sort | None = None, limited: bool = False) -> Plan:
        return plan(list(self.indexes.values()), query, sort, limited)

    def _candidates(self, chosen: Plan) -> Iterator[Document]:
        index = chosen.index
        if index is None:
            self.stats.collection_scans += 1
            yield from list(self.docs.values())
            return
        if index.name == "_id_" and chosen.range is None and all(chosen.points):
            for point in reversed(chosen.points) if chosen.reverse else chosen.points:
                doc = self.docs.get(point[0])
                if doc is not None:
                    yield doc
            return
        for low, high in chosen.bounds():
            for id_key in index.walk(low, high, chosen.reverse):
                yield self.docs[id_key]
        for id_key in list(index.multikey):
            yield self.docs[id_key]

    def select(
        self, query: Document, sort: Sort | None = None, skip: int = 0, limit: int = 0
    ) -> list[Document]:
        """The stored documents matching query, in sort order, after skip, at most limit."""
        chosen = self.plan(query, sort, limited=limit > 0)
        test = language.matcher(query)
        matched = (doc for doc in self._candidates(chosen) if test(doc))
        ordered = self._in_order(matched, chosen, sort)
        found = list(itertools.islice(ordered, skip, skip + limit if limit else None))
        if not found:
            language.validate_filter(query)
        return found

    def _in_order(
        self, docs: Iterator[Document], chosen: Plan, sort: Sort | None
    ) -> Iterable[Document]:
        if not sort:
            return docs
        served = chosen.sort_served
        if chosen.index is not None and chosen.index.multikey:
            served = 0  # array documents come after the walk, out of order
        if served >= len(sort):
            return docs
        if served == 0:
            return sort_documents(list(docs), sort)
        return _finish_sort(docs, sort, served)

    def count(self, query: Document, skip: int = 0, limit: int = 0) -> int:
        return len(self.select(query, skip=skip, limit=limit))

    def distinct(self, key: str, query: Document) -> list[Any]:
        values: dict[Key, Any] = {}
        for doc in self.select(query):
            for value in language.key_candidates(key, doc):
                if language.is_nothing(value):
                    continue
                for item in value if isinstance(value, list) else [value]:
                    values.setdefault(order_key(item), item)
        return list(values.values())

    # -- writes --------------------------------------------------------------------------

    def insert(self, doc: Document) -> Any:
        """Store a new document (an _id is added when it has none); returns its _id."""
        language.validate_insert(doc)
        if "_id" not in doc:
            doc = {"_id": ObjectId(), **doc}
        id_value = doc["_id"]
        if isinstance(id_value, list):
            raise CommandError(2, "The '_id' value cannot be of type array")
        id_key = order_key(id_value)
        if id_key in self.docs:
            raise DuplicateKey(self.namespace, self.indexes["_id_"], doc)
        self._check_unique(id_key, doc)
        self.docs[id_key] = doc
        for index in self.indexes.values():
            index.add(id_key, doc)
        return id_value

    def update(
        self,
        query: Document,
        update: Any,
        *,
        upsert: bool = False,
        multi: bool = False,
        sort: Sort | None = None,
    ) -> UpdateOutcome:
        """Apply an update to the first match (in sort order) or, with multi, to every match."""
        replacement = isinstance(update, dict) and not any(k.startswith("$") for k in update)
        if replacement and multi:
            raise CommandError(9, "multi update is not supported for replacement-style update")
        targets = self.select(query, sort, limit=0 if multi else 1)
        modified = 0
        before = after = None
        for doc in targets:
            before, after = doc, self._apply(doc, query, update)
            modified += after is not doc
        if targets or not upsert:
            return UpdateOutcome(len(targets), modified, before=before, after=after)
        seed = language.upsert_seed(query, update)
        language.apply_update(seed, query, update, inserting=True)
        if "_id" not in seed:
            seed = {"_id": ObjectId(), **seed}
        upserted_id = self.insert(seed)
        return UpdateOutcome(0, 0, upserted_id, after=seed)

    def _apply(self, doc: Document, query: Document, update: Any) -> Document:
        """Update a stored document; the stored (new or unchanged) document is returned."""
        old = bson.encode(doc, codec_options=ENCODE_OPTIONS)
        new = bson.decode(old, DECODE_OPTIONS)  # a deep copy, three times faster than deepcopy
        language.apply_update(new, query, update, inserting=False)
        # Unchanged as BSON, as MongoDB decides: a type change (1 -> 1.0 or true) is a change.
        if bson.encode(new, codec_options=ENCODE_OPTIONS) == old:
            return doc
        id_key = order_key(doc["_id"])
        if "_id" not in new or order_key(new["_id"]) != id_key:
            raise CommandError(
                66,
                "After applying the update, the (immutable) field '_id' was found to have "
                "been altered",
            )
        self._check_unique(id_key, new)
        self.docs[id_key] = new
        for index in self.indexes.values():
            if index.name != "_id_":  # the _id cannot change
                index.replace(id_key, new)
        return new

    def delete(
        self, query: Document, *, just_one: bool, sort: Sort | None = None
    ) -> list[Document]:
        """Remove the first match (in sort order) or every match; returns what was removed."""
        victims = self.select(query, sort, limit=1 if just_one else 0)
        for doc in victims:
            self._remove(order_key(doc["_id"]))
        return victims

    def _remove(self, id_key: Key) -> None:
        if self.docs.pop(id_key, None) is not None:
            for index in self.indexes.values():
                index.remove(id_key)

    def _check_unique(self, id_key: Key, doc: Document) -> None:
        for index in self.indexes.values():
            if index.name != "_id_" and index.collides(id_key, doc, self.docs):
                raise DuplicateKey(self.namespace, index, doc)


def _finish_sort(docs: Iterator[Document], sort: Sort, served: int) -> Iterator[Document]:
    """Documents already ordered by the first `served` sort keys, fully ordered lazily."""

    def prefix(doc: Document) -> tuple[Key, ...]:
        return tuple(_sort_key(doc, field, way > 0) for field, way in sort[:served])

    for _, group in itertools.groupby(docs, key=prefix):
        yield from sort_documents(list(group), sort[served:])


class Database:
    """The collections of one database (created by their first write)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.collections: dict[str, Collection] = {}

    def get(self, name: str) -> Collection | None:
        return self.collections.get(name)

    def reading(self, name: str) -> Collection:
        """The collection to read: an empty, unregistered one when it does not exist."""
        return self.collections.get(name) or Collection(f"{self.name}.{name}")

    def writing(self, name: str) -> Collection:
        """The collection to write, created when it does not exist."""
        collection = self.collections.get(name)
        if collection is None:
            collection = self.collections[name] = Collection(f"{self.name}.{name}")
        return collection

    def drop(self, name: str) -> Collection | None:
        return self.collections.pop(name, None)


class Storage:
    """Every database the stand-in holds."""

    def __init__(self) -> None:
        self.databases: dict[str, Database] = {}

    def database(self, name: str) -> Database:
        database = self.databases.get(name)
        if database is None:
            database = self.databases[name] = Database(name)
        return database

    def database_names(self) -> list[str]:
        return sorted(name for name, db in self.databases.items() if db.collections)

    def drop_database(self, name: str) -> None:
        self.databases.pop(name, None)


class LookupDatabase:
    """What a pipeline's $lookup reads: copies of another collection's matching documents."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def get_collection(self, name: str) -> _LookupCollection:
        return _LookupCollection(self._database.reading(name))


class _LookupCollection:
    def __init__(self, collection: Collection) -> None:
        self._collection = collection

    def find(self, query: Document | None = None) -> list[Document]:
        return [_copy(doc) for doc in self._collection.select(query or {})]


def run_pipeline(
    collection: Collection, database: Database, pipeline: Sequence[Any]
) -> list[Document]:
    """An aggregation pipeline; leading $match stages are answered from the indexes."""
    stages = list(pipeline)
    for stage in stages:
        if isinstance(stage, dict) and ({"$out", "$merge"} & stage.keys()):
            raise CommandError(238, "$out and $merge are not supported by the mongo stand-in")
    query: Document = {}
    while stages and isinstance(stages[0], dict) and list(stages[0]) == ["$match"]:
        query = {"$and": [query, stages.pop(0)["$match"]]} if query else stages.pop(0)["$match"]
    counted = _count_shape(stages)
    if counted is not None:
        skip, limit, field = counted
        n = collection.count(query, skip, limit)
        return [{"_id": 1, field: n}] if n else []
    docs = [_copy(doc) for doc in collection.select(query)]
    return language.run_pipeline(docs, LookupDatabase(database), stages)


def _count_shape(stages: list[Any]) -> tuple[int, int, str] | None:
    """(skip, limit, field) when the rest of the pipeline is count_documents' counting group."""
    skip = limit = 0
    rest = list(stages)
    if rest and isinstance(rest[0], dict) and list(rest[0]) == ["$skip"]:
        skip = int(rest.pop(0)["$skip"])
    if rest and isinstance(rest[0], dict) and list(rest[0]) == ["$limit"]:
        limit = int(rest.pop(0)["$limit"])
    if len(rest) != 1 or not isinstance(rest[0], dict) or list(rest[0]) != ["$group"]:
        return None
    group = rest[0]["$group"]
    if not isinstance(group, dict) or group.get("_id") != 1 or len(group) != 2:
        return None
    field, accumulator = next((k, v) for k, v in group.items() if k != "_id")
    if accumulator != {"$sum": 1}:
        return None
    return skip, limit, field
