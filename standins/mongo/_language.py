"""MongoDB's query language, borrowed from mongomock: matching, updates, projection, pipelines.

The stand-in keeps documents and indexes itself and asks mongomock only what a document or a
list of documents makes of an expression, so mongomock never holds data here. Every use of its
untyped, private API is in this module.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Callable, Iterable
from typing import Any

import bson
import mongomock
import mongomock.aggregate
import mongomock.collection
import mongomock.filtering

from standins.mongo.errors import CommandError
from standins.mongo.order import Key, order_key
from standins.mongo.wire import Document

# A collection object with no data: its methods apply update and projection documents.
_scratch: Any = mongomock.MongoClient().get_database("standin").get_collection("scratch")
# mongomock is only partly typed: its modules are used as untyped here.
_filtering: Any = mongomock.filtering
_aggregate: Any = mongomock.aggregate
_collection: Any = mongomock.collection
_filter_applies: Callable[[Document, Document], bool] = _filtering.filter_applies


def matches(query: Document, doc: Document) -> bool:
    """Whether doc satisfies the filter (raises on a malformed filter)."""
    return matcher(query)(doc)


def matcher(query: Document) -> Callable[[Document], bool]:
    """A test of documents against the filter, prepared once for a whole query."""
    equalities = _equalities(query)
    if equalities is None:
        return functools.partial(_general_match, query)
    return functools.partial(_simple_match, query, equalities)


def _general_match(query: Document, doc: Document) -> bool:
    return _filter_applies(query, doc)


def _equalities(query: Document) -> list[tuple[str, frozenset[Key]]] | None:
    """(field, allowed keys) for filters of top-level scalar equalities and $in, else None.

    Most of the service's filters are `{_id: .., status: .., attempt: ..}`; deciding them with
    BSON order keys (so 1 == 1.0 and True != 1, as in MongoDB) skips mongomock's general
    matcher. Embedded documents, nulls, patterns and other operators go to mongomock.
    """
    found = []
    for field, condition in query.items():
        if field.startswith("$") or "." in field:
            return None
        if isinstance(condition, dict):
            wanted = condition.get("$in")
            if len(condition) != 1 or not isinstance(wanted, list):
                return None
        else:
            wanted = [condition]
        if not all(map(_is_plain, wanted)):
            return None
        found.append((field, frozenset(order_key(value) for value in wanted)))
    return found


def _simple_match(
    query: Document, equalities: list[tuple[str, frozenset[Key]]], doc: Document
) -> bool:
    for field, keys in equalities:
        value = doc.get(field, _ABSENT)
        if value is _ABSENT:
            return False
        if isinstance(value, list):
            # A scalar condition matches an array holding it (never the array as a whole).
            if not any(_is_plain(item) and order_key(item) in keys for item in value):
                if any(not _is_plain(item) for item in value):
                    return _filter_applies(query, doc)
                return False
            continue
        if not _is_plain(value):
            return _filter_applies(query, doc)
        if order_key(value) not in keys:
            return False
    return True


_ABSENT = object()
_PLAIN = (str, int, float, dt.datetime, bson.ObjectId, bson.Binary, bytes, bson.Int64)


def _is_plain(value: Any) -> bool:
    """A scalar whose MongoDB equality is equality of order keys (no NaN, null or arrays)."""
    if isinstance(value, float) and value != value:
        return False
    return isinstance(value, _PLAIN)


def validate_filter(query: Document) -> None:
    """Raise as the server would on a malformed filter, even when no document is read."""
    _filter_applies(query, {})


def validate_insert(doc: Document) -> None:
    """Field names the server refuses on insert (top-level `$`, NUL characters)."""
    if not all(isinstance(key, str) for key in doc):
        raise ValueError("Document keys must be strings")
    _collection._validate_data_fields(doc)


def apply_update(doc: Document, query: Document, update: Any, *, inserting: bool) -> None:
    """Apply an operator or pipeline update (or a replacement) to doc, in place."""
    if isinstance(update, list):
        _scratch._apply_update_pipeline(doc, update, None)
        return
    _refuse_conflicts(update)
    if not _simple_update(doc, update, inserting):
        _scratch._apply_update_document(doc, query, update, inserting)


def _refuse_conflicts(update: Any) -> None:
    """MongoDB's code 40: two operators may not touch the same path, or one inside another."""
    if not isinstance(update, dict):
        return
    paths = sorted(
        path
        for operator, fields in update.items()
        if str(operator).startswith("$") and isinstance(fields, dict)
        for path in fields
    )
    for first, second in itertools.combinations(paths, 2):
        if second == first or second.startswith(first + "."):
            raise CommandError(
                40, f"Updating the path '{second}' would create a conflict at '{first}'"
            )


_SIMPLE_OPERATORS = frozenset({"$set", "$unset", "$inc", "$push", "$setOnInsert", "$max", "$min"})


