"""Command dispatch: run each command the driver sends against the mongomock store.

Every handler is synchronous and runs to completion before the next message is read, which is
what makes findAndModify and filtered updates compare-and-set operations. Never await in here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mongomock
from bson.int64 import Int64
from mongomock import filtering

from app.embedded.mongo import wire
from app.embedded.mongo.wire import Document

if TYPE_CHECKING:
    from app.embedded.mongo.server import MongoStandIn

logger = logging.getLogger(__name__)

SERVER_VERSION = "7.0.0"
MAX_WIRE_VERSION = 21  # MongoDB 7.0
MAX_WRITE_BATCH_SIZE = 100_000

CODE_NAMES = {
    1: "InternalError",
    2: "BadValue",
    9: "FailedToParse",
    14: "TypeMismatch",
    17: "ProtocolError",
    26: "NamespaceNotFound",
    27: "IndexNotFound",
    43: "CursorNotFound",
    48: "NamespaceExists",
    59: "CommandNotFound",
    73: "InvalidNamespace",
    238: "NotImplemented",
    352: "UnsupportedOpQueryCommand",
    11000: "DuplicateKey",
}
# mongomock.filtering is untyped; this names the one function we use from it.
_filter_applies: Callable[[Document, Document], bool] = filtering.filter_applies
_INDEX_OPTIONS = ("unique", "sparse", "partialFilterExpression", "expireAfterSeconds")


class CommandError(Exception):
    """A command failed in a way the real server reports with this code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def error_reply(code: int, message: str) -> Document:
    """A command reply saying the command failed."""
    return {"ok": 0.0, "errmsg": message, "code": code, "codeName": CODE_NAMES.get(code, "Error")}


@dataclass(frozen=True)
class Call:
    """One command invocation: the body, the database it targets and the server state."""

    standin: MongoStandIn
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

    def database(self) -> Any:
        return self.standin.client[self.db_name]

    def collection(self) -> Any:
        return self.database()[self.target]

    def cursor_reply(self, namespace: str, documents: list[Document]) -> Document:
        options = _mapping_arg(self.body, "cursor")
        return self.standin.open_cursor(namespace, documents, _batch_size(options))


Handler = Callable[[Call], Document]


def run_command(standin: MongoStandIn, request: wire.Request, connection_id: int) -> Document:
    """Run the command in request.body and return its reply document (never raises)."""
    body = request.body
    name = next(iter(body), "")
    handler = _HANDLERS.get(name.lower())
    if handler is None:
        return error_reply(59, f"no such command: '{name}'")
    if request.reply_op_code == wire.OP_REPLY and handler is not _hello:
        return error_reply(352, f"Unsupported OP_QUERY command: {name}; use OP_MSG")
    try:
        _refuse_collation(body)
        reply = handler(Call(standin, request.db_name, body, connection_id))
    except CommandError as exc:
        return error_reply(exc.code, str(exc))
    except Exception as exc:
        code = _error_code(exc)
        if code == 1:
            logger.exception("command %s failed", name)
        return error_reply(code, str(exc) or type(exc).__name__)
    reply["ok"] = 1.0
    return reply


def _error_code(exc: Exception) -> int:
    code = getattr(exc, "code", None)
    if isinstance(code, int) and code > 0:
        return code
    if isinstance(exc, NotImplementedError):
        return 238
    if isinstance(exc, mongomock.OperationFailure | TypeError | ValueError | KeyError):
        return 2
    return 1


def _refuse_collation(spec: Document) -> None:
    # mongomock has no collations; failing loudly beats comparing strings the wrong way.
    if spec.get("collation"):
        raise CommandError(238, "collation is not supported by the mongo stand-in")


def _mapping_arg(body: Document, key: str) -> Document:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CommandError(14, f"'{key}' must be a document")
    return value


def _list_arg(body: Document, key: str) -> list[Any]:
    value = body.get(key, [])
    if not isinstance(value, list):
        raise CommandError(14, f"'{key}' must be an array")
    return value


def _batch_size(options: Document) -> int | None:
    value = options.get("batchSize")
    return None if value is None else int(value)


def _sort_arg(body: Document) -> list[tuple[str, Any]] | None:
    sort = _mapping_arg(body, "sort")
    return list(sort.items()) or None


# -- handshake and server information ------------------------------------------------------


