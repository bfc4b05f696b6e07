"""GET /v1/system/metrics: the dashboard's system monitor."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import Caller, ServicesDep
from app.api.schemas import ErrorBody, SystemMetrics

router = APIRouter(prefix="/v1/system", tags=["system"], responses={401: {"model": ErrorBody}})


@router.get("/metrics", response_model=SystemMetrics)
async def system_metrics(caller: Caller, services: ServicesDep) -> SystemMetrics:
    """Queue, today's tasks by status and agent, latency, dependency health, workers online."""
    return SystemMetrics.of(await services.monitor.snapshot())
