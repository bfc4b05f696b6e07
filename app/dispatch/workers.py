"""Worker heartbeats in Redis (short-lived state): who is online, with how many tasks in flight."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.domain.models import utcnow

log = structlog.get_logger(__name__)
KEY_PREFIX = "orchestrator:worker:"
BEAT_SECONDS = 5.0
# A worker missing three beats is offline.
TTL_SECONDS = 15


async def beat_forever(
    redis: Redis, worker_id: str, concurrency: int, in_flight: Callable[[], int]
) -> None:
    """Announce this worker every BEAT_SECONDS until cancelled; withdraw on the way out."""
    started_at = utcnow().isoformat()
    key = KEY_PREFIX + worker_id
    try:
        while True:
            info = {
                "worker_id": worker_id,
                "concurrency": concurrency,
                "in_flight": in_flight(),
                "started_at": started_at,
                "seen_at": utcnow().isoformat(),
            }
            try:
                await redis.set(key, json.dumps(info), ex=TTL_SECONDS)
            except (RedisError, OSError) as exc:
                log.warning("worker_heartbeat_failed", error=str(exc))
            await asyncio.sleep(BEAT_SECONDS)
    finally:
        with contextlib.suppress(RedisError, OSError):
            await redis.delete(key)


async def online(redis: Redis, limit: int = 1000) -> list[dict[str, Any]]:
    """The workers whose heartbeat is fresh."""
    found: list[dict[str, Any]] = []
    async for key in redis.scan_iter(match=KEY_PREFIX + "*", count=200):
        raw = await redis.get(key)
        if raw is not None:
            found.append(json.loads(raw))
        if len(found) >= limit:
            break
    return sorted(found, key=lambda w: str(w["worker_id"]))


def queue_keys(queue: str) -> list[str]:
    """Celery's Redis keys for a queue: the bare name holds priority 0, then one per step."""
    return [queue, *(f"{queue}\x06\x16{step}" for step in (3, 6, 9))]


async def queue_length(redis: Redis, queue: str) -> int:
    """Messages waiting in the queue, all priority levels summed (LLEN alone misses some)."""
    async with redis.pipeline(transaction=False) as pipe:
        for key in queue_keys(queue):
            pipe.llen(key)
        lengths = await pipe.execute()
    return int(sum(lengths))
