"""Command dispatch and the data commands: writes, findAndModify, reads and cursors."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import mongomock
from bson.int64 import Int64

from app.embedded.mongo import wire
from app.embedded.mongo._call import (
    Call,
    CommandError,
    Handler,
    batch_size,
    error_reply,
    list_arg,
    mapping_arg,
    refuse_collation,
    sort_arg,
)
from app.embedded.mongo._catalog import CATALOG_HANDLERS, hello
from app.embedded.mongo.wire import Document

if TYPE_CHECKING:
    from app.embedded.mongo.server import MongoStandIn

__all__ = ["Call", "CommandError", "Handler", "error_reply", "run_command"]

logger = logging.getLogger(__name__)


def run_command(standin: MongoStandIn, request: wire.Request, connection_id: int) -> Document:
    """Run the command in request.body and return its reply document (never raises)."""
    body = request.body
    name = next(iter(body), "")
    handler = _HANDLERS.get(name.lower())
    if handler is None:
        return error_reply(59, f"no such command: '{name}'")
    if request.reply_op_code == wire.OP_REPLY and handler is not hello:
        return error_reply(352, f"Unsupported OP_QUERY command: {name}; use OP_MSG")
    try:
        refuse_collation(body)
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


# -- writes --------------------------------------------------------------------------------


def _write_error(index: int, exc: Exception) -> Document:
    return {"index": index, "code": _error_code(exc), "errmsg": str(exc) or type(exc).__name__}


def _insert(call: Call) -> Document:
    collection = call.collection()
    ordered = bool(call.body.get("ordered", True))
    inserted, errors = 0, []
    for index, document in enumerate(list_arg(call.body, "documents")):
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
    for index, spec in enumerate(list_arg(call.body, "updates")):
        try:
            refuse_collation(spec)
            raw = _apply_update(
                collection,
                mapping_arg(spec, "q"),
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
    for index, spec in enumerate(list_arg(call.body, "deletes")):
        try:
            refuse_collation(spec)
            query = mapping_arg(spec, "q")
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
    query, fields = mapping_arg(body, "query"), mapping_arg(body, "fields") or None
    update, remove = body.get("update"), bool(body.get("remove"))
    upsert, return_new = bool(body.get("upsert")), bool(body.get("new"))
    array_filters = body.get("arrayFilters")
    if remove == (update is not None):
        raise CommandError(9, "findAndModify needs exactly one of 'update' and 'remove: true'")
    target = collection.find_one(query, {"_id": 1}, sort=sort_arg(body))
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
            mapping_arg(body, "filter"),
            projection=mapping_arg(body, "projection") or None,
            skip=int(body.get("skip") or 0),
            limit=abs(limit),
            sort=sort_arg(body),
        )
    )
    # A negative limit is the legacy spelling of singleBatch.
    single_batch = bool(body.get("singleBatch")) or limit < 0
    return call.standin.open_cursor(call.namespace, documents, batch_size(body), single_batch)


def _get_more(call: Call) -> Document:
    cursor_id = int(call.body["getMore"])
    reply = call.standin.get_more(cursor_id, batch_size(call.body) or None)
    if reply is None:
        raise CommandError(43, f"cursor id {cursor_id} not found")
    return reply


def _kill_cursors(call: Call) -> Document:
    killed: list[Int64] = []
    not_found: list[Int64] = []
    for cursor_id in list_arg(call.body, "cursors"):
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
    documents = list(call.collection().aggregate(list_arg(call.body, "pipeline")))
    return call.cursor_reply(call.namespace, documents)


def _count(call: Call) -> Document:
    options: Document = {"skip": int(call.body.get("skip") or 0)}
    if limit := abs(int(call.body.get("limit") or 0)):
        options["limit"] = limit
    query = mapping_arg(call.body, "query")
    return {"n": call.collection().count_documents(query, **options)}


def _distinct(call: Call) -> Document:
    key = call.body.get("key")
    if not isinstance(key, str):
        raise CommandError(14, "'key' must be a string")
    return {"values": call.collection().distinct(key, mapping_arg(call.body, "query"))}


_HANDLERS: dict[str, Handler] = {
    name.lower(): handler
    for name, handler in {
        **CATALOG_HANDLERS,
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
    }.items()
}
