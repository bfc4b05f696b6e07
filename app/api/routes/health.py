"""GET /health (liveness) and GET /ready (MongoDB and Redis answer)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from app.api.deps import ServicesDep
from app.api.errors import error_response
from app.api.schemas import ErrorBody, HealthOut, ReadyOut

router = APIRouter(tags=["health"])

PROBE_TIMEOUT_S = 2.0


@router.get("/health", response_model=HealthOut)
async def health() -> HealthOut:
    """The process is up."""
    return HealthOut()


@router.get("/ready", response_model=ReadyOut, responses={503: {"model": ErrorBody}})
async def ready(services: ServicesDep, request: Request) -> ReadyOut | JSONResponse:
    """Both stores answer; 503 naming the one that does not."""
    mongo_ok, redis_ok = await asyncio.gather(_mongo(services), _redis(services))
    checks = {"mongo": "ok" if mongo_ok else "down", "redis": "ok" if redis_ok else "down"}
    # Without a key tavily-python would search keyless; ContentAgent refuses, so say it here.
    checks["search"] = "ok" if services.settings.search.api_key else "unconfigured"
    down = [name for name, state in checks.items() if state != "ok"]
    if down:
        detail = "Not ready: " + ", ".join(f"{name} {checks[name]}" for name in down) + "."
        return error_response(request, 503, "NOT_READY", detail, checks=checks)
    return ReadyOut(checks=checks)


async def _mongo(services: ServicesDep) -> bool:
    try:
        return await asyncio.wait_for(services.store.ping(), PROBE_TIMEOUT_S)
    except TimeoutError:
        return False


async def _redis(services: ServicesDep) -> bool:
    try:
        return bool(await asyncio.wait_for(services.redis.ping(), PROBE_TIMEOUT_S))
    except (RedisError, OSError, TimeoutError):
        return False
