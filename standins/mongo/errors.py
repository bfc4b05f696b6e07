"""How the stand-in fails: MongoDB's error codes, the exception handlers raise, the reply."""

from __future__ import annotations

from standins.mongo.wire import Document

CODE_NAMES = {
    1: "InternalError",
    2: "BadValue",
    9: "FailedToParse",
    14: "TypeMismatch",
    17: "ProtocolError",
    26: "NamespaceNotFound",
    27: "IndexNotFound",
    40: "ConflictingUpdateOperators",
    43: "CursorNotFound",
    48: "NamespaceExists",
    59: "CommandNotFound",
    66: "ImmutableField",
    67: "CannotCreateIndex",
    72: "InvalidOptions",
    73: "InvalidNamespace",
    85: "IndexOptionsConflict",
    86: "IndexKeySpecsConflict",
    238: "NotImplemented",
    352: "UnsupportedOpQueryCommand",
    11000: "DuplicateKey",
}


class CommandError(Exception):
    """A command failed in a way the real server reports with this code."""

    def __init__(self, code: int, message: str, details: Document | None = None) -> None:
        super().__init__(message)
        self.code = code
        # Extra reply fields (a duplicate key's keyPattern and keyValue).
        self.details: Document = details or {}


def error_reply(code: int, message: str) -> Document:
    """A command reply saying the command failed."""
    return {"ok": 0.0, "errmsg": message, "code": code, "codeName": CODE_NAMES.get(code, "Error")}
