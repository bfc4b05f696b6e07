"""BSON comparison order as Python sort keys: how the stand-in's indexes and sorts order values.

`order_key(value)` returns a tuple whose first element is the value's type bracket, in the
order MongoDB compares types (https://www.mongodb.com/docs/manual/reference/bson-type-comparison-order/),
so keys of different types never compare their payloads. Numbers of every BSON type share
one bracket and compare by value (1 == 1.0 == Int64(1) == Decimal128("1")), as they do in
MongoDB. Keys are hashable, so they also serve as the identity of an `_id`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections.abc import Mapping
from typing import Any

from bson import Binary, Code, DBRef, Decimal128, MaxKey, MinKey, ObjectId, Regex, Timestamp

Key = tuple[Any, ...]

MIN_KEY = 1
NULL = 5
NUMBER = 10
STRING = 15
OBJECT = 20
ARRAY = 25
BINARY = 30
OBJECT_ID = 35
BOOLEAN = 40
DATE = 45
TIMESTAMP = 47
REGEX = 50
CODE = 60
OTHER = 100
MAX_KEY = 127

# A bound that sorts above every key `order_key` returns.
HIGHEST: Key = (1000,)

# Brackets whose values a range operator ($gt, $lte, ...) compares: other brackets scan.
RANGE_BRACKETS = frozenset({NUMBER, STRING, OBJECT_ID, BOOLEAN, DATE, TIMESTAMP})


def order_key(value: Any) -> Key:
    """The sort key of one BSON value."""
    if value is None:
        return (NULL,)
    if isinstance(value, bool):
        return (BOOLEAN, value)
    if isinstance(value, int | float):
        return (NUMBER, -math.inf if value != value else value)  # NaN sorts first
    if isinstance(value, str):
        return (STRING, value)
    if isinstance(value, Mapping):
        # Objects compare field by field: the value's type, then the name, then the value.
        fields = ((k, order_key(v)) for k, v in value.items())
        return (OBJECT, tuple((key[0], name, key) for name, key in fields))
    if isinstance(value, list | tuple):
        return (ARRAY, tuple(order_key(item) for item in value))
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return (DATE, value)
    if isinstance(value, ObjectId):
        return (OBJECT_ID, value.binary)
    if isinstance(value, Binary):
        return (BINARY, len(value), value.subtype, bytes(value))
    if isinstance(value, bytes):
        return (BINARY, len(value), 0, value)
    if isinstance(value, uuid.UUID):
        return (BINARY, 16, 4, value.bytes)
    if isinstance(value, Decimal128):
        number = value.to_decimal()
        return (NUMBER, -math.inf if number.is_nan() else number)
    if isinstance(value, Timestamp):
        return (TIMESTAMP, value.time, value.inc)
    if isinstance(value, Regex):
        return (REGEX, value.pattern, str(value.flags))
    if isinstance(value, re.Pattern):
        return (REGEX, value.pattern, str(value.flags))
    if isinstance(value, Code):
        return (CODE, str(value))
    if isinstance(value, DBRef):
        return order_key(value.as_doc())
    if isinstance(value, MinKey):
        return (MIN_KEY,)
    if isinstance(value, MaxKey):
        return (MAX_KEY,)
    return (OTHER, type(value).__name__, repr(value))


def bracket_end(key: Key) -> Key:
    """A key above every value of key's type bracket and below the next bracket."""
    return (key[0] + 0.5,)


def bracket_start(key: Key) -> Key:
    """A key below every value of key's type bracket and above the previous bracket."""
    return (key[0],)
