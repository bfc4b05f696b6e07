"""MongoDB wire-protocol framing: read requests (OP_MSG, OP_QUERY) and encode replies."""

from __future__ import annotations

import decimal
import struct
from dataclasses import dataclass
from typing import Any

import bson
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions, DatetimeConversion, TypeRegistry
from bson.decimal128 import Decimal128
from bson.raw_bson import RawBSONDocument

Document = dict[str, Any]

OP_REPLY = 1
OP_QUERY = 2004
OP_COMPRESSED = 2012
OP_MSG = 2013

CHECKSUM_PRESENT = 1 << 0
MORE_TO_COME = 1 << 1

MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024
MAX_MESSAGE_SIZE = 48_000_000

_HEADER = struct.Struct("<iiii")
_INT32 = struct.Struct("<i")
_UINT32 = struct.Struct("<I")
_OP_REPLY_PREFIX = struct.Struct("<iqii")


def _fallback_encoder(value: Any) -> Any:
    # mongomock computes some values ($avg, $sum over decimals) as Python types BSON lacks.
    if isinstance(value, decimal.Decimal):
        return Decimal128(value)
    if isinstance(value, set | frozenset):
        return list(value)
    return value


# Decoding keeps UUID binaries as `Binary` (the driver's default, UNSPECIFIED) so their subtype
# round-trips untouched, and datetimes naive UTC, which is how mongomock stores them.
DECODE_OPTIONS: CodecOptions[Document] = CodecOptions(
    document_class=dict,
    tz_aware=False,
    uuid_representation=UuidRepresentation.UNSPECIFIED,
    datetime_conversion=DatetimeConversion.DATETIME_AUTO,
)
ENCODE_OPTIONS: CodecOptions[Document] = CodecOptions(
    document_class=dict,
    uuid_representation=UuidRepresentation.STANDARD,
    type_registry=TypeRegistry(fallback_encoder=_fallback_encoder),
)


class FramingError(Exception):
    """The byte stream is not a MongoDB message; the connection cannot continue."""


class MalformedRequest(Exception):
    """A well-framed message whose content cannot be parsed; answered with an error."""


@dataclass(frozen=True)
class Message:
    """One framed message as read from the socket."""

    request_id: int
    op_code: int
    payload: bytes


@dataclass(frozen=True)
class Request:
    """A command extracted from a message, with how to answer it."""

    request_id: int
    reply_op_code: int
    db_name: str
    body: Document
    more_to_come: bool = False


def take_message(buffer: bytearray) -> Message | None:
    """Cut the first whole message off the front of buffer; None until one has arrived."""
    if len(buffer) < _HEADER.size:
        return None
    length, request_id, _response_to, op_code = _HEADER.unpack_from(buffer, 0)
    if not _HEADER.size < length <= MAX_MESSAGE_SIZE:
        raise FramingError(f"invalid message length {length}")
    if len(buffer) < length:
        return None
    payload = bytes(buffer[_HEADER.size : length])
    del buffer[:length]
    return Message(request_id, op_code, payload)


def parse_request(message: Message) -> Request:
    """Turn an OP_MSG or OP_QUERY message into a command request."""
    try:
        if message.op_code == OP_MSG:
            flags, body = _parse_op_msg(message.payload)
            db_name = str(body.get("$db", "admin"))
            more = bool(flags & MORE_TO_COME)
            return Request(message.request_id, OP_MSG, db_name, body, more_to_come=more)
        if message.op_code == OP_QUERY:
            namespace, query = _parse_op_query(message.payload)
            return Request(message.request_id, OP_REPLY, namespace.split(".", 1)[0], query)
    except (struct.error, IndexError, ValueError, bson.InvalidBSON) as exc:
        raise MalformedRequest(f"malformed message: {exc}") from exc
    if message.op_code == OP_COMPRESSED:
        raise MalformedRequest("compression was not negotiated; send uncompressed messages")
    raise FramingError(f"unsupported opCode {message.op_code}")


def reply_op_code_for(message: Message) -> int:
    """The reply format a message expects, even when its content is unreadable."""
    op_code = message.op_code
    if op_code == OP_COMPRESSED and len(message.payload) >= _INT32.size:
        (op_code,) = _INT32.unpack_from(message.payload, 0)
    return OP_REPLY if op_code == OP_QUERY else OP_MSG


def _parse_op_msg(payload: bytes) -> tuple[int, Document]:
    (flags,) = _UINT32.unpack_from(payload, 0)
    end = len(payload) - 4 if flags & CHECKSUM_PRESENT else len(payload)
    view = memoryview(payload)
    position = _UINT32.size
    body: Document | None = None
    sequences: dict[str, list[Document]] = {}
    while position < end:
        kind = payload[position]
        (size,) = _INT32.unpack_from(payload, position + 1)
        start, position = position + 1, position + 1 + size
        if kind == 0:
            body = bson.decode(view[start:position], DECODE_OPTIONS)
        elif kind == 1:
            name_end = payload.index(b"\x00", start + _INT32.size, position)
            identifier = payload[start + _INT32.size : name_end].decode()
            sequences[identifier] = bson.decode_all(view[name_end + 1 : position], DECODE_OPTIONS)
        else:
            raise ValueError(f"unknown OP_MSG section kind {kind}")
    if body is None:
        raise ValueError("OP_MSG without a body section")
    # Drivers move large arrays (documents, updates, deletes) out of the body; put them back.
    body.update(sequences)
    return flags, body


def _parse_op_query(payload: bytes) -> tuple[str, Document]:
    name_end = payload.index(b"\x00", _INT32.size)
    namespace = payload[_INT32.size : name_end].decode()
    start = name_end + 1 + 2 * _INT32.size  # skip numberToSkip and numberToReturn
    (size,) = _INT32.unpack_from(payload, start)
    query = bson.decode(memoryview(payload)[start : start + size], DECODE_OPTIONS)
    # Legacy handshakes wrap the command as {$query: {...}, $readPreference: ...}.
    wrapped = query.get("$query")
    return namespace, wrapped if isinstance(wrapped, dict) else query


def encode_reply(
    reply_op_code: int, document: Document, request_id: int, response_to: int
) -> bytes:
    """Encode a reply document as OP_MSG (one body section) or as OP_REPLY."""
    data = bson.encode(document, codec_options=ENCODE_OPTIONS)
    if reply_op_code == OP_REPLY:
        prefix = _OP_REPLY_PREFIX.pack(0, 0, 0, 1)  # flags, cursorID, startingFrom, numberReturned
    else:
        prefix = _UINT32.pack(0) + b"\x00"  # flagBits, section kind 0
    length = _HEADER.size + len(prefix) + len(data)
    return _HEADER.pack(length, request_id, response_to, reply_op_code) + prefix + data


def raw_document(document: Document) -> RawBSONDocument:
    """Encode a document once so batches can be sized and embedded without re-encoding."""
    return RawBSONDocument(bson.encode(document, codec_options=ENCODE_OPTIONS))
