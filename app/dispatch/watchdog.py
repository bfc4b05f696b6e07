"""A thread beside each worker's event loop: is the worker making progress, and who is it.

It measures how late the loop answers a callback and how long ago the store last answered a
command (PyMongo command monitoring), reports both in the worker's heartbeat in Redis and in
Prometheus, and marks the worker `stalled` when it holds tasks but the store has been silent,
or the loop blocked, for WORKER_STALL_SECONDS. Running in its own thread with its own Redis
client, it reports even when the event loop itself is stuck.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog
from redis import Redis as SyncRedis
from redis.exceptions import RedisError

from app.dispatch.workers import BEAT_SECONDS, announce, withdraw, write_heartbeat_file
from app.domain.models import utcnow
from app.observability.metrics import WORKER_LOOP_LAG, WORKER_SLOTS_BUSY, WORKERS_STALLED

log = structlog.get_logger(__name__)
TICK_SECONDS = 0.5


@dataclass(frozen=True)
class Health:
    status: str  # "ok" or "stalled"
    reason: str | None
    loop_lag_seconds: float
    store_idle_seconds: float


@dataclass(frozen=True)
class Gauges:
    """What the watchdog reads from the worker, each call cheap and thread-safe."""

    in_flight: Callable[[], int]
    slots_busy: Callable[[], int]
    store_last_answer: Callable[[], float]  # time.monotonic() of the last answered command


class Watchdog:
    """Watches one worker process; start() after its loop runs, stop() before it closes."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        gauges: Gauges,
        *,
        worker_id: str,
        concurrency: int,
        redis: SyncRedis,
        namespace: str,
        stall_seconds: float,
        heartbeat_file: Path | None = None,
    ) -> None:
        self._loop = loop
        self._gauges = gauges
        self._worker_id = worker_id
        self._concurrency = concurrency
        self._stall_seconds = stall_seconds
        self._redis = redis  # closed by stop()
        self._namespace = namespace
        self._heartbeat_file = heartbeat_file
        self._started_at = utcnow().isoformat()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
        self._probe_sent: float | None = None
        self._lag = 0.0
        self._stalled = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(RedisError, OSError):
            withdraw(self._redis, self._namespace, self._worker_id)
        self._redis.close()

    def health(self) -> Health:
        """The worker's health now."""
        now = time.monotonic()
        sent = self._probe_sent  # read once: the loop thread clears it when it answers
        lag = self._lag if sent is None else max(self._lag, now - sent)
        idle = now - self._gauges.store_last_answer()
        reason = None
        if lag > self._stall_seconds:
            reason = f"the event loop has not answered for {lag:.1f}s"
        elif self._gauges.in_flight() > 0 and idle > self._stall_seconds:
            reason = f"holding tasks, but MongoDB has answered nothing for {idle:.1f}s"
        return Health("stalled" if reason else "ok", reason, lag, idle)

    def _run(self) -> None:
        next_beat = 0.0
        while not self._stop.wait(TICK_SECONDS):
            try:
                self._probe_loop()
                health = self.health()
                self._observe(health)
                if time.monotonic() >= next_beat:
                    self._beat(health)
                    next_beat = time.monotonic() + BEAT_SECONDS
            except Exception:
                # A watchdog that dies would leave the worker looking healthy, or offline.
                log.exception("watchdog_tick_failed")

    def _probe_loop(self) -> None:
        if self._probe_sent is not None:
            return  # the last probe is still waiting: the loop is late by that much
        sent = time.monotonic()
        self._probe_sent = sent

        def answered() -> None:
            self._lag = time.monotonic() - sent
            self._probe_sent = None

        try:
            self._loop.call_soon_threadsafe(answered)
        except RuntimeError:  # the loop is closed: the worker is stopping
            self._probe_sent = None

    def _observe(self, health: Health) -> None:
        WORKER_LOOP_LAG.set(health.loop_lag_seconds)
        WORKER_SLOTS_BUSY.set(self._gauges.slots_busy())
        stalled = health.status == "stalled"
        WORKERS_STALLED.set(int(stalled))
        if stalled != self._stalled:
            self._stalled = stalled
            if stalled:
                log.error("worker_stalled", reason=health.reason)
            else:
                log.info("worker_progressing")

    def _beat(self, health: Health) -> None:
        info = {
            "worker_id": self._worker_id,
            "concurrency": self._concurrency,
            "in_flight": self._gauges.in_flight(),
            "slots_busy": self._gauges.slots_busy(),
            "status": health.status,
            "stalled_reason": health.reason,
            "loop_lag_ms": round(health.loop_lag_seconds * 1000, 1),
            "store_idle_seconds": round(health.store_idle_seconds, 1),
            "started_at": self._started_at,
            "seen_at": utcnow().isoformat(),
        }
        if self._heartbeat_file is not None:
            try:
                write_heartbeat_file(self._heartbeat_file, info)
            except OSError as exc:
                log.warning("worker_heartbeat_file_failed", error=str(exc))
        try:
            announce(self._redis, self._namespace, self._worker_id, info)
        except (RedisError, OSError) as exc:
            log.warning("worker_heartbeat_failed", error=str(exc))
