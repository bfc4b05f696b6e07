"""GET /metrics: Prometheus exposition of the API and every worker process."""

from __future__ import annotations

import asyncio
import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError

from app.api.deps import ServicesDep
from app.dispatch.workers import online, queue_length
from app.domain.errors import Unauthorized
from app.observability.metrics import (
    PENDING_CHECKPOINTS,
    QUEUE_LENGTH,
    WORKERS_ONLINE,
    render,
)
from app.store import within

router = APIRouter(tags=["observability"])


@router.get("/metrics", response_class=Response, include_in_schema=False)
async def metrics(services: ServicesDep, request: Request) -> Response:
    """Prometheus text; needs `Authorization: Bearer METRICS_TOKEN` when that is set."""
    token = services.settings.observability.metrics_token
    if token is not None:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
            raise Unauthorized("A valid bearer token (METRICS_TOKEN) is required for /metrics.")
    await _refresh_gauges(services)
    body, content_type = render()
    return Response(body, media_type=content_type)


async def _refresh_gauges(services: ServicesDep) -> None:
    """Gauges read from the stores at scrape time; a store that does not answer keeps its last."""
    queue = services.settings.worker.queue
    timeout = services.settings.observability.probe_timeout_seconds
    readings = await asyncio.gather(
        asyncio.wait_for(queue_length(services.broker, queue), timeout),
        asyncio.wait_for(online(services.redis), timeout),
        within(timeout, services.store.checkpoints.pending_count()),
        return_exceptions=True,
    )
    queued, workers, pending = readings
    if isinstance(queued, int):
        QUEUE_LENGTH.labels(queue).set(queued)
    if isinstance(workers, list):
        WORKERS_ONLINE.set(len(workers))
    if isinstance(pending, int):
        PENDING_CHECKPOINTS.set(pending)
    for reading in readings:
        if isinstance(reading, BaseException) and not isinstance(
            reading, RedisError | PyMongoError | OSError | TimeoutError
        ):
            raise reading
