"""GET /metrics: Prometheus exposition of the API and every worker process."""

from __future__ import annotations

import asyncio
import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.deps import ServicesDep
from app.domain.errors import Unauthorized
from app.observability.metrics import (
    PENDING_CHECKPOINTS,
    QUEUE_LENGTH,
    WORKERS_ONLINE,
    render,
)

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
    monitor = services.monitor
    queued, workers, pending = await asyncio.gather(
        monitor.queue_length(), monitor.workers(), monitor.pending_checkpoints()
    )
    if queued is not None:
        QUEUE_LENGTH.labels(services.settings.worker.queue).set(queued)
    if workers is not None:
        WORKERS_ONLINE.set(len(workers))
    if pending is not None:
        PENDING_CHECKPOINTS.set(pending)
