"""Request id for every request (X-Request-ID in, or generated; echoed back), body size cap."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.metrics import HTTP_DURATION, HTTP_REQUESTS
from app.observability.sentry import tag_request

log = structlog.get_logger("app.api.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
MAX_BODY_BYTES = 64 * 1024


class RequestContextMiddleware:
    """Binds request_id into the log context and request.state; refuses oversized bodies."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _SAFE_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        tag_request(request_id)

        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                length = headers.get(b"content-length", b"0")
                if length.isdigit() and int(length) > MAX_BODY_BYTES:
                    await _too_large(request_id, send_with_id)
                    return
                await self.app(scope, receive, send_with_id)
            finally:
                _observe(scope, status, time.perf_counter() - started)


def _observe(scope: Scope, status: int, seconds: float) -> None:
    """One access log line and the HTTP metrics, labelled by route template (bounded)."""
    route = scope.get("route")
    template = getattr(route, "path", None) or "unmatched"
    method = scope["method"]
    HTTP_REQUESTS.labels(method, template, str(status)).inc()
    HTTP_DURATION.labels(method, template).observe(seconds)
    log.info(
        "http_request",
        method=method,
        route=template,
        status=status,
        duration_ms=round(seconds * 1000, 1),
    )


async def _too_large(request_id: str, send: Send) -> None:
    body = (
        b'{"error":"PAYLOAD_TOO_LARGE","detail":"The request body exceeds '
        + str(MAX_BODY_BYTES).encode()
        + b' bytes.","request_id":"'
        + request_id.encode()
        + b'"}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
