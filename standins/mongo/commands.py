"""Command dispatch and the data commands: writes, findAndModify, reads and cursors."""

from __future__ import annotations

import logging

from bson.int64 import Int64

from standins.mongo import _language as language
from standins.mongo import wire
from standins.mongo._call import (
    Call,
    Handler,
    batch_size,
    list_arg,
    mapping_arg,
    refuse_collation,
    sort_arg,
)
from standins.mongo._catalog import CATALOG_HANDLERS, hello
from standins.mongo.cursors import Cursors
from standins.mongo.errors import CommandError, error_reply
from standins.mongo.storage import Storage, run_pipeline
from standins.mongo.wire import Document

__all__ = ["Call", "CommandError", "Handler", "error_reply", "run_command"]

logger = logging.getLogger(__name__)


def run_command(
    storage: Storage, cursors: Cursors, request: wire.Request, connection_id: int
) -> Document:
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
        reply = handler(Call(storage, cursors, request.db_name, body, connection_id))
    except CommandError as exc:
        return error_reply(exc.code, str(exc)) | exc.details
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
    if isinstance(exc, TypeError | ValueError | KeyError) or type(exc).__module__.startswith(
        "mongomock"
    ):
        return 2
    return 1


# -- writes --------------------------------------------------------------------------------


def _write_error(index: int, exc: Exception) -> Document:
    error = {"index": index, "code": _error_code(exc), "errmsg": str(exc) or type(exc).__name__}
    if isinstance(exc, CommandError):
        error |= exc.details
    return error


def _insert(call: Call) -> Document:
    collection = call.writing()
    ordered = bool(call.body.get("ordered", True))
    inserted, errors = 0, []
    for index, document in enumerate(list_arg(call.body, "documents")):
        try:
            collection.insert(document)
        except Exception as exc:
            errors.append(_write_error(index, exc))
            if ordered:
                break
        else:
            inserted += 1
    return {"n": inserted, **({"writeErrors": errors} if errors else {})}


def _refuse_array_filters(spec: Document) -> None:
    if spec.get("arrayFilters"):
        raise CommandError(238, "arrayFilters are not supported by the mongo stand-in")


def _update(call: Call) -> Document:
    collection = call.writing()
    ordered = bool(call.body.get("ordered", True))
    matched, modified, upserted, errors = 0, 0, [], []
    for index, spec in enumerate(list_arg(call.body, "updates")):
        try:
            refuse_collation(spec)
            _refuse_array_filters(spec)
            outcome = collection.update(
                mapping_arg(spec, "q"),
                spec.get("u"),
                upsert=bool(spec.get("upsert")),
                multi=bool(spec.get("multi")),
            )
        except Exception as exc:
            errors.append(_write_error(index, exc))
            if ordered:
                break
            continue
        matched += outcome.matched
        modified += outcome.modified
        if outcome.upserted_id is not None:
            upserted.append({"index": index, "_id": outcome.upserted_id})
            matched += 1
    reply: Document = {"n": matched, "nModified": modified}
    if upserted:
        reply["upserted"] = upserted
    if errors:
        reply["writeErrors"] = errors
    return reply


def _delete(call: Call) -> Document:
    collection = call.writing()
    ordered = bool(call.body.get("ordered", True))
    removed, errors = 0, []
    for index, spec in enumerate(list_arg(call.body, "deletes")):
        try:
            refuse_collation(spec)
            query = mapping_arg(spec, "q")
            removed += len(collection.delete(query, just_one=spec.get("limit", 0) == 1))
        except Exception as exc:
            errors.append(_write_error(index, exc))
            if ordered:
                break
    return {"n": removed, **({"writeErrors": errors} if errors else {})}


def _find_and_modify(call: Call) -> Document:
    body = call.body
    collection = call.writing()
    query, fields = mapping_arg(body, "query"), mapping_arg(body, "fields")
    update, remove = body.get("update"), bool(body.get("remove"))
    if remove == (update is not None):
        raise CommandError(9, "findAndModify needs exactly one of 'update' and 'remove: true'")
    _refuse_array_filters(body)
    sort = sort_arg(body)
    if remove:
        removed = collection.delete(query, just_one=True, sort=sort)
        value = language.project(removed[0], fields) if removed else None
        return {"lastErrorObject": {"n": len(removed)}, "value": value}
    outcome = collection.update(query, update, upsert=bool(body.get("upsert")), sort=sort)
    shown = outcome.after if body.get("new") else outcome.before
    value = language.project(shown, fields) if shown is not None else None
    if outcome.upserted_id is not None:
        last_error = {"n": 1, "updatedExisting": False, "upserted": outcome.upserted_id}
    else:
        last_error = {"n": outcome.matched, "updatedExisting": bool(outcome.matched)}
    return {"lastErrorObject": last_error, "value": value}


# -- reads and cursors ---------------------------------------------------------------------


def _find(call: Call) -> Document:
    body = call.body
    limit = int(body.get("limit") or 0)
    projection = mapping_arg(body, "projection")
    documents = call.reading().select(
        mapping_arg(body, "filter"),
        sort_arg(body),
        skip=int(body.get("skip") or 0),
        limit=abs(limit),
    )
    if projection:
        documents = [language.project(doc, projection) for doc in documents]
    # A negative limit is the legacy spelling of singleBatch.
    single_batch = bool(body.get("singleBatch")) or limit < 0
    return call.cursors.open(call.namespace, documents, batch_size(body), single_batch)


def _get_more(call: Call) -> Document:
    cursor_id = int(call.body["getMore"])
    reply = call.cursors.get_more(cursor_id, batch_size(call.body) or None)
    if reply is None:
        raise CommandError(43, f"cursor id {cursor_id} not found")
    return reply


def _kill_cursors(call: Call) -> Document:
    killed: list[Int64] = []
    not_found: list[Int64] = []
    for cursor_id in list_arg(call.body, "cursors"):
        found = call.cursors.kill(int(cursor_id))
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
    pipeline = list_arg(call.body, "pipeline")
    if pipeline and isinstance(pipeline[0], dict) and "$collStats" in pipeline[0]:
        return call.cursor_reply(call.namespace, [call.coll_stats(pipeline[0]["$collStats"])])
    documents = run_pipeline(call.reading(), call.database(), pipeline)
    return call.cursor_reply(call.namespace, documents)


def _count(call: Call) -> Document:
    query = mapping_arg(call.body, "query")
    skip, limit = int(call.body.get("skip") or 0), abs(int(call.body.get("limit") or 0))
    return {"n": call.reading().count(query, skip, limit)}


def _distinct(call: Call) -> Document:
    key = call.body.get("key")
    if not isinstance(key, str):
        raise CommandError(14, "'key' must be a string")
    return {"values": call.reading().distinct(key, mapping_arg(call.body, "query"))}


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
