"""Test helpers: the running service handle and condition waits."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import pymongo

from app.embedded.processes import ManagedProcess
from app.embedded.topology import Topology

FINAL = {"completed", "failed", "cancelled"}


@dataclass
class Service:
    """A running service and handy clients for tests."""

    topology: Topology
    api_key: str
    other_api_key: str
    workers: list[ManagedProcess]
    mongo: pymongo.MongoClient[dict[str, Any]]

    @property
    def db(self) -> Any:
        return self.mongo["agent_orchestrator"]

    def client(self, api_key: str | None = None) -> httpx.Client:
        headers = {"X-API-Key": api_key or self.api_key}
        return httpx.Client(base_url=self.topology.api_url, headers=headers, timeout=10)

    def submit(self, http: httpx.Client, task: str, **extra: Any) -> dict[str, Any]:
        response = http.post("/v1/agent/execute", json={"task": task, **extra})
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait_final(self, http: httpx.Client, task_id: str, timeout: float = 30) -> dict[str, Any]:
        """Poll the task until it reaches a final status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body: dict[str, Any] = http.get(f"/v1/tasks/{task_id}").json()
            if body.get("status") in FINAL:
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
