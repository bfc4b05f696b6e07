"""Choose how to answer a filter: which index, which entries, in which order.

Like MongoDB's planner, but by rule instead of by trial: an index is usable when the filter
binds a leading prefix of its fields with equalities (`{f: v}`, `$eq`, `$in`), optionally with a
range (`$gt`, `$gte`, `$lt`, `$lte`) on the next field; the index binding the most fields wins,
then the one whose order serves the sort. Conditions inside a top-level `$and` count; `$or`,
`$not` and the other operators are left to the matcher, which every candidate still passes
through, so a plan only decides how many documents are read, never what matches.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bson import Regex

from standins.mongo.indexes import Index
from standins.mongo.order import (
    HIGHEST,
    RANGE_BRACKETS,
    Key,
    bracket_end,
    bracket_start,
    order_key,
)
from standins.mongo.wire import Document

Sort = Sequence[tuple[str, int]]
# An $in on several fields multiplies into this many lookups at most; beyond, fewer fields bind.
MAX_POINTS = 1000


@dataclass(frozen=True)
class Eq:
    """The field equals one of these values (keys)."""

    keys: tuple[Key, ...]


@dataclass(frozen=True)
class Range:
    """The field lies between two keys of one type bracket."""

    low: Key
    low_inclusive: bool
    high: Key
    high_inclusive: bool


Condition = Eq | Range
_NO_ID = object()


@dataclass(frozen=True)
class Plan:
    """An index walk (points x optional range, in order), or a collection scan (index None)."""

    index: Index | None
    points: tuple[tuple[Key, ...], ...] = ()
    range: Range | None = None
    reverse: bool = False
    # How many leading keys of the sort the walk order already serves.
    sort_served: int = 0

    def bounds(self) -> list[tuple[tuple[Any, ...], tuple[Any, ...]]]:
        """Inclusive (low, high) entry bounds, one per point, in walk order."""
        spans = []
        for point in self.points:
            if self.range is None:
                spans.append((point, (*point, HIGHEST)))
                continue
            r = self.range
            low = (*point, r.low) if r.low_inclusive else (*point, r.low, HIGHEST)
            high = (*point, r.high, HIGHEST) if r.high_inclusive else (*point, r.high)
            spans.append((low, high))
        return spans[::-1] if self.reverse else spans


def _is_pattern(value: Any) -> bool:
    return isinstance(value, re.Pattern | Regex)


def _parse(condition: Any) -> Condition | None:
    """What a field's condition lets an index bind, if anything."""
    if not isinstance(condition, dict) or not condition:
        return None if _is_pattern(condition) else Eq((order_key(condition),))
    if not all(isinstance(op, str) and op.startswith("$") for op in condition):
        return Eq((order_key(condition),))  # equality with an embedded document
    low: tuple[Key, bool] | None = None
    high: tuple[Key, bool] | None = None
    for op, value in condition.items():
        if op == "$eq" and not _is_pattern(value):
            return Eq((order_key(value),))
        if op == "$in" and isinstance(value, list) and not any(map(_is_pattern, value)):
            return Eq(tuple(dict.fromkeys(order_key(v) for v in value)))
        key = order_key(value)
        if key[0] not in RANGE_BRACKETS:
            continue
        if op in ("$gt", "$gte") and (low is None or key[0] == low[0][0]):
            low = (key, op == "$gte")
        elif op in ("$lt", "$lte") and (high is None or key[0] == high[0][0]):
            high = (key, op == "$lte")
    if low is not None and high is not None and low[0][0] != high[0][0]:
        high = None  # brackets differ: no value matches, the matcher will tell
    if low is None and high is None:
        return None
    if low is None:
        assert high is not None
        low = (bracket_start(high[0]), True)
    if high is None:
        high = (bracket_end(low[0]), False)
    return Range(low[0], low[1], high[0], high[1])


def _narrow(first: Condition, second: Condition) -> Condition:
    """Both conditions hold: keep the tighter one (any one alone is a safe superset)."""
    if isinstance(first, Eq) and isinstance(second, Eq):
        return Eq(tuple(key for key in first.keys if key in set(second.keys)))
    if isinstance(second, Eq):
        return second
    return first


def conditions(query: Document) -> dict[str, Condition]:
    """The index-usable condition of each field in the filter (top level and $and)."""
    found: dict[str, Condition] = {}

    def visit(clause: Document) -> None:
        for field, condition in clause.items():
            if field == "$and" and isinstance(condition, list):
                for part in condition:
                    if isinstance(part, dict):
                        visit(part)
                continue
            if not isinstance(field, str) or field.startswith("$"):
                continue
            parsed = _parse(condition)
            if parsed is not None:
                previous = found.get(field)
                found[field] = parsed if previous is None else _narrow(previous, parsed)

    visit(query)
    return found


def _sort_order(
    index: Index, bound: int, single_point: bool, sort: Sort | None
) -> tuple[int, bool]:
    """How many sort keys walking the index serves after `bound` equalities, and the way."""
    if not sort or not single_point:
        return 0, False
    position, served, direction = bound, 0, 0
    for field, way in sort:
        if field in index.fields[:bound]:
            served += 1  # a constant: every candidate has the same value
            continue
        same_way = direction in (0, way)
        if position < len(index.fields) and index.fields[position] == field and same_way:
            position, served, direction = position + 1, served + 1, way
            continue
        if field == "_id" and position == len(index.fields) and same_way:
            # Entries end with the _id key: equal keys are already in _id order.
            served, direction = served + 1, way
        break
    return served, direction < 0


def plan(indexes: Sequence[Index], query: Document, sort: Sort | None, limited: bool) -> Plan:
    """The plan for a filter (and an optional sort; `limited` when a limit applies)."""
    exact_id = query.get("_id", _NO_ID)
    if (
        exact_id is not _NO_ID
        and not isinstance(exact_id, dict | list)
        and not _is_pattern(exact_id)
    ):
        # An _id equality reads one document whatever else the filter says.
        by_id = next(index for index in indexes if index.name == "_id_")
        return Plan(by_id, ((order_key(exact_id),),), sort_served=len(sort or ()))
    found = conditions(query)
    best: tuple[tuple[bool, int, int, int], Plan] | None = None
    for index in indexes:
        if not index.plannable:
            continue
        points: list[tuple[Key, ...]] = [()]
        bound = 0
        for field in index.fields:
            condition = found.get(field)
            if not isinstance(condition, Eq) or len(points) * len(condition.keys) > MAX_POINTS:
                break
            points = [(*point, key) for point in points for key in condition.keys]
            bound += 1
        next_field = index.fields[bound] if bound < len(index.fields) else None
        condition = found.get(next_field) if next_field is not None else None
        span = condition if isinstance(condition, Range) else None
        served, reverse = _sort_order(index, bound, len(points) == 1, sort)
        if bound == 0 and span is None and not (served and limited):
            continue
        exact = index.unique and bound == len(index.fields)  # at most one match per point
        score = (exact, 2 * bound + (span is not None), served, -len(index.fields))
        if best is None or score > best[0]:
            best = (score, Plan(index, tuple(sorted(points)), span, reverse, served))
    return best[1] if best is not None else Plan(index=None)
