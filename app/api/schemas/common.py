"""What every route shares: the API version, input limits, the error and health bodies."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.domain.access import Permission, Role

API_VERSION = "v1"
TASK_MAX_CHARS = 8000
SESSION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


class ErrorBody(BaseModel):
    error: str
    detail: str
    request_id: str | None


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "integer"}}


# What every route that takes an API key may answer besides its own: no or a bad key, and the
# key's or its tenant's rate limit reached (app/dispatch/rate_limits.py).
AUTHENTICATED: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    429: {
        "model": ErrorBody,
        "description": "RATE_LIMITED: the key's or its tenant's requests a minute are used up.",
        "headers": {
            "Retry-After": _header("Seconds until the window has room again."),
            "X-RateLimit-Limit": _header("The window's requests a minute."),
            "X-RateLimit-Remaining": _header("What is left of it: 0."),
            "X-RateLimit-Reset": _header("When it has room again, in Unix seconds."),
        },
    },
}


class CallerOut(BaseModel):
    key_id: str = Field(description="The API key's id.")
    tenant: str = Field(description="The tenant the key acts for: the owner of its tasks.")
    role: Role
    permissions: list[Permission] = Field(description="What the key's role grants.")
    admin: bool = Field(description="Whether the key may review approvals (admin routes).")


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"


class ReadyOut(BaseModel):
    status: Literal["ready"] = "ready"
    checks: dict[str, str]
