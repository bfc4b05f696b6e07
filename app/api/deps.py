"""Typed dependencies: services opened in lifespan, and the caller's API key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from redis.asyncio import Redis

from app.config import Settings
from app.dispatch.enqueue import Dispatcher
from app.dispatch.intake import Intake
from app.dispatch.keys import KeyService
from app.dispatch.monitor import Monitor
from app.dispatch.rate_limits import RateLimiter
from app.dispatch.reads import TaskReads
from app.domain.access import Permission, Principal, Traffic
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
    keys: KeyService
    limiter: RateLimiter


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]

_api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="An API key: a bootstrap one from API_KEYS or one made by an admin.",
)


async def authenticate(
    services: ServicesDep, api_key: Annotated[str | None, Security(_api_key_header)]
) -> Principal:
    """The caller whose X-API-Key is a bootstrap key (API_KEYS) or a live managed key, else 401."""
    if not api_key:
        raise Unauthorized("Missing X-API-Key header.")
    principal = await services.keys.authenticate(api_key)
    if principal is None:
        raise Unauthorized("Invalid API key.")
    return principal


Caller = Annotated[Principal, Depends(authenticate)]


def require(
    permission: Permission,
) -> Callable[[Request, Principal, Services], Awaitable[Principal]]:
    """A dependency: the caller, if its role grants `permission` (else 403 naming it) and its
    key and tenant are within their rate limits (else 429): a submit's with SUBMIT, a read's
    with every other permission; once per request."""
    traffic = Traffic.SUBMIT if permission is Permission.SUBMIT else Traffic.READ

    async def check(request: Request, caller: Caller, services: ServicesDep) -> Principal:
        if not caller.can(permission):
            raise Forbidden(f"The {caller.role.value} role may not do this ({permission.value}).")
        if not getattr(request.state, "rate_limited", False):
            request.state.rate_limited = True
            await services.limiter.hit(caller, traffic)
        return caller

    return check


Reader = Annotated[Principal, Depends(require(Permission.READ))]
Submitter = Annotated[Principal, Depends(require(Permission.SUBMIT))]
Operator = Annotated[Principal, Depends(require(Permission.READ_ANY))]
Approver = Annotated[Principal, Depends(require(Permission.APPROVE))]
KeyAdmin = Annotated[Principal, Depends(require(Permission.MANAGE_KEYS))]


async def task_owner(task_id: UUID, caller: Reader, services: ServicesDep) -> str:
    """The tenant the caller reads the path's task as: its own, or for a role that reads every
    tenant's tasks the task's (TaskReads.acting_owner)."""
    return await services.reads.acting_owner(
        str(task_id), caller.tenant, caller.can(Permission.READ_ANY)
    )


async def task_actor(task_id: UUID, caller: Submitter, services: ServicesDep) -> str:
    """The tenant the caller cancels or retries the path's task as (ACT_ANY: any tenant's)."""
    return await services.reads.acting_owner(
        str(task_id), caller.tenant, caller.can(Permission.ACT_ANY)
    )


TaskOwner = Annotated[str, Depends(task_owner)]
TaskActor = Annotated[str, Depends(task_actor)]
