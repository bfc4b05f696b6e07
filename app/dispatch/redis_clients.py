"""The service's Redis clients, all built here with one set of timeouts (`REDIS_*_SECONDS`)."""

from __future__ import annotations

from redis import Redis as SyncRedis
from redis.asyncio import Redis

from app.config import Settings


def open_redis(settings: Settings) -> Redis:
    """The async client of REDIS_URL: heartbeats, the reconciler's lock, probes."""
    return _async_client(settings, settings.redis_url)


def open_broker(settings: Settings, redis: Redis) -> Redis:
    """The async client of the broker's Redis: `redis` itself when the broker is REDIS_URL."""
    if settings.broker_url == settings.redis_url:
        return redis
    return _async_client(settings, settings.broker_url)


def open_sync_redis(settings: Settings) -> SyncRedis:
    """A blocking client of REDIS_URL, for a thread that must not depend on the event loop."""
    limits = settings.redis
    return SyncRedis.from_url(
        settings.redis_url,
        socket_connect_timeout=limits.connect_timeout_seconds,
        socket_timeout=limits.socket_timeout_seconds,
    )


def _async_client(settings: Settings, url: str) -> Redis:
    limits = settings.redis
    return Redis.from_url(
        url,
        socket_connect_timeout=limits.connect_timeout_seconds,
        socket_timeout=limits.socket_timeout_seconds,
    )
