"""The handshake and catalog commands: hello, server info, collections, indexes, databases."""

from __future__ import annotations

import datetime as dt
from typing import Any

from standins.mongo import _language as language
from standins.mongo import wire
from standins.mongo._call import Call, Handler, list_arg, mapping_arg
from standins.mongo.errors import CommandError
from standins.mongo.wire import Document

SERVER_VERSION = "7.0.0"
MAX_WIRE_VERSION = 21  # MongoDB 7.0
MAX_WRITE_BATCH_SIZE = 100_000
_INDEX_OPTIONS = ("unique", "sparse", "partialFilterExpression", "expireAfterSeconds")


# -- handshake and server information ------------------------------------------------------


def hello(call: Call) -> Document:
    """The handshake reply: a writable standalone MongoDB 7.0 server."""
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
        "gitVersion": "agent-orchestrator-stand-in",
        "bits": 64,
        "debug": False,
        "maxBsonObjectSize": wire.MAX_BSON_OBJECT_SIZE,
        "storageEngines": ["in-memory stand-in"],
        "modules": [],
    }


# -- collections, indexes, databases -------------------------------------------------------


def _exists(call: Call) -> bool:
    return call.database().get(call.target) is not None


def _create(call: Call) -> Document:
    if _exists(call):
        raise CommandError(48, f"Collection {call.namespace} already exists.")
    # Options (capped, validator, timeseries) are accepted and ignored.
    call.database().writing(call.target)
    return {}


def _drop(call: Call) -> Document:
    dropped = call.database().drop(call.target)
    if dropped is None:
        return {}  # MongoDB 7 answers ok: 1 when the collection does not exist.
    return {"ns": call.namespace, "nIndexesWas": len(dropped.indexes)}


def _drop_database(call: Call) -> Document:
    call.storage.drop_database(call.db_name)
    return {"dropped": call.db_name}


def _rename_collection(call: Call) -> Document:
    source_db, _, source = str(call.body["renameCollection"]).partition(".")
    target_db, _, target = str(call.body.get("to", "")).partition(".")
    if source_db != target_db:
        raise CommandError(238, "renaming across databases is not supported by the stand-in")
    database = call.storage.database(source_db)
    moved = database.get(source)
    if moved is None:
        raise CommandError(26, f"Source collection {source_db}.{source} does not exist")
    if database.get(target) is not None:
        if not call.body.get("dropTarget"):
            raise CommandError(48, f"Collection {target_db}.{target} already exists.")
        database.drop(target)
    database.drop(source)
    moved.namespace = f"{target_db}.{target}"
    database.collections[target] = moved
    return {}


def _create_indexes(call: Call) -> Document:
    existed = _exists(call)
    collection = call.writing()
    before = len(collection.indexes)
    for spec in list_arg(call.body, "indexes"):
        key, name = spec.get("key"), spec.get("name")
        if not isinstance(key, dict) or not key or not isinstance(name, str):
            raise CommandError(9, "each index needs a non-empty 'key' document and a 'name'")
        options = {option: spec[option] for option in _INDEX_OPTIONS if option in spec}
        collection.create_index(name, list(key.items()), options)
    return {
        "createdCollectionAutomatically": not existed,
        "numIndexesBefore": before,
        "numIndexesAfter": len(collection.indexes),
    }


def _drop_indexes(call: Call) -> Document:
    collection = call.database().get(call.target)
    if collection is None:
        raise CommandError(26, f"ns not found {call.namespace}")
    indexes_was = len(collection.indexes)
    index = call.body.get("index")
    if index == "*":
        for name in [name for name in collection.indexes if name != "_id_"]:
            collection.drop_index(name)
        return {"nIndexesWas": indexes_was}
    for named in index if isinstance(index, list) else [index]:
        if isinstance(named, dict):
            named = collection.index_named_by_keys(list(named.items()))
        collection.drop_index(str(named))
    return {"nIndexesWas": indexes_was}


def _list_indexes(call: Call) -> Document:
    collection = call.database().get(call.target)
    if collection is None:
        raise CommandError(26, f"ns does not exist: {call.namespace}")
    documents = [index.describe() for index in collection.indexes.values()]
    return call.cursor_reply(call.namespace, documents)


def _list_collections(call: Call) -> Document:
    documents = [
        {"name": name, "type": "collection", "options": {}, "info": {"readOnly": False}}
        for name in sorted(call.database().collections)
    ]
    query = mapping_arg(call.body, "filter")
    documents = [document for document in documents if language.matches(query, document)]
    if call.body.get("nameOnly"):
        documents = [{"name": document["name"], "type": "collection"} for document in documents]
    return call.cursor_reply(f"{call.db_name}.$cmd.listCollections", documents)


def _list_databases(call: Call) -> Document:
    names = call.storage.database_names()
    databases = [{"name": name, "sizeOnDisk": 0, "empty": False} for name in names]
    query = mapping_arg(call.body, "filter")
    databases = [database for database in databases if language.matches(query, database)]
    if call.body.get("nameOnly"):
        return {"databases": [{"name": database["name"]} for database in databases]}
    return {"databases": databases, "totalSize": 0}


def _db_stats(call: Call) -> Document:
    collections = list(call.database().collections.values())
    return {
        "db": call.db_name,
        "collections": len(collections),
        "views": 0,
        "objects": sum(len(collection.docs) for collection in collections),
        "indexes": sum(len(collection.indexes) for collection in collections),
        "dataSize": 0,
        "storageSize": 0,
        "indexSize": 0,
        "scaleFactor": 1,
    }


def _coll_stats(call: Call) -> Document:
    collection = call.database().get(call.target)
    indexes: dict[str, Any] = dict(collection.indexes) if collection is not None else {}
    return {
        "ns": call.namespace,
        "count": len(collection.docs) if collection is not None else 0,
        "size": 0,
        "storageSize": 0,
        "nindexes": len(indexes),
        "indexSizes": dict.fromkeys(indexes, 0),
        "totalIndexSize": 0,
        "capped": False,
    }


def _no_op(call: Call) -> Document:
    return {}


# Keyed by the commands' real spelling; the dispatcher folds case.
CATALOG_HANDLERS: dict[str, Handler] = {
    "hello": hello,
    "isMaster": hello,
    "ping": _ping,
    "buildInfo": _build_info,
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
}
