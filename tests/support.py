"""Test helpers: the running service handle and condition waits."""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pymongo

from app.domain.models import (
    Checkpoint,
    CheckpointKind,
    CheckpointStage,
    CheckpointStatus,
    Task,
    TaskStatus,
)
from standins.processes import ManagedProcess
from standins.topology import UNLIMITED_RATES, Topology

FINAL = {"completed", "failed", "cancelled"}


@dataclass
class Service:
    """A running service and handy clients for tests."""

    topology: Topology
    api_key: str
    other_api_key: str
    workers: list[ManagedProcess]
    mongo: pymongo.MongoClient[dict[str, Any]]
    admin_key: str = ""

    @property
    def db(self) -> Any:
        return self.mongo[self.topology.env.get("MONGO_DB_NAME", "agent_orchestrator")]

    @property
    def redis_namespace(self) -> str:
        """The prefix of the service's Redis keys, as Settings.redis_namespace reads it."""
        env = self.topology.env
        return env.get("REDIS_NAMESPACE") or env.get("MONGO_DB_NAME", "agent_orchestrator")

    def client(self, api_key: str | None = None) -> httpx.Client:
        headers = {"X-API-Key": api_key or self.api_key}
        return httpx.Client(base_url=self.topology.api_url, headers=headers, timeout=10)

    def submit(self, http: httpx.Client, task: str, **extra: Any) -> dict[str, Any]:
        response = http.post("/v1/agent/execute", json={"task": task, **extra})
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        return body

    def openai(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call the OpenAI stand-in's test control API (GET without body, POST with)."""
        url = self.topology.env["OPENAI_BASE_URL"].removesuffix("/v1") + path
        response = httpx.get(url) if body is None else httpx.post(url, json=body)
        response.raise_for_status()
        return response.json()

    def tavily(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call the Tavily stand-in's test control API."""
        url = self.topology.env["TAVILY_BASE_URL"] + path
        response = httpx.get(url) if body is None else httpx.post(url, json=body)
        response.raise_for_status()
        return response.json()

    def llm_requests_about(self, marker: str) -> list[dict[str, Any]]:
        """The chat-completion requests the stand-in received whose messages mention marker."""
        return [
            r
            for r in self.openai("/_standin/requests")
            if any(marker in str(m.get("content")) for m in r["messages"])
        ]

    def pending_checkpoint(self, task_id: str, timeout: float = 30) -> dict[str, Any]:
        """Wait until the task waits at a checkpoint; that checkpoint (there is exactly one)."""
        with self.client() as http:
            url = f"/v1/tasks/{task_id}"
            wait_until(
                lambda: http.get(url).json()["status"] == "awaiting_approval", timeout=timeout
            )
            [pending] = [
                c
                for c in http.get(f"/v1/tasks/{task_id}/checkpoints").json()["items"]
                if c["status"] == "pending"
            ]
            return dict(pending)

    def process(self, name: str) -> ManagedProcess:
        """The running process started under name (redis, mongo, api, worker1...)."""
        [found] = [p for p in self.topology.processes if p.name == name and not p.stopped]
        return found

    def worker_by_pid(self, pid: int) -> ManagedProcess:
        [found] = [w for w in self.workers if w.pid == pid]
        return found

    def replace_worker(self, dead: ManagedProcess, concurrency: int = 4) -> ManagedProcess:
        """Start a fresh worker in place of a dead one and wait until it consumes."""
        self.workers.remove(dead)
        fresh = self.topology.start_worker(f"{dead.name}r", concurrency=concurrency)
        self.topology.wait_worker_ready(fresh)
        self.workers.append(fresh)
        return fresh

    def restart_redis(self) -> ManagedProcess:
        """A fresh, empty redis-server on the same port (the old one must be dead)."""
        port = int(self.topology.env["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
        return self.topology.start_redis(port=port)

    def wait_final(self, http: httpx.Client, task_id: str, timeout: float = 30) -> dict[str, Any]:
        """Poll the task until it reaches a final status and its worker's last write is done.

        A completed task's worker stores the session's answer turn just after the status.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body: dict[str, Any] = http.get(f"/v1/tasks/{task_id}").json()
            settled = body.get("status") != "completed" or self.db.messages.find_one(
                {"task_id": task_id, "role": "assistant"}
            )
            if body.get("status") in FINAL and settled:
                return body
            time.sleep(0.05)
        raise AssertionError(f"task {task_id} not final after {timeout}s: {body}")


def wait_until(predicate: Any, timeout: float = 30, interval: float = 0.05) -> None:
    """Wait for a condition instead of sleeping a fixed time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met in {timeout}s")


# A MongoDB of the tester's (mongodb://...): the suite then runs on it instead of the stand-in,
# each service in a database of its own that is dropped afterwards.
TEST_MONGO_URI = os.environ.get("TEST_MONGO_URI") or None


@contextmanager
def running_service(
    env: dict[str, str] | None = None,
    workers: int = 2,
    concurrency: int = 4,
    *,
    own_mongo: bool = False,
) -> Iterator[Service]:
    """The whole service on real processes: stand-ins, redis-server, the API, Celery workers.

    MongoDB is TEST_MONGO_URI when set, unless `own_mongo`: a test that stops or kills its
    MongoDB gets a stand-in of its own whatever the setting (never the tester's server).
    """
    api_key = secrets.token_urlsafe(16)
    other_key = secrets.token_urlsafe(16)
    admin_key = secrets.token_urlsafe(16)
    keys = f"dev:{api_key},other:{other_key},ops:{admin_key}:admin"
    topology = Topology(
        env={"API_KEYS": keys, "LOG_LEVEL": "INFO", **(env or {})},
        api_key=api_key,
    )
    external = TEST_MONGO_URI is not None and not own_mongo
    try:
        if external:
            assert TEST_MONGO_URI is not None
            topology.env["MONGO_URI"] = TEST_MONGO_URI
            topology.env["MONGO_DB_NAME"] = f"orchestrator_test_{uuid.uuid4().hex[:12]}"
        else:
            topology.start_mongo()
        topology.start_redis()
        topology.start_openai(latency_ms=20)
        topology.start_tavily()
        topology.start_api()
        started = [
            topology.start_worker(f"worker{n}", concurrency=concurrency)
            for n in range(1, workers + 1)
        ]
        for worker in started:
            topology.wait_worker_ready(worker)
        mongo: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            topology.env["MONGO_URI"], tz_aware=True
        )
        try:
            yield Service(topology, api_key, other_key, started, mongo, admin_key)
        finally:
            if external:
                mongo.drop_database(topology.env["MONGO_DB_NAME"])
            mongo.close()
    finally:
        topology.stop()


def waiting_task(owner: str, n: int) -> tuple[dict[str, object], dict[str, object]]:
    """A task paused at a pending output checkpoint, and that checkpoint, as stored."""
    now = datetime.now(UTC)
    task_id, checkpoint_id = str(uuid.uuid4()), str(uuid.uuid4())
    task = Task(
        task_id=task_id,
        owner=owner,
        session_id=f"fuzz-waiting-{n}",
        task=f"Write a haiku about lanterns {n}",
        status=TaskStatus.AWAITING_APPROVAL,
        attempt=1,
        created_at=now,
        queued_at=now,
        started_at=now,
        updated_at=now,
        pending_checkpoint=checkpoint_id,
    )
    checkpoint = Checkpoint(
        checkpoint_id=checkpoint_id,
        task_id=task_id,
        owner=owner,
        attempt=1,
        kind=CheckpointKind.APPROVAL,
        stage=CheckpointStage.OUTPUT,
        reason="fuzz",
        payload={"stage": "output", "draft": {"summary": "s", "raw_output": "r"}},
        status=CheckpointStatus.PENDING,
        created_at=now,
        deadline=now + timedelta(days=1),
    )
    events = [{"kind": "status", "data": {"status": "queued", "attempt": 1}, "at": now}]
    task_doc = task.model_dump(by_alias=True, mode="python") | {"events": events}
    return task_doc, checkpoint.model_dump(by_alias=True, mode="python")


def point_at_service(
    env: Any, service: Service, *, db_name: str, redis_db: int, api_keys: str
) -> None:
    """Environment for an in-process API (`create_app(Settings())`) over the service's stores:
    a database of its own, a Redis database no worker reads (its submissions stay queued), the
    given keys, and the service's stand-ins for the dependency probes (not the internet)."""
    env.setenv("MONGO_URI", service.topology.env["MONGO_URI"])
    env.setenv("MONGO_DB_NAME", db_name)
    env.setenv("REDIS_URL", service.topology.env["REDIS_URL"].rsplit("/", 1)[0] + f"/{redis_db}")
    env.setenv("API_KEYS", api_keys)
    for name in (
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
        "TAVILY_BASE_URL",
        "TAVILY_API_KEY",
        *UNLIMITED_RATES,
    ):
        env.setenv(name, service.topology.env[name])