def _hello(call: Call) -> Document:
    # No topologyVersion: the driver then polls hello instead of streaming (awaitable hello).
    primary_field = "isWritablePrimary" if "hello" in call.body else "ismaster"
    return {
        "helloOk": True,
        primary_field: True,
        "maxBsonObjectSize": wire.MAX_BSON_OBJECT_SIZE,
        "maxMessageSizeBytes": wire.MAX_MESSAGE_SIZE,
        "maxWriteBatchSize": MAX_WRITE_BATCH_SIZE,
        "localTime": dt.datetime.now(dt.UTC),
        "logicalSessionTimeoutMinutes": 30,
        "connectionId": call.connection_id,
        "minWireVersion": 0,
        "maxWireVersion": MAX_WIRE_VERSION,
        "readOnly": False,
    }


def _ping(call: Call) -> Document:
    return {}


def _build_info(call: Call) -> Document:
    return {
        "version": SERVER_VERSION,
        "versionArray": [int(part) for part in SERVER_VERSION.split(".")] + [0],
        "gitVersion": "mongomock-stand-in",
        "bits": 64,
        "debug": False,
        "maxBsonObjectSize": wire.MAX_BSON_OBJECT_SIZE,
        "storageEngines": ["mongomock"],
        "modules": [],
    }


# -- writes --------------------------------------------------------------------------------


def _write_error(index: int, exc: Exception) -> Document:
    return {"index": index, "code": _error_code(exc), "errmsg": str(exc) or type(exc).__name__}


def _insert(call: Call) -> Document:
    collection = call.collection()
    ordered = bool(call.body.get("ordered", True))
    inserted, errors = 0, []
    for index, document in enumerate(_list_arg(call.body, "documents")):
        try:
            collection.insert_one(document)
        except Exception as exc:
            errors.append(_write_error(index, exc))
            if ordered:
                break
        else:
            inserted += 1
    return {"n": inserted, **({"writeErrors": errors} if errors else {})}


def _apply_update(
    collection: Any, query: Document, update: Any, *, upsert: bool, multi: bool, array_filters: Any
) -> Document:
    """Apply an operator, replacement or pipeline update; return mongomock's raw result."""
    if isinstance(update, dict) and not any(key.startswith("$") for key in update):
        if multi:
            raise CommandError(9, "multi update is not supported for replacement-style update")
        return dict(collection.replace_one(query, update, upsert=upsert).raw_result)
    method = collection.update_many if multi else collection.update_one
    return dict(method(query, update, upsert=upsert, array_filters=array_filters).raw_result)


def _update(call: Call) -> Document:
    collection = call.collection()
    ordered = bool(call.body.get("ordered", True))
    matched, modified, upserted, errors = 0, 0, [], []
    for index, spec in enumerate(_list_arg(call.body, "updates")):
        try:
            _refuse_collation(spec)
            raw = _apply_update(
                collection,
                _mapping_arg(spec, "q"),
                spec.get("u"),
                upsert=bool(spec.get("upsert")),
                multi=bool(spec.get("multi")),
                array_filters=spec.get("arrayFilters"),
            )
        except Exception as exc:
            errors.append(_write_error(index, exc))
            if ordered:
                break
            continue
        matched += raw.get("n", 0)
        modified += raw.get("nModified") or 0
        if raw.get("upserted") is not None:
            upserted.append({"index": index, "_id": raw["upserted"]})
    reply: Document = {"n": matched, "nModified": modified}
    if upserted:
        reply["upserted"] = upserted
    if errors:
        reply["writeErrors"] = errors
    return reply


def _delete(call: Call) -> Document:
    collection = call.collection()
    ordered = bool(call.body.get("ordered", True))
    removed, errors = 0, []
    for index, spec in enumerate(_list_arg(call.body, "deletes")):
        try:
            _refuse_collation(spec)
            query = _mapping_arg(spec, "q")
            if spec.get("limit", 0) == 1:
                removed += collection.delete_one(query).deleted_count
            else:
                removed += collection.delete_many(query).deleted_count
        except Exception as exc:
            errors.append(_write_error(index, exc))
            if ordered:
                break
    return {"n": removed, **({"writeErrors": errors} if errors else {})}


