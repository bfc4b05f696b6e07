"""GET /v1/system/metrics and /v1/system/history: the dashboard's system monitor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import Reader, ServicesDep
from app.api.schemas import AUTHENTICATED, ErrorBody, MinuteOut, SystemHistory, SystemMetrics
from app.domain.access import Permission

router = APIRouter(prefix="/v1/system", tags=["system"], responses=AUTHENTICATED)


@router.get("/metrics", response_model=SystemMetrics)
async def system_metrics(caller: Reader, services: ServicesDep) -> SystemMetrics:
    """Queue, today's tasks by status and agent, latency, dependency health, workers online."""
    return SystemMetrics.of(
        await services.monitor.snapshot(), admin=caller.can(Permission.READ_ANY)
    )


@router.get("/history", response_model=SystemHistory, responses={503: {"model": ErrorBody}})
async def system_history(
    caller: Reader,
    services: ServicesDep,
    minutes: Annotated[int, Query(ge=1, le=1440, description="How many, up to now.")] = 60,
) -> SystemHistory:
    """Per minute: tasks submitted, completed, failed and cancelled, p95 latency, queue length."""
    found = await services.monitor.history(minutes)
    return SystemHistory(minutes=[MinuteOut.of(m) for m in found])
