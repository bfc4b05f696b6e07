"""What every command handler shares: the `Call` it receives, its errors and argument readers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.embedded.mongo.wire import Document

if TYPE_CHECKING:
    from app.embedded.mongo.server import MongoStandIn

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
        options = mapping_arg(self.body, "cursor")
        return self.standin.open_cursor(namespace, documents, batch_size(options))


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


def sort_arg(body: Document) -> list[tuple[str, Any]] | None:
    sort = mapping_arg(body, "sort")
    return list(sort.items()) or None