def _simple_update(doc: Document, update: Any, inserting: bool) -> bool:
    """Apply $set, $unset, $inc, $push (plain or $each), $setOnInsert, $max and $min on paths
    through embedded documents; False, doc untouched, for anything else (mongomock applies it
    then).

    These are nearly all the service's updates; mongomock checks each $set value by encoding it
    to BSON, which made them the stand-in's most expensive work.
    """
    if not isinstance(update, dict) or not update or not update.keys() <= _SIMPLE_OPERATORS:
        return False
    steps: list[tuple[str, list[str], Any]] = []
    for operator, fields in update.items():
        if not isinstance(fields, dict):
            return False
        if operator == "$setOnInsert" and not inserting:
            continue
        for path, value in fields.items():
            parts = path.split(".")
            current = _walk(doc, parts)
            if current is _BLOCKED:
                return False
            if operator == "$inc" and not (_is_number(value) and _is_number(current, True)):
                return False
            if operator == "$push" and not _pushable(current, value):
                return False
            if operator in ("$max", "$min") and not _comparable(current, value):
                return False
            steps.append((operator, parts, value))
    for operator, parts, value in steps:
        if operator == "$unset":
            parent = _walk(doc, parts[:-1])
            if isinstance(parent, dict):
                parent.pop(parts[-1], None)
            continue
        parent = doc
        for part in parts[:-1]:
            parent = parent.setdefault(part, {})
        name = parts[-1]
        if operator in ("$set", "$setOnInsert"):
            parent[name] = value
        elif operator == "$inc":
            parent[name] = parent.get(name, 0) + value
        elif operator in ("$max", "$min"):
            current = parent.get(name, _ABSENT)
            if _replaces(current, value, larger=operator == "$max"):
                parent[name] = value
        else:
            items = value["$each"] if isinstance(value, dict) and "$each" in value else [value]
            parent.setdefault(name, []).extend(items)
    return True


_BLOCKED = object()


def _walk(doc: Any, parts: list[str]) -> Any:
    """The value at a path (_ABSENT when missing), or _BLOCKED when the path crosses an array
    or a scalar, or has a part MongoDB refuses or treats specially (empty, $, digits)."""
    current = doc
    for part in parts:
        if not part or part.startswith("$") or part.isdigit() or "\0" in part:
            return _BLOCKED
        if current is _ABSENT:
            continue
        if not isinstance(current, dict):
            return _BLOCKED
        current = current.get(part, _ABSENT)
    return current


def _is_number(value: Any, absent_ok: bool = False) -> bool:
    if absent_ok and value is _ABSENT:
        return True
    return isinstance(value, int | float | bson.Int64) and not isinstance(value, bool)


def _comparable(current: Any, value: Any) -> bool:
    """Whether $max/$min can compare these here: null or absent against anything (null sorts
    before every other BSON type), or two numbers, two strings, two datetimes."""

    def handled(v: Any) -> bool:  # NaN (below every number) and MinKey go to mongomock
        return v is None or isinstance(v, str | dt.datetime) or (_is_number(v) and v == v)

    if current is _ABSENT:
        return handled(value)
    if not (handled(current) and handled(value)):
        return False
    if current is None or value is None:
        return True
    if _is_number(current) and _is_number(value):
        return True
    return any(isinstance(current, kind) and isinstance(value, kind) for kind in (str, dt.datetime))


def _replaces(current: Any, value: Any, *, larger: bool) -> bool:
    """$max (larger) or $min: whether value takes the field's place, in BSON order."""
    if current is _ABSENT:
        return True
    if current is None or value is None:
        # Null sorts first: $max replaces a null by a value, $min a value by a null.
        return (current is None) == larger and current is not value
    return bool(value > current) if larger else bool(value < current)


def _pushable(current: Any, value: Any) -> bool:
    if current is not _ABSENT and not isinstance(current, list):
        return False
    if isinstance(value, dict) and any(str(k).startswith("$") for k in value):
        return value.keys() == {"$each"} and isinstance(value["$each"], list)
    return True


def upsert_seed(query: Document, update: Any) -> Document:
    """The document an upsert starts from: the filter's equalities, with an _id."""
    if query.get("_id") is not None:
        id_value = query["_id"]
    elif isinstance(update, dict) and update.get("_id") is not None:
        id_value = update["_id"]
    else:
        id_value = mongomock.ObjectId()
    seed, _ = _scratch._discard_operators(_scratch._expand_dots(dict(query, _id=id_value)))
    return dict(seed)


def project(doc: Document, projection: Document) -> Document:
    """doc as the projection shows it (inclusions, exclusions, $slice, $elemMatch)."""
    if not projection:
        return doc
    simple = _top_level_fields(projection)
    if simple is None:
        return dict(_scratch._copy_only_fields(doc, dict(projection), dict))
    fields, include, with_id = simple
    if include:
        return {k: v for k, v in doc.items() if k in fields or (k == "_id" and with_id)}
    return {k: v for k, v in doc.items() if k not in fields and (k != "_id" or with_id)}


def _top_level_fields(projection: Document) -> tuple[frozenset[str], bool, bool] | None:
    """(fields, inclusion?, _id kept?) for a projection of plain top-level 0/1 flags."""
    flags = {}
    for field, flag in projection.items():
        if "." in field or field.startswith("$") or not isinstance(flag, bool | int | float):
            return None
        flags[field] = bool(flag)
    with_id = flags.pop("_id", True)
    modes = set(flags.values())
    if len(modes) > 1:
        return None  # mixed: mongomock raises the error the server would
    # {_id: 1} alone keeps only _id; {_id: 0} alone drops only _id.
    include = modes.pop() if modes else with_id
    return frozenset(flags), include, with_id


def key_candidates(key: str, doc: Document) -> Iterable[Any]:
    """The values a dotted key reaches in doc (arrays not expanded), NOTHING when absent."""
    found: Iterable[Any] = _filtering.iter_key_candidates(key, doc)
    return found


def is_nothing(value: Any) -> bool:
    return value is _filtering.NOTHING


def run_pipeline(docs: list[Document], database: Any, pipeline: list[Any]) -> list[Document]:
    """Run aggregation stages over docs (private copies); `database` serves $lookup."""
    return list(_aggregate.process_pipeline(docs, database, pipeline, None))
