"""GET /v1/me: who the caller's API key is, for clients that adapt to it (the dashboard)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import Reader
from app.api.schemas import AUTHENTICATED, CallerOut
from app.domain.access import GRANTS

router = APIRouter(prefix="/v1", tags=["auth"], responses=AUTHENTICATED)


@router.get("/me", response_model=CallerOut)
async def me(caller: Reader) -> CallerOut:
    """The caller's key id, tenant, role and what the role grants."""
    return CallerOut(
        key_id=caller.key_id,
        tenant=caller.tenant,
        role=caller.role,
        permissions=sorted(GRANTS[caller.role]),
        admin=caller.admin,
    )
