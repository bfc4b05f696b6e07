"""Managed API keys (admin role): create (the secret shown once), list, read, revoke, rotate."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from app.api.deps import KeyAdmin, ServicesDep
from app.api.schemas import AUTHENTICATED, ErrorBody
from app.api.schemas.keys import KeyCreate, KeyIssued, KeyList, KeyOut, KeyRotate
from app.dispatch.keys import IssuedKey

router = APIRouter(
    prefix="/v1/admin/keys",
    tags=["keys"],
    responses=AUTHENTICATED | {403: {"model": ErrorBody}},
)
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}
_BAD_BODY: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body is not UTF-8 JSON."}
}
KeyId = Annotated[str, Path(pattern=r"^key_[0-9a-f]{16}$", description="A managed key's id.")]


def _issued(issued: IssuedKey) -> KeyIssued:
    return KeyIssued(**KeyOut.of(issued.record).model_dump(), secret=issued.secret)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=KeyIssued, responses=_BAD_BODY)
async def create_key(body: KeyCreate, admin: KeyAdmin, services: ServicesDep) -> KeyIssued:
    """A new key for a tenant; its secret is in this answer only."""
    limits = body.limits.model_dump(exclude_none=True)
    issued = await services.keys.create(body.tenant, body.role, body.name, body.expires_at, limits)
    return _issued(issued)


@router.get("", response_model=KeyList)
async def list_keys(
    admin: KeyAdmin,
    services: ServicesDep,
    tenant: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> KeyList:
    """Every managed key (or one tenant's), without secrets."""
    return KeyList(items=[KeyOut.of(r) for r in await services.keys.list(tenant)])


@router.get("/{key_id}", response_model=KeyOut, responses=_NOT_FOUND)
async def get_key(key_id: KeyId, admin: KeyAdmin, services: ServicesDep) -> KeyOut:
    return KeyOut.of(await services.keys.get(key_id))


@router.post("/{key_id}/revoke", response_model=KeyOut, responses=_NOT_FOUND)
async def revoke_key(key_id: KeyId, admin: KeyAdmin, services: ServicesDep) -> KeyOut:
    """Refused from now on, on every API process within a second."""
    return KeyOut.of(await services.keys.revoke(key_id))


_IN_GRACE: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "An earlier rotation's grace period still runs."}
}


@router.post(
    "/{key_id}/rotate", response_model=KeyIssued, responses=_NOT_FOUND | _BAD_BODY | _IN_GRACE
)
async def rotate_key(
    key_id: KeyId, admin: KeyAdmin, services: ServicesDep, body: KeyRotate | None = None
) -> KeyIssued:
    """A new secret (in this answer only); the current one works for `grace_seconds` more.
    While that grace runs the key cannot be rotated again (409)."""
    grace = (body or KeyRotate()).grace_seconds
    return _issued(await services.keys.rotate(key_id, grace))
