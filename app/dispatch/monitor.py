"""The system monitor: queue, today's tasks, latency, dependency health, workers online.

Every figure is read in constant time (per-day counters, LLEN, heartbeat keys, one probe per
dependency in parallel), so the answer stays fast whatever the number of stored tasks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import httpx
import structlog
from pymongo.errors import PyMongoError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.config import Settings
from app.dispatch.background import Stopping
from app.dispatch.workers import online, queue_length
from app.domain.errors import StoreUnavailable
from app.domain.models import utcnow
from app.store import DayStats, MinuteStats, Store, within

log = structlog.get_logger(__name__)

Health = Literal["ok", "degraded", "down"]
T = TypeVar("T")


@dataclass(frozen=True)
class Probe:
    status: Health
    latency_ms: float
    detail: str


@dataclass(frozen=True)
class SystemSnapshot:
    queue_length: int | None
    today: DayStats
    dependencies: dict[str, Probe]
    workers: list[dict[str, Any]]


class Monitor:
    """Reads the service's state for operators and the dashboard."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        redis: Redis,
        http: httpx.AsyncClient,
        broker: Redis | None = None,
    ):
        self._settings = settings
        self._store = store
        self._redis = redis
        self._broker = broker or redis  # where the queue is (CELERY_BROKER_URL, else REDIS_URL)
        self._http = http

    async def stores(self) -> dict[str, Probe]:
        """MongoDB and Redis, probed in parallel (what readiness needs)."""
        mongo, redis = await asyncio.gather(
            self._probe(self._ping_mongo, cancel=False), self._probe(self._ping_redis)
        )
        return {"mongo": mongo, "redis": redis}

    async def snapshot(self) -> SystemSnapshot:
        """Everything at once: the probes and the reads run concurrently, each bounded."""
        limit = self._settings.observability.probe_timeout_seconds
        day = utcnow().date().isoformat()
        stores, llm, search, today, queued, workers = await asyncio.gather(
            self.stores(),
            self._probe(self._ping_llm),
            self._probe(self._ping_search),
            self._safe(within(limit, self._store.stats.day(day)), cancel=False),
            self.queue_length(),
            self.workers(),
        )
        return SystemSnapshot(
            queue_length=queued,
            today=today or DayStats(day=day),
            dependencies={**stores, "llm": llm, "search": search},
            workers=workers or [],
        )

    async def history(self, minutes: int) -> list[MinuteStats]:
        """The last `minutes` minutes' counters, oldest first (one indexed read, bounded)."""
        limit = self._settings.observability.probe_timeout_seconds
        try:
            return await within(limit, self._store.stats.minutes(utcnow(), minutes))
        except PyMongoError as exc:
            raise StoreUnavailable("The task store is unavailable; no history to read.") from exc

    async def sample_queue(self, stopping: Stopping) -> None:
        """A background job: the queue's length into its minute's counters every
        QUEUE_SAMPLE_SECONDS (the first one interval after start), until asked to stop."""
        every = self._settings.observability.queue_sample_seconds
        while not await stopping.within(every):
            length = await stopping.unless(self.queue_length())
            if length is None:
                continue
            try:
                await stopping.unless(self._store.stats.queue_sampled(utcnow(), length))
            except PyMongoError as exc:
                log.warning("queue_sample_not_stored", error=str(exc) or type(exc).__name__)

    async def queue_length(self) -> int | None:
        """Messages waiting in the worker queue; None when the broker does not answer in time."""
        return await self._safe(queue_length(self._broker, self._settings.worker.queue))

    async def workers(self) -> list[dict[str, Any]] | None:
        """This deployment's workers online; None when Redis does not answer in time."""
        return await self._safe(online(self._redis, self._settings.redis_namespace))

    async def pending_checkpoints(self) -> int | None:
        """Checkpoints waiting for a decision; None when MongoDB does not answer in time."""
        limit = self._settings.observability.probe_timeout_seconds
        return await self._safe(
            within(limit, self._store.checkpoints.pending_count()), cancel=False
        )

    async def _safe(self, read: Awaitable[T], *, cancel: bool = True) -> T | None:
        try:
            if not cancel:  # bounds itself
                return await read
            return await asyncio.wait_for(read, self._settings.observability.probe_timeout_seconds)
        except (PyMongoError, RedisError, OSError, TimeoutError):
            return None

    async def _probe(
        self, check: Callable[[], Awaitable[tuple[Health, str]]], *, cancel: bool = True
    ) -> Probe:
        """Run a check within the probe timeout: by cancelling it, or (cancel=False) by a
        check that bounds itself (MongoDB's: see app.store.within)."""
        limits = self._settings.observability
        started = time.perf_counter()
        try:
            if cancel:
                status, detail = await asyncio.wait_for(check(), limits.probe_timeout_seconds)
            else:
                status, detail = await check()
        except TimeoutError:
            status, detail = "down", f"no answer in {limits.probe_timeout_seconds:g}s"
        except (PyMongoError, RedisError, httpx.HTTPError, OSError) as exc:
            status, detail = "down", type(exc).__name__
        seconds = time.perf_counter() - started
        if status == "ok" and seconds > limits.probe_slow_seconds:
            status, detail = "degraded", f"slow: {seconds:.2f}s"
        return Probe(status, round(seconds * 1000, 1), detail)

    async def _ping_mongo(self) -> tuple[Health, str]:
        limit = self._settings.observability.probe_timeout_seconds
        await within(limit, self._store.db.command("ping"))
        return "ok", "ping"

    async def _ping_redis(self) -> tuple[Health, str]:
        await self._redis.ping()
        return "ok", "ping"

    async def _ping_llm(self) -> tuple[Health, str]:
        llm = self._settings.llm
        key = llm.api_key.get_secret_value() if llm.api_key else ""
        response = await self._http.get(
            f"{llm.endpoint.rstrip('/')}/models", headers={"Authorization": f"Bearer {key}"}
        )
        return _http_health(response)

    async def _ping_search(self) -> tuple[Health, str]:
        search = self._settings.search
        if search.api_key is None:
            return "down", "TAVILY_API_KEY is not set"
        # Tavily has no free health route and searches cost credits: reachability is the probe.
        await self._http.get(search.base_url or "https://api.tavily.com")
        return "ok", "reachable"


def _http_health(response: httpx.Response) -> tuple[Health, str]:
    if response.status_code < 400:
        return "ok", f"HTTP {response.status_code}"
    if response.status_code >= 500 or response.status_code in {401, 403, 429}:
        return "degraded", f"HTTP {response.status_code}"
    return "ok", f"HTTP {response.status_code}"
