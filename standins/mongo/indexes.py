"""The stand-in's indexes: sorted entries that every write keeps current.

An index holds one entry per document, `(key of field 1, ..., key of field n, _id key)`, in a
`SortedList`, so an equality on a leading prefix of its fields, a range on the next one, and a
walk in either direction are all O(log n) to start. Entries are stored ascending whatever the
declared directions: MongoDB walks an index both ways, and a sort that mixes directions is
finished in memory. A document with an array on an indexed path (MongoDB's multikey case) is
kept apart and offered to every query that uses the index, so a lookup never misses it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from sortedcontainers import SortedList

from standins.mongo.order import ARRAY, HIGHEST, Key, order_key
from standins.mongo.wire import Document

Matcher = Callable[[Document, Document], bool]

_MISSING = object()
_MULTIKEY = object()
_EMPTY_ARRAY: Key = (ARRAY, ())


def _path_value(doc: Any, parts: list[str]) -> Any:
    """The value at a dotted path, _MISSING when absent, _MULTIKEY when an array is on it."""
    current = doc
    for part in parts:
        if isinstance(current, list):
            return _MULTIKEY
        if not isinstance(current, Mapping) or part not in current:
            return _MISSING
        current = current[part]
    return _MULTIKEY if isinstance(current, list) else current


def path_values(doc: Any, parts: list[str]) -> list[Any]:
    """Every value a multikey index takes at a path (arrays along it expanded)."""
    if not parts:
        if isinstance(doc, list):
            return list(doc) or [_EMPTY_ARRAY]
        return [doc]
    if isinstance(doc, list):
        found = [value for item in doc for value in path_values(item, parts)]
        return found or [None]
    if not isinstance(doc, Mapping) or parts[0] not in doc:
        return [None]
    return path_values(doc[parts[0]], parts[1:])


class Index:
    """One index of a collection, as createIndexes declared it."""

    def __init__(
        self, name: str, keys: list[tuple[str, Any]], options: Document, matcher: Matcher
    ) -> None:
        self.name = name
        self.keys = keys
        self.fields = [field for field, _ in keys]
        self.options = options
        self.unique = bool(options.get("unique")) or name == "_id_"
        self.sparse = bool(options.get("sparse"))
        self.partial: Document | None = options.get("partialFilterExpression")
        expire = options.get("expireAfterSeconds")
        self.expire_after: float | None = None if expire is None else float(expire)
        self._parts = [field.split(".") for field in self.fields]
        self._matcher = matcher
        self._entries = SortedList()
        self._entry_of: dict[Key, tuple[Any, ...]] = {}
        self.multikey: set[Key] = set()

    @property
    def plannable(self) -> bool:
        """Whether queries may use it: sparse and partial indexes miss documents."""
        return not self.sparse and self.partial is None

    def __len__(self) -> int:
        return len(self._entry_of) + len(self.multikey)

    def _key(self, doc: Document) -> tuple[Key, ...] | object | None:
        """The entry key of doc; None when the index leaves it out; _MULTIKEY for arrays."""
        if self.partial is not None and not self._matcher(self.partial, doc):
            return None
        values = [_path_value(doc, parts) for parts in self._parts]
        if any(value is _MULTIKEY for value in values):
            return _MULTIKEY
        if self.sparse and all(value is _MISSING for value in values):
            return None
        return tuple(order_key(None if value is _MISSING else value) for value in values)

    def add(self, id_key: Key, doc: Document) -> None:
        key = self._key(doc)
        if key is None:
            return
        if key is _MULTIKEY:
            self.multikey.add(id_key)
            return
        assert isinstance(key, tuple)
        entry = (*key, id_key)
        self._entries.add(entry)
        self._entry_of[id_key] = entry

    def remove(self, id_key: Key) -> None:
        entry = self._entry_of.pop(id_key, None)
        if entry is not None:
            self._entries.remove(entry)
        else:
            self.multikey.discard(id_key)

    def replace(self, id_key: Key, doc: Document) -> None:
        """doc (stored under id_key) changed: move its entry if its key did."""
        key = self._key(doc)
        entry = self._entry_of.get(id_key)
        if entry is not None and isinstance(key, tuple) and entry[:-1] == key:
            return
        self.remove(id_key)
        self.add(id_key, doc)

    def walk(self, low: tuple[Any, ...], high: tuple[Any, ...], reverse: bool) -> Iterator[Key]:
        """The _id keys of the entries between low and high (both inclusive), in order."""
        for entry in self._entries.irange(low, high, reverse=reverse):
            yield entry[-1]

    def collides(self, id_key: Key, doc: Document, docs: Mapping[Key, Document]) -> bool:
        """Whether storing doc under id_key would break this unique index."""
        if not self.unique:
            return False
        key = self._key(doc)
        if key is None:
            return False
        if key is _MULTIKEY or self.multikey:
            return self._collides_multikey(id_key, doc, docs)
        assert isinstance(key, tuple)
        return any(other != id_key for other in self.walk(key, (*key, HIGHEST), False))

    def _expanded_keys(self, doc: Document) -> set[tuple[Key, ...]]:
        per_field = [
            [order_key(value) if value is not _EMPTY_ARRAY else value for value in values]
            for values in (path_values(doc, parts) for parts in self._parts)
        ]
        return set(itertools.product(*per_field))

    def _collides_multikey(self, id_key: Key, doc: Document, docs: Mapping[Key, Document]) -> bool:
        # Rare (arrays in a unique index): compare element keys with the other array documents
        # one by one, and look each element key up among the regular entries.
        keys = self._expanded_keys(doc)
        for key in keys:
            if any(other != id_key for other in self.walk(key, (*key, HIGHEST), False)):
                return True
        for other in self.multikey:
            if other != id_key and keys & self._expanded_keys(docs[other]):
                return True
        return False

    def describe(self) -> Document:
        """The index as listIndexes reports it."""
        return {"v": 2, "key": dict(self.keys), "name": self.name, **self.options}
