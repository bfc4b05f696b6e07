"""A blocked event loop is seen and does not hold a Celery slot past the task's bound.

An agent that makes a blocking call (as a careless one would) stops the worker's event loop, and
with it every task on it. The watchdog thread, which does not run on that loop, must report the
worker stalled (heartbeat and metric), and the Celery thread waiting for the task must get its
slot back once the task's wait limit passes, while the loop is still blocked.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis
from prometheus_client import REGISTRY

from app.agents.base import AgentDeps, AgentOutput, AgentRequest
from app.agents.registry import AGENTS
from app.config import Settings
from app.dispatch.processing import Outcome
from app.dispatch.runtime import WorkerRuntime
from app.dispatch.workers import heartbeat_prefix
from app.domain.models import Task, TaskStatus
from app.store import open_store
from app.tasks import TaskLifecycle
from standins.topology import Topology
from tests.support import wait_until

BLOCK_SECONDS = 20.0
WORKER_ID = "blocked-loop-worker"
ENV = {
    "TASK_TIMEOUT_SECONDS": "3",
    "MONGO_OPERATION_TIMEOUT_MS": "1000",  # the wait limit: 3 s + 12 store calls of 1 s = 15 s
    "TASK_LEASE_SECONDS": "3",
    "WORKER_STALL_SECONDS": "1.5",
    "RECONCILE_INTERVAL_SECONDS": "3600",  # no pass reclaims the task during the test
    "WORKER_CONCURRENCY": "2",
}


class StallingAgent:
    name = "StallingAgent"
    description = "Holds the worker's event loop with a blocking call, as a careless agent would."

    def __init__(self, deps: AgentDeps):
        self._deps = deps

    async def run(self, request: AgentRequest) -> AgentOutput:
        time.sleep(BLOCK_SECONDS)  # noqa: ASYNC251 (the blocking call under test)
        return AgentOutput(summary="done", raw_output="done")


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    topology = Topology()
    try:
        topology.start_mongo()
        topology.start_redis()
        topology.start_openai(latency_ms=0)
        topology.start_tavily()
        for name in ("MONGO_URI", "REDIS_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
            monkeypatch.setenv(name, topology.env[name])
        for name in ("TAVILY_BASE_URL", "TAVILY_API_KEY"):
            monkeypatch.setenv(name, topology.env[name])
        monkeypatch.setenv("MONGO_DB_NAME", f"blocked_{uuid.uuid4().hex[:8]}")
        for name, value in ENV.items():
            monkeypatch.setenv(name, value)
        yield Settings()
    finally:
        topology.stop()


def heartbeat(beats: redis.Redis, settings: Settings) -> dict[str, Any]:
    raw = beats.get(heartbeat_prefix(settings.redis_namespace) + WORKER_ID)
    return json.loads(raw) if raw else {}


async def test_a_blocked_loop_is_reported_stalled_and_frees_its_slot(settings: Settings) -> None:
    assert settings.wait_limit_seconds < BLOCK_SECONDS, "the slot must come back mid-block"
    task = Task.submitted(
        str(uuid.uuid4()), "dev", "Stalling, please: take your time", "blocked-loop"
    )
    store = open_store(settings)
    await TaskLifecycle.of(store).create(task)
    beats = redis.Redis.from_url(settings.redis_url)
    runtime = WorkerRuntime(settings, WORKER_ID, agents=[*AGENTS, StallingAgent])
    runtime.start()
    stalled_seen: list[float] = []
    try:
        with ThreadPoolExecutor(1) as celery_thread:
            started = time.monotonic()
            held = celery_thread.submit(runtime.process, task.task_id)

            def reported_stalled() -> bool:
                if REGISTRY.get_sample_value("orchestrator_workers_stalled") == 1:
                    stalled_seen.append(time.monotonic() - started)
                beat = heartbeat(beats, settings)
                reason = str(beat.get("stalled_reason") or "")
                return beat.get("status") == "stalled" and "event loop" in reason

            await asyncio.to_thread(wait_until, reported_stalled, BLOCK_SECONDS, 0.1)
            outcome = await asyncio.wrap_future(held)
            freed_after = time.monotonic() - started
        # The slot came back at the wait limit, while the loop was still blocked.
        assert outcome is Outcome.HANDED_BACK
        assert freed_after < BLOCK_SECONDS, f"the slot was held {freed_after:.1f}s"
        assert stalled_seen, "orchestrator_workers_stalled never read 1"
        # Once the call returns, the loop answers again and the worker reports itself ok.
        await asyncio.to_thread(
            wait_until, lambda: heartbeat(beats, settings).get("status") == "ok", 30, 0.2
        )
        assert REGISTRY.get_sample_value("orchestrator_workers_stalled") == 0
        # Nothing is lost: the task is failed with a typed error or handed back for a reclaim.
        stored = await store.tasks.get(task.task_id)
        assert stored is not None
        if stored.status is TaskStatus.FAILED:
            assert stored.error is not None
            assert stored.error.type.isupper()
        else:
            assert stored.status is TaskStatus.PROCESSING
    finally:
        runtime.stop()
        beats.close()
        await store.close()