def _find_and_modify(call: Call) -> Document:
    body = call.body
    collection = call.collection()
    query, fields = _mapping_arg(body, "query"), _mapping_arg(body, "fields") or None
    update, remove = body.get("update"), bool(body.get("remove"))
    upsert, return_new = bool(body.get("upsert")), bool(body.get("new"))
    array_filters = body.get("arrayFilters")
    if remove == (update is not None):
        raise CommandError(9, "findAndModify needs exactly one of 'update' and 'remove: true'")
    target = collection.find_one(query, {"_id": 1}, sort=_sort_arg(body))
    if target is None:
        if remove:
            return {"lastErrorObject": {"n": 0}, "value": None}
        if not upsert:
            return {"lastErrorObject": {"n": 0, "updatedExisting": False}, "value": None}
        raw = _apply_update(
            collection, query, update, upsert=True, multi=False, array_filters=array_filters
        )
        upserted_id = raw.get("upserted")
        value = collection.find_one({"_id": upserted_id}, fields) if return_new else None
        last_error = {"n": 1, "updatedExisting": False, "upserted": upserted_id}
        return {"lastErrorObject": last_error, "value": value}
    # Keep the caller's other conditions so positional operators ($) still see their array match.
    selector = {**query, "_id": target["_id"]}
    before = collection.find_one(selector, fields)
    if remove:
        collection.delete_one(selector)
        return {"lastErrorObject": {"n": 1}, "value": before}
    _apply_update(
        collection, selector, update, upsert=False, multi=False, array_filters=array_filters
    )
    value = collection.find_one({"_id": target["_id"]}, fields) if return_new else before
    return {"lastErrorObject": {"n": 1, "updatedExisting": True}, "value": value}


# -- reads and cursors ---------------------------------------------------------------------


def _find(call: Call) -> Document:
    body = call.body
    limit = int(body.get("limit") or 0)
    documents = list(
        call.collection().find(
            _mapping_arg(body, "filter"),
            projection=_mapping_arg(body, "projection") or None,
            skip=int(body.get("skip") or 0),
            limit=abs(limit),
            sort=_sort_arg(body),
        )
    )
    # A negative limit is the legacy spelling of singleBatch.
    single_batch = bool(body.get("singleBatch")) or limit < 0
    return call.standin.open_cursor(call.namespace, documents, _batch_size(body), single_batch)


def _get_more(call: Call) -> Document:
    cursor_id = int(call.body["getMore"])
    reply = call.standin.get_more(cursor_id, _batch_size(call.body) or None)
    if reply is None:
        raise CommandError(43, f"cursor id {cursor_id} not found")
    return reply


def _kill_cursors(call: Call) -> Document:
    killed: list[Int64] = []
    not_found: list[Int64] = []
    for cursor_id in _list_arg(call.body, "cursors"):
        found = call.standin.cursors.pop(int(cursor_id), None) is not None
        (killed if found else not_found).append(Int64(cursor_id))
    return {
        "cursorsKilled": killed,
        "cursorsNotFound": not_found,
        "cursorsAlive": [],
        "cursorsUnknown": [],
    }


def _aggregate(call: Call) -> Document:
    if call.body.get("explain"):
        raise CommandError(238, "explain is not supported by the mongo stand-in")
    documents = list(call.collection().aggregate(_list_arg(call.body, "pipeline")))
    return call.cursor_reply(call.namespace, documents)


def _count(call: Call) -> Document:
    options: Document = {"skip": int(call.body.get("skip") or 0)}
    if limit := abs(int(call.body.get("limit") or 0)):
        options["limit"] = limit
    query = _mapping_arg(call.body, "query")
    return {"n": call.collection().count_documents(query, **options)}


def _distinct(call: Call) -> Document:
    key = call.body.get("key")
    if not isinstance(key, str):
        raise CommandError(14, "'key' must be a string")
    return {"values": call.collection().distinct(key, _mapping_arg(call.body, "query"))}


# -- collections, indexes, databases -------------------------------------------------------


def _exists(call: Call) -> bool:
    return call.target in call.database().list_collection_names()


def _create(call: Call) -> Document:
    if _exists(call):
        raise CommandError(48, f"Collection {call.namespace} already exists.")
    # Options (capped, validator, timeseries) are accepted and ignored: mongomock has none.
    call.database().create_collection(call.target)
    return {}


def _drop(call: Call) -> Document:
    if not _exists(call):
        return {}  # MongoDB 7 answers ok: 1 when the collection does not exist.
    indexes_was = len(call.collection().index_information())
    call.database().drop_collection(call.target)
    return {"ns": call.namespace, "nIndexesWas": indexes_was}


def _drop_database(call: Call) -> Document:
    call.standin.client.drop_database(call.db_name)
    return {"dropped": call.db_name}


def _rename_collection(call: Call) -> Document:
    source_db, _, source = str(call.body["renameCollection"]).partition(".")
    target_db, _, target = str(call.body.get("to", "")).partition(".")
    if source_db != target_db:
        raise CommandError(238, "renaming across databases is not supported by the stand-in")
    database = call.standin.client[source_db]
    database.rename_collection(source, target, dropTarget=bool(call.body.get("dropTarget")))
    return {}


