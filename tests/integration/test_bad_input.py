"""Bad input gets a clear 4xx, and nothing is stored or enqueued."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from app.config import Settings
from app.dispatch.background import GRACE_SECONDS
from app.main import create_app
from standins.processes import free_port
from tests.support import Service

KEY = "isolated-key-0001"


@dataclass
class Isolated:
    """An API process of its own: its own database, and a queue no worker consumes."""

    http: TestClient
    db: Any
    queue: redis.Redis

    def stored(self) -> int:
        return int(self.db.tasks.count_documents({}))

    def enqueued(self) -> int:
        return int(self.queue.llen("agent_tasks"))

    def kept(self) -> tuple[int, int]:
        """Documents in any collection of the database (tasks, counters, keys...) and queued
        messages: what a refused request must leave at (0, 0)."""
        documents = sum(
            self.db[name].count_documents({}) for name in self.db.list_collection_names()
        )
        return documents, self.enqueued()


@pytest.fixture
def isolated(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[Isolated]:
    db_name = f"isolated_{uuid.uuid4().hex[:8]}"
    redis_url = service.topology.env["REDIS_URL"].rsplit("/", 1)[0] + "/7"
    monkeypatch.setenv("MONGO_URI", service.topology.env["MONGO_URI"])
    monkeypatch.setenv("MONGO_DB_NAME", db_name)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("API_KEYS", f"tester:{KEY}")
    monkeypatch.setenv("QUEUE_SAMPLE_SECONDS", "3600")  # its sample is no request's doing
    queue = redis.Redis.from_url(redis_url)
    queue.delete("agent_tasks")
    with TestClient(create_app(Settings()), headers={"X-API-Key": KEY}) as http:
        yield Isolated(http, service.mongo[db_name], queue)
    queue.close()


BAD_BODIES: list[tuple[str, Any, str]] = [
    ("empty task", {"task": ""}, "task must not be empty"),
    ("whitespace task", {"task": " \n\t "}, "task must not be empty"),
    ("task over 8000 characters", {"task": "x" * 8001}, "at most 8000 characters"),
    ("missing task", {}, "Field required"),
    ("task not a string", {"task": 123}, "valid string"),
    ("task null", {"task": None}, "valid string"),
    ("session_id not a string", {"task": "hello", "session_id": 5}, "valid string"),
    ("session_id malformed", {"task": "hello", "session_id": "a b/c"}, "match pattern"),
    ("unknown field", {"task": "hello", "priority": 1}, "Extra inputs are not permitted"),
    ("body is a list", ["task"], "valid dictionary"),
]


@pytest.mark.parametrize(("case", "body", "message"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_bodies_get_422_and_store_nothing(
    isolated: Isolated, case: str, body: Any, message: str
) -> None:
    response = isolated.http.post("/v1/agent/execute", json=body)
    assert response.status_code == 422, case
    assert message in response.text
    assert isolated.kept() == (0, 0)


def test_body_that_is_not_json_gets_422(isolated: Isolated) -> None:
    response = isolated.http.post(
        "/v1/agent/execute", content=b"task=hello", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "JSON decode error" in response.text
    assert isolated.kept() == (0, 0)


def test_malformed_idempotency_key_gets_422(isolated: Isolated) -> None:
    headers = {"Idempotency-Key": "has spaces in it"}
    response = isolated.http.post("/v1/agent/execute", json={"task": "hello"}, headers=headers)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.text
    assert isolated.kept() == (0, 0)


def test_oversized_body_gets_413(isolated: Isolated) -> None:
    response = isolated.http.post("/v1/agent/execute", json={"task": "x" * 100_000})
    assert response.status_code == 413
    assert response.json()["error"] == "PAYLOAD_TOO_LARGE"
    assert response.json()["request_id"]
    assert isolated.kept() == (0, 0)


@pytest.mark.parametrize(
    ("headers", "detail"),
    [({}, "Missing X-API-Key header."), ({"X-API-Key": "wrong-key-123"}, "Invalid API key.")],
    ids=["missing key", "wrong key"],
)
def test_missing_or_wrong_api_key_gets_401(
    isolated: Isolated, headers: dict[str, str], detail: str
) -> None:
    isolated.http.headers.pop("X-API-Key")
    for method, path in [
        ("POST", "/v1/agent/execute"),
        ("GET", "/v1/tasks"),
        ("GET", f"/v1/tasks/{uuid.uuid4()}"),
    ]:
        response = isolated.http.request(
            method, path, json={"task": "Write a poem"}, headers=headers
        )
        assert response.status_code == 401, path
        body = response.json()
        assert body["error"] == "UNAUTHORIZED"
        assert body["detail"] == detail
        assert body["request_id"] == response.headers["X-Request-ID"]
    assert isolated.kept() == (0, 0)


def test_malformed_task_id_gets_422(isolated: Isolated) -> None:
    response = isolated.http.get("/v1/tasks/not-a-task-id")
    assert response.status_code == 422
    assert "valid UUID" in response.text
    assert isolated.kept() == (0, 0)


def test_unknown_task_id_gets_404(isolated: Isolated) -> None:
    task_id = str(uuid.uuid4())
    response = isolated.http.get(f"/v1/tasks/{task_id}")
    assert response.status_code == 404
    assert response.json()["error"] == "TASK_NOT_FOUND"
    assert task_id in response.json()["detail"]
    assert isolated.kept() == (0, 0)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("limit=0", 422),
        ("limit=101", 422),
        ("status=bogus", 422),
        ("created_from=yesterday", 422),
        ("cursor=not-a-cursor", 400),
        ("agent_type=code", 422),
    ],
)
def test_bad_list_queries_get_4xx(isolated: Isolated, query: str, status: int) -> None:
    response = isolated.http.get(f"/v1/tasks?{query}")
    assert response.status_code == status
    if status == 400:
        assert response.json()["error"] == "INVALID_CURSOR"
    assert isolated.kept() == (0, 0)


@pytest.mark.parametrize(
    ("headers", "query"),
    [({"Last-Event-ID": str(2**64)}, ""), ({}, f"?after={2**63}")],
    ids=["Last-Event-ID past 64 bits", "after past 64 bits"],
)
def test_an_event_id_past_64_bits_gets_422(
    isolated: Isolated, headers: dict[str, str], query: str
) -> None:
    """Found by the seeded fuzzing of the stream: MongoDB could not encode it (a 500)."""
    response = isolated.http.get(f"/v1/tasks/{uuid.uuid4()}/events{query}", headers=headers)
    assert response.status_code == 422
    assert isolated.kept() == (0, 0)


def test_unknown_route_uses_the_error_shape(isolated: Isolated) -> None:
    response = isolated.http.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "NOT_FOUND"
    assert isolated.kept() == (0, 0)


def test_valid_submit_is_stored_and_enqueued_once(isolated: Isolated) -> None:
    """The control for the tests above: a good request does store and enqueue."""
    response = isolated.http.post("/v1/agent/execute", json={"task": "  Write a haiku  "})
    assert response.status_code == 202
    assert (isolated.stored(), isolated.enqueued()) == (1, 1)
    stored = isolated.db.tasks.find_one({"_id": response.json()["task_id"]})
    assert stored["task"] == "Write a haiku"
    assert stored["owner"] == "tester"
    assert stored["status"] == "queued"


@pytest.mark.parametrize("down", ["mongo", "redis", "search"])
def test_ready_names_the_dependency_that_is_down(
    service: Service, monkeypatch: pytest.MonkeyPatch, down: str
) -> None:
    dead = f"127.0.0.1:{free_port()}"
    mongo = f"mongodb://{dead}/" if down == "mongo" else service.topology.env["MONGO_URI"]
    redis_url = f"redis://{dead}/0" if down == "redis" else service.topology.env["REDIS_URL"]
    monkeypatch.setenv("MONGO_URI", mongo)
    monkeypatch.setenv("MONGO_TIMEOUT_MS", "300")
    monkeypatch.setenv("REDIS_URL", redis_url)
    if down == "search":
        monkeypatch.delenv("TAVILY_API_KEY", raising=False)
    else:
        monkeypatch.setenv("TAVILY_API_KEY", "tvly-configured")
    with TestClient(create_app(Settings())) as http:
        response = http.get("/ready")
        assert http.get("/health").status_code == 200
        stopping = time.monotonic()
    # A shutdown does not wait out the store call the index job is in (MongoDB down: it would
    # retry for MONGO_OPERATION_TIMEOUT_MS, 30 s): its jobs end at once, bounded by their grace.
    assert time.monotonic() - stopping < 3 * GRACE_SECONDS
    assert response.status_code == 503
    body = response.json()
    state = "unconfigured" if down == "search" else "down"
    assert body["error"] == "NOT_READY"
    assert body["detail"] == f"Not ready: {down} {state}."
    assert body["checks"][down] == state
    assert [state for name, state in body["checks"].items() if name != down] == ["ok", "ok"]


def test_cors_lets_only_the_configured_origins_call(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MONGO_URI", "REDIS_URL"):
        monkeypatch.setenv(name, service.topology.env[name])
    monkeypatch.setenv("CORS_ORIGINS", "https://dashboard.example, https://ops.example")
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key",
    }
    with TestClient(create_app(Settings())) as http:
        allowed = http.options(
            "/v1/agent/execute", headers={"Origin": "https://ops.example", **preflight}
        )
        refused = http.options(
            "/v1/agent/execute", headers={"Origin": "https://evil.example", **preflight}
        )
        simple = http.get("/health", headers={"Origin": "https://dashboard.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://ops.example"
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    assert simple.headers["access-control-allow-origin"] == "https://dashboard.example"
