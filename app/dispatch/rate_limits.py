"""Requests per minute per API key and per tenant, submits and reads apart: moving windows in
the service's Redis (the `limits` library), so every API process counts the same requests."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import structlog
from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis

from app.config import TenancySettings
from app.domain.access import Principal, Traffic
from app.domain.errors import LimiterUnavailable, RateLimited
from app.observability.metrics import RATE_LIMIT_HITS

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class _Window:
    scope: str  # "key" or "tenant"
    who: str
    per_minute: int


class RateLimiter:
    """hit() counts one request against the caller's key and tenant, or raises RateLimited
    naming the window that is full; a window of 0 is no limit."""

    def __init__(self, settings: TenancySettings, redis: Redis, url: str, namespace: str):
        self._settings = settings
        # The service's own connection pool (and its timeouts); the URL only names the server.
        storage = RedisStorage(
            "async+" + url,
            implementation="redispy",
            wrap_exceptions=True,
            key_prefix=f"{namespace}:ratelimit",
            # documented (":param connection_pool:"), but typed as the scalar options only
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]
        )
        self._limiter = MovingWindowRateLimiter(storage)

    def _windows(self, caller: Principal, traffic: Traffic) -> list[_Window]:
        limits = self._settings
        own = caller.limits.per_minute(traffic)
        if traffic is Traffic.SUBMIT:
            key, tenant = limits.key_submits_per_minute, limits.tenant_submits_per_minute
        else:
            key, tenant = limits.key_reads_per_minute, limits.tenant_reads_per_minute
        windows = [
            _Window("key", caller.key_id, key if own is None else own),
            _Window("tenant", caller.tenant, tenant),
        ]
        return [window for window in windows if window.per_minute > 0]

    async def hit(self, caller: Principal, traffic: Traffic) -> None:
        for window in self._windows(caller, traffic):
            item = RateLimitItemPerMinute(window.per_minute)
            try:
                if await self._limiter.hit(item, traffic.value, window.scope, window.who):
                    continue
                reset_at, remaining = await self._limiter.get_window_stats(
                    item, traffic.value, window.scope, window.who
                )
            except StorageError as exc:
                self._unavailable(traffic, exc)
                return
            RATE_LIMIT_HITS.labels(f"{window.scope}_{traffic.value}").inc()
            raise _refusal(window, traffic, reset_at, remaining)

    def _unavailable(self, traffic: Traffic, exc: StorageError) -> None:
        """Reads go through; submits too unless RATE_LIMIT_SUBMITS_FAIL_OPEN is false."""
        closed = traffic is Traffic.SUBMIT and not self._settings.submits_fail_open
        log.warning(
            "rate_limiter_unavailable",
            traffic=traffic.value,
            refused=closed,
            error=str(exc.storage_error),
        )
        if closed:
            raise LimiterUnavailable(
                "The rate limiter's Redis does not answer; submits are refused until it does."
            )


def _refusal(window: _Window, traffic: Traffic, reset_at: float, remaining: int) -> RateLimited:
    wait = max(1, math.ceil(reset_at - time.time()))
    headers = {
        "Retry-After": str(wait),
        "X-RateLimit-Limit": str(window.per_minute),
        "X-RateLimit-Remaining": str(max(0, remaining)),
        "X-RateLimit-Reset": str(math.ceil(reset_at)),
    }
    return RateLimited(
        f"The {window.scope}'s limit of {window.per_minute} {traffic.value}s a minute is"
        f" reached; retry in {wait} s.",
        headers,
    )
