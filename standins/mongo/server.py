"""The asyncio server: one shared store, open cursors, and a protocol per connection."""

from __future__ import annotations

import asyncio
import itertools
import logging
import signal
from collections.abc import Callable
from typing import cast

from standins.mongo import wire
from standins.mongo.commands import run_command
from standins.mongo.cursors import Cursors
from standins.mongo.errors import error_reply
from standins.mongo.storage import Storage

logger = logging.getLogger(__name__)


class MongoStandIn:
    """Server state: the in-memory store, open cursors, and connection/request counters."""

    def __init__(self) -> None:
        self.storage = Storage()
        self.cursors = Cursors()
        self._connection_ids = itertools.count(1)
        self._request_ids = itertools.count(1)
        self.connections: set[_Connection] = set()

    def new_connection_id(self) -> int:
        """A fresh id for a client connection (reported as hello's connectionId)."""
        return next(self._connection_ids)

    def handle(self, message: wire.Message, connection_id: int) -> bytes | None:
        """Run one message's command to completion and return the encoded reply, if one is due.

        Synchronous on purpose: no other command interleaves, so each command is atomic.
        """
        try:
            request = wire.parse_request(message)
        except wire.MalformedRequest as exc:
            reply = error_reply(17, str(exc))
            reply_op_code = wire.reply_op_code_for(message)
            return wire.encode_reply(
                reply_op_code, reply, self._next_request_id(), message.request_id
            )
        reply = run_command(self.storage, self.cursors, request, connection_id)
        if request.more_to_come:
            return None
        try:
            return wire.encode_reply(
                request.reply_op_code, reply, self._next_request_id(), request.request_id
            )
        except Exception as exc:
            logger.exception("cannot encode reply to %s", next(iter(request.body), "?"))
            reply = error_reply(1, f"cannot encode reply: {exc}")
            return wire.encode_reply(
                request.reply_op_code, reply, self._next_request_id(), request.request_id
            )

    def _next_request_id(self) -> int:
        return next(self._request_ids) & 0x7FFFFFFF

    async def close_connections(self) -> None:
        """Close every client connection."""
        for connection in list(self.connections):
            connection.close()
        self.connections.clear()


class _Connection(asyncio.Protocol):
    """One client connection: cut messages out of the bytes received, answer each in turn."""

    def __init__(self, standin: MongoStandIn) -> None:
        self._standin = standin
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._id = standin.new_connection_id()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)
        self._standin.connections.add(self)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            while (message := wire.take_message(self._buffer)) is not None:
                reply = self._standin.handle(message, self._id)
                if reply is not None and self._transport is not None:
                    self._transport.write(reply)
        except wire.FramingError as exc:
            logger.warning("closing connection %d: %s", self._id, exc)
            self.close()

    def pause_writing(self) -> None:
        # A client that stops reading its replies stops being read: memory stays bounded.
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._transport is not None:
            self._transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._standin.connections.discard(self)
        self._transport = None

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def serve(
    host: str, port: int, *, on_listening: Callable[[str, int], None] | None = None
) -> None:
    """Serve the wire protocol on host:port until SIGTERM or SIGINT."""
    standin = MongoStandIn()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(standin), host, port, backlog=1024)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        if on_listening is not None:
            on_listening(host, int(server.sockets[0].getsockname()[1]))
        await stop.wait()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        server.close()
        await standin.close_connections()
        await server.wait_closed()