def _create_indexes(call: Call) -> Document:
    collection = call.collection()
    existed = _exists(call)
    before = len(collection.index_information())
    for spec in _list_arg(call.body, "indexes"):
        key, name = spec.get("key"), spec.get("name")
        if not isinstance(key, dict) or not key or not isinstance(name, str):
            raise CommandError(9, "each index needs a non-empty 'key' document and a 'name'")
        options = {option: spec[option] for option in _INDEX_OPTIONS if option in spec}
        collection.create_index(list(key.items()), name=name, **options)
    return {
        "createdCollectionAutomatically": not existed,
        "numIndexesBefore": max(before, 1),
        "numIndexesAfter": len(collection.index_information()),
    }


def _drop_indexes(call: Call) -> Document:
    collection = call.collection()
    indexes_was = len(collection.index_information())
    index = call.body.get("index")
    if index == "*":
        collection.drop_indexes()
        return {"nIndexesWas": indexes_was}
    for name in index if isinstance(index, list) else [index]:
        try:
            collection.drop_index(list(name.items()) if isinstance(name, dict) else name)
        except mongomock.OperationFailure as exc:
            raise CommandError(27, str(exc)) from exc
    return {"nIndexesWas": indexes_was}


def _list_indexes(call: Call) -> Document:
    if not _exists(call):
        raise CommandError(26, f"ns does not exist: {call.namespace}")
    documents = [
        {"v": 2, "key": info["key"], "name": info["name"]}
        | {option: value for option, value in info.items() if option not in ("v", "key", "name")}
        for info in call.collection().list_indexes()
    ]
    return call.cursor_reply(call.namespace, documents)


def _list_collections(call: Call) -> Document:
    documents = [
        {"name": name, "type": "collection", "options": {}, "info": {"readOnly": False}}
        for name in sorted(call.database().list_collection_names())
    ]
    query = _mapping_arg(call.body, "filter")
    documents = [document for document in documents if _filter_applies(query, document)]
    if call.body.get("nameOnly"):
        documents = [{"name": document["name"], "type": "collection"} for document in documents]
    return call.cursor_reply(f"{call.db_name}.$cmd.listCollections", documents)


def _list_databases(call: Call) -> Document:
    names = sorted(call.standin.client.list_database_names())
    databases = [{"name": name, "sizeOnDisk": 0, "empty": False} for name in names]
    query = _mapping_arg(call.body, "filter")
    databases = [database for database in databases if _filter_applies(query, database)]
    if call.body.get("nameOnly"):
        return {"databases": [{"name": database["name"]} for database in databases]}
    return {"databases": databases, "totalSize": 0}


def _db_stats(call: Call) -> Document:
    database = call.database()
    collections = [database[name] for name in database.list_collection_names()]
    return {
        "db": call.db_name,
        "collections": len(collections),
        "views": 0,
        "objects": sum(collection.estimated_document_count() for collection in collections),
        "indexes": sum(len(collection.index_information()) for collection in collections),
        "dataSize": 0,
        "storageSize": 0,
        "indexSize": 0,
        "scaleFactor": 1,
    }


def _coll_stats(call: Call) -> Document:
    collection = call.collection()
    indexes = collection.index_information() if _exists(call) else {}
    return {
        "ns": call.namespace,
        "count": collection.estimated_document_count(),
        "size": 0,
        "storageSize": 0,
        "nindexes": len(indexes),
        "indexSizes": dict.fromkeys(indexes, 0),
        "totalIndexSize": 0,
        "capped": False,
    }


def _no_op(call: Call) -> Document:
    return {}


_HANDLERS: dict[str, Handler] = {
    name.lower(): handler
    for name, handler in {
        "hello": _hello,
        "isMaster": _hello,
        "ping": _ping,
        "buildInfo": _build_info,
        "insert": _insert,
        "update": _update,
        "delete": _delete,
        "findAndModify": _find_and_modify,
        "find": _find,
        "getMore": _get_more,
        "killCursors": _kill_cursors,
        "aggregate": _aggregate,
        "count": _count,
        "distinct": _distinct,
        "create": _create,
        "drop": _drop,
        "dropDatabase": _drop_database,
        "renameCollection": _rename_collection,
        "createIndexes": _create_indexes,
        "dropIndexes": _drop_indexes,
        "listIndexes": _list_indexes,
        "listCollections": _list_collections,
        "listDatabases": _list_databases,
        "dbStats": _db_stats,
        "collStats": _coll_stats,
        "endSessions": _no_op,
        "killSessions": _no_op,
        "refreshSessions": _no_op,
    }.items()
}
