"""What every route shares: the API version, input limits, the error and health bodies."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.domain.access import Permission, Role

API_VERSION = "v1"
TASK_MAX_CHARS = 8000
SESSION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


class ErrorBody(BaseModel):
    error: str
    detail: str
    request_id: str | None


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
