"""GET /v1/me: who the caller's API key is, for clients that adapt to it (the dashboard)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import Caller
from app.api.schemas import CallerOut, ErrorBody
from app.domain.access import GRANTS

router = APIRouter(prefix="/v1", tags=["auth"], responses={401: {"model": ErrorBody}})


@router.get("/me", response_model=CallerOut)
async def me(caller: Caller) -> CallerOut:
    """The caller's key id, tenant, role and what the role grants."""
    return CallerOut(
        key_id=caller.key_id,
        tenant=caller.tenant,
        role=caller.role,
        permissions=sorted(GRANTS[caller.role]),
        admin=caller.admin,
    )
