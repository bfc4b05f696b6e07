"""Typed dependencies: services opened in lifespan, and the caller's API key."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from redis.asyncio import Redis

from app.config import KeyRole, Settings
from app.dispatch.enqueue import Dispatcher
from app.dispatch.intake import Intake
from app.dispatch.monitor import Monitor
from app.dispatch.reads import TaskReads
from app.domain.errors import Forbidden, Unauthorized
from app.store import Store


@dataclass
class Services:
    """The clients the API opens in lifespan and closes at shutdown."""

    settings: Settings
    store: Store
    redis: Redis
    dispatcher: Dispatcher
    intake: Intake
    monitor: Monitor
    reads: TaskReads
    broker: Redis  # the Celery queue's Redis (CELERY_BROKER_URL, else the same as `redis`)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: the id of its API key (a task's `owner`) and its role."""

    key_id: str
    role: KeyRole = KeyRole.USER

    @property
    def admin(self) -> bool:
        return self.role is KeyRole.ADMIN


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]

_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key from API_KEYS."
)


async def authenticate(
    services: ServicesDep, api_key: Annotated[str | None, Security(_api_key_header)]
) -> Principal:
    """The caller whose X-API-Key matches one of API_KEYS, else 401."""
    if not api_key:
        raise Unauthorized("Missing X-API-Key header.")
    keys = services.settings.security.keys_by_secret()
    if not keys:
        raise Unauthorized("No API keys are configured on this server (API_KEYS).")
    match = None
    for secret, key in keys.items():
        # Compare against every key so timing does not tell which prefix matched.
        if hmac.compare_digest(secret.encode(), api_key.encode()):
            match = key
    if match is None:
        raise Unauthorized("Invalid API key.")
    return Principal(key_id=match.key_id, role=match.role)


Caller = Annotated[Principal, Depends(authenticate)]


async def require_admin(caller: Caller) -> Principal:
    """The caller, if its key has the admin role; else 403."""
    if not caller.admin:
        raise Forbidden("This needs an API key with the admin role.")
    return caller


Admin = Annotated[Principal, Depends(require_admin)]


async def task_owner(task_id: UUID, caller: Caller, services: ServicesDep) -> str:
    """The owner the caller reads and acts on the path's task as: its own key, or for an admin
    the task's owner (TaskReads.acting_owner)."""
    return await services.reads.acting_owner(str(task_id), caller.key_id, caller.admin)


TaskOwner = Annotated[str, Depends(task_owner)]
