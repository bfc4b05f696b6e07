"""GET /health (liveness) and GET /ready (MongoDB and Redis answer)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.api.deps import ServicesDep
from app.api.errors import error_response
from app.api.schemas import ErrorBody, HealthOut, ReadyOut

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut)
async def health() -> HealthOut:
    """The process is up."""
    return HealthOut()


@router.get("/ready", response_model=ReadyOut, responses={503: {"model": ErrorBody}})
async def ready(services: ServicesDep, request: Request) -> ReadyOut | JSONResponse:
    """Both stores answer; 503 naming the one that does not."""
    # Slow counts as ready here ("degraded" is the system monitor's concern); only down is not.
    probes = await services.monitor.stores()
    checks = {name: "down" if p.status == "down" else "ok" for name, p in probes.items()}
    # Without a key tavily-python would search keyless; ContentAgent refuses, so say it here.
    checks["search"] = "ok" if services.settings.search.api_key else "unconfigured"
    down = [name for name, state in checks.items() if state != "ok"]
    if down:
        detail = "Not ready: " + ", ".join(f"{name} {checks[name]}" for name in down) + "."
        return error_response(request, 503, "NOT_READY", detail, checks=checks)
    return ReadyOut(checks=checks)
