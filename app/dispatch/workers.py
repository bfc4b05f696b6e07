"""Worker heartbeats in Redis (short-lived state): who is online, how busy, and whether healthy.

The watchdog thread of each worker process writes them (`app/dispatch/watchdog.py`), so a
worker whose event loop is stuck still says so; the API reads them.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from redis import Redis as SyncRedis
from redis.asyncio import Redis

BEAT_SECONDS = 5.0
# A worker missing three beats is offline.
TTL_SECONDS = 15


def heartbeat_prefix(namespace: str) -> str:
    """The keys of one deployment's heartbeats (Settings.redis_namespace) start with this."""
    return f"{namespace}:worker:"


def announce(redis: SyncRedis, namespace: str, worker_id: str, info: dict[str, Any]) -> None:
    """Write this worker's heartbeat (it lapses after TTL_SECONDS without a new one)."""
    redis.set(heartbeat_prefix(namespace) + worker_id, json.dumps(info), ex=TTL_SECONDS)


def withdraw(redis: SyncRedis, namespace: str, worker_id: str) -> None:
    """Remove this worker's heartbeat (it is stopping)."""
    redis.delete(heartbeat_prefix(namespace) + worker_id)


def write_heartbeat_file(path: Path, info: dict[str, Any]) -> None:
    """Write the heartbeat to a local file too, whole or not at all (a reader never sees half)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(info))
    partial.replace(path)


def read_heartbeat_file(path: Path) -> str | None:
    """Why the worker writing `path` is unhealthy, or None when its last beat is fresh and ok."""
    try:
        age = time.time() - path.stat().st_mtime
        info = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return f"no heartbeat in {path}: {exc}"
    if age > TTL_SECONDS:
        return f"the last heartbeat is {age:.0f}s old (more than {TTL_SECONDS}s)"
    if info.get("status") != "ok":
        return f"the worker reports {info.get('status')}: {info.get('stalled_reason')}"
    return None


async def online(redis: Redis, namespace: str, limit: int = 1000) -> list[dict[str, Any]]:
    """The deployment's workers whose heartbeat is fresh."""
    found: list[dict[str, Any]] = []
    async for key in redis.scan_iter(match=heartbeat_prefix(namespace) + "*", count=200):
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
