"""Nothing lost, nothing done twice: workers killed, Redis lost, MongoDB down, cancel, retry."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import redis

from standins.processes import ManagedProcess
from tests.support import Service, running_service, wait_until

RECOVERY = {
    "TASK_LEASE_SECONDS": "2",
    "RECONCILE_INTERVAL_SECONDS": "0.5",
    "DISPATCH_STALE_SECONDS": "2",
    "TASK_MAX_ATTEMPTS": "3",
    "MONGO_TIMEOUT_MS": "1000",
    "TASK_TIMEOUT_SECONDS": "6",
}


@pytest.fixture(scope="module")
def shared() -> Iterator[Service]:
    with running_service(env=RECOVERY, workers=2, concurrency=4) as running:
        yield running


@pytest.fixture
def svc(shared: Service) -> Iterator[Service]:
    """The module's service, for a test that leaves its processes as it found them (checked
    after the test); the stand-ins' faults and request logs are reset around each test."""
    before = [worker.pid for worker in shared.workers]
    shared.openai("/_standin/reset", {})
    shared.tavily("/_standin/reset", {})
    yield shared
    shared.openai("/_standin/reset", {})
    shared.tavily("/_standin/reset", {})
    assert [worker.pid for worker in shared.workers] == before, "the test replaced a worker"
    assert all(worker.popen.poll() is None for worker in shared.workers), "a worker died"


@pytest.fixture
def fresh() -> Iterator[Service]:
    """A service of the test's own, for a test that kills, stops or replaces its workers or its
    Redis: what it leaves behind reaches no other test."""
    with running_service(env=RECOVERY, workers=2, concurrency=4) as running:
        yield running


def _text(kind: str = "content") -> str:
    nonce = uuid.uuid4().hex[:8]
    if kind == "code":
        return f"Write a Python function that merges two sorted lists {nonce}"
    return f"Write a blog post about battery storage trends {nonce}"


def _status(http: httpx.Client, task_id: str) -> dict[str, Any]:
    body: dict[str, Any] = http.get(f"/v1/tasks/{task_id}").json()
    return body


def _worker_pid(svc: Service, task_id: str) -> int:
    doc = svc.db.tasks.find_one({"_id": task_id})
    return int(doc["worker_id"].rsplit(":", 1)[1])


def _worker_of(svc: Service, task_id: str) -> ManagedProcess:
    """The worker process that holds the task."""
    return svc.worker_by_pid(_worker_pid(svc, task_id))


def _llm_call_held(svc: Service, text: str) -> bool:
    """The stand-in is holding an LLM call about text (no answer yet)."""
    return any(r["status"] is None for r in svc.llm_requests_about(text))


def _completed_runs(svc: Service, task_id: str) -> list[tuple[str, int]]:
    runs = svc.db.agent_runs.find({"task_id": task_id, "status": "completed"})
    return sorted((r["agent_name"], r["attempt"]) for r in runs)


def test_killed_worker_mid_task_completes_on_another_worker_10_of_10(fresh: Service) -> None:
    outcomes = []
    with fresh.client() as http:
        for round_ in range(10):
            kind = "code" if round_ % 2 else "content"
            # The LLM stand-in holds the router's call, so the worker dies mid-task.
            fresh.openai("/_standin/faults", {"delay_ms": 5000, "count": 1})
            text = _text(kind)
            task_id = fresh.submit(http, text)["task_id"]
            wait_until(lambda t=text: _llm_call_held(fresh, t), timeout=15)
            victim = _worker_of(fresh, task_id)
            victim.kill()
            task = fresh.wait_final(http, task_id, timeout=30)
            agent = "CodeAgent" if kind == "code" else "ContentAgent"
            outcomes.append(
                (
                    task["status"],
                    task["attempt"],
                    _worker_pid(fresh, task_id) != victim.pid,
                    _completed_runs(fresh, task_id),
                    fresh.db.agent_runs.count_documents(
                        {"task_id": task_id, "attempt": 1, "status": "abandoned"}
                    ),
                    fresh.db.messages.count_documents({"task_id": task_id, "role": "assistant"}),
                )
            )
            assert outcomes[-1] == (
                "completed",
                2,
                True,
                sorted([("PeerAgent", 2), (agent, 2)]),
                1,
                1,
            ), f"round {round_}: {outcomes[-1]}"
            fresh.replace_worker(victim)
    assert len(outcomes) == 10


def _kill_holder_then_wait(svc: Service, http: httpx.Client, task_id: str) -> dict[str, Any]:
    """kill -9 the worker holding the task, wait for the task to end, start a new worker."""
    victim = _worker_of(svc, task_id)
    victim.kill()
    task = svc.wait_final(http, task_id, timeout=30)
    svc.replace_worker(victim)
    return task


def _agent_requests(svc: Service, text: str) -> list[dict[str, Any]]:
    """The agent's LLM requests for a task (free text: no response_format, unlike the router's)."""
    return [r for r in svc.llm_requests_about(text) if r["response_format"] is None]


def _router_requests(svc: Service, text: str) -> int:
    """Router calls the LLM stand-in received for a task (structured output: the router's)."""
    return sum(1 for r in svc.llm_requests_about(text) if r["response_format"] is not None)


def test_worker_killed_after_routing_resumes_at_the_agent_without_asking_the_router_again(
    fresh: Service,
) -> None:
    with fresh.client() as http:
        # The search is held, so the worker dies inside the ContentAgent step.
        fresh.tavily("/_standin/faults", {"delay_ms": 5000, "count": 1})
        text = _text()
        task_id = fresh.submit(http, text)["task_id"]
        running = {"task_id": task_id, "agent_name": "ContentAgent", "status": "running"}
        wait_until(lambda: fresh.db.agent_runs.find_one(running), timeout=15)
        task = _kill_holder_then_wait(fresh, http, task_id)
    assert (task["status"], task["attempt"]) == ("completed", 2), task
    assert _completed_runs(fresh, task_id) == [("ContentAgent", 2), ("PeerAgent", 1)]
    abandoned = fresh.db.agent_runs.find({"task_id": task_id, "status": "abandoned"})
    assert [(r["agent_name"], r["attempt"]) for r in abandoned] == [("ContentAgent", 1)]
    assert _router_requests(fresh, text) == 1, "the router's answer was kept, not asked again"
    assert len(_agent_requests(fresh, text)) == 1, (
        "killed in the search: the agent's LLM call ran once"
    )
    assert task["routing"]["agent_name"] == "ContentAgent"
    assert task["usage"]["input_tokens"] > 0


def _in_the_agent_step(svc: Service, http: httpx.Client, fault: dict[str, Any]) -> tuple[str, str]:
    """Submit a ContentAgent task and queue `fault` for its agent's LLM call (the search is held
    until then); the task's text and id."""
    svc.tavily("/_standin/faults", {"delay_ms": 1500, "count": 1})
    text = _text()
    task_id = svc.submit(http, text)["task_id"]
    running = {"task_id": task_id, "agent_name": "ContentAgent", "status": "running"}
    wait_until(lambda: svc.db.agent_runs.find_one(running), timeout=15)
    svc.openai("/_standin/faults", fault)
    return text, task_id


def test_worker_killed_in_the_agents_llm_call_redoes_only_the_agent_step(fresh: Service) -> None:
    with fresh.client() as http:
        text, task_id = _in_the_agent_step(fresh, http, {"delay_ms": 5000, "count": 1})

        def agent_call_held() -> bool:
            return any(r["status"] is None for r in _agent_requests(fresh, text))

        wait_until(agent_call_held, timeout=15)
        task = _kill_holder_then_wait(fresh, http, task_id)
    assert (task["status"], task["attempt"]) == ("completed", 2), task
    assert _completed_runs(fresh, task_id) == [("ContentAgent", 2), ("PeerAgent", 1)]
    # The request log is the one signal of work done twice: the router once, the agent twice.
    assert _router_requests(fresh, text) == 1
    assert len(_agent_requests(fresh, text)) == 2


def test_worker_killed_during_routing_routes_again_and_abandons_the_first_run(
    fresh: Service,
) -> None:
    with fresh.client() as http:
        fresh.openai("/_standin/faults", {"delay_ms": 5000, "count": 1})
        text = _text()
        task_id = fresh.submit(http, text)["task_id"]
        wait_until(lambda: _llm_call_held(fresh, text), timeout=15)
        task = _kill_holder_then_wait(fresh, http, task_id)
    assert (task["status"], task["attempt"]) == ("completed", 2), task
    assert _completed_runs(fresh, task_id) == [("ContentAgent", 2), ("PeerAgent", 2)]
    abandoned = fresh.db.agent_runs.find({"task_id": task_id, "status": "abandoned"})
    assert [(r["agent_name"], r["attempt"]) for r in abandoned] == [("PeerAgent", 1)]
    assert _router_requests(fresh, text) == 2


def test_cancel_while_processing_stops_at_the_next_step(svc: Service) -> None:
    svc.openai("/_standin/faults", {"delay_ms": 8000, "count": 1})
    with svc.client() as http:
        text = _text()
        task_id = svc.submit(http, text)["task_id"]
        wait_until(lambda: _llm_call_held(svc, text), timeout=15)
        asked = time.monotonic()
        first = http.post(f"/v1/tasks/{task_id}/cancel")
        second = http.post(f"/v1/tasks/{task_id}/cancel")
        task = svc.wait_final(http, task_id, timeout=15)
        stopped_after = time.monotonic() - asked
        again = http.post(f"/v1/tasks/{task_id}/cancel")
    assert first.status_code == 202
    assert first.json()["cancel_requested"] is True
    assert second.status_code in {200, 202}
    assert task["status"] == "cancelled"
    assert task["error"]["type"] == "CANCELLED"
    assert stopped_after < 5, "stopped while the LLM call was still held, not after the graph"
    runs = list(svc.db.agent_runs.find({"task_id": task_id}))
    assert [(r["agent_name"], r["status"]) for r in runs] == [("PeerAgent", "cancelled")]
    assert again.status_code == 200
    assert again.json()["status"] == "cancelled"


def test_cancel_a_finished_task_is_a_conflict(svc: Service) -> None:
    with svc.client() as http:
        task = svc.wait_final(http, svc.submit(http, _text("code"))["task_id"])
        response = http.post(f"/v1/tasks/{task['task_id']}/cancel")
    assert task["status"] == "completed"
    assert response.status_code == 409
    assert response.json()["error"] == "INVALID_TRANSITION"


def test_retry_after_failure_is_a_new_attempt_with_history(svc: Service) -> None:
    svc.openai("/_standin/faults", {"status": 401, "count": 1})
    with svc.client() as http:
        task_id = svc.submit(http, _text("code"))["task_id"]
        failed = svc.wait_final(http, task_id)
        retried = http.post(f"/v1/tasks/{task_id}/retry")
        task = svc.wait_final(http, task_id)
        runs = http.get(f"/v1/tasks/{task_id}/runs").json()["runs"]
        not_again = http.post(f"/v1/tasks/{task_id}/retry")
    assert (failed["status"], failed["error"]["type"]) == ("failed", "LLM_AUTH_ERROR")
    assert retried.status_code == 202
    assert retried.json()["status"] == "queued"
    assert task["status"] == "completed"
    assert task["attempt"] == 2
    assert [(h["attempt"], h["status"], h["error"]["type"]) for h in task["history"]] == [
        (1, "failed", "LLM_AUTH_ERROR")
    ]
    assert [(r["attempt"], r["agent_name"], r["status"]) for r in runs] == [
        (1, "PeerAgent", "failed"),
        (2, "PeerAgent", "completed"),
        (2, "CodeAgent", "completed"),
    ]
    assert not_again.status_code == 409


def test_a_retry_lost_while_routing_asks_the_router_again(fresh: Service) -> None:
    with fresh.client() as http:
        # Attempt 1 routes, then fails in the agent's call.
        text, task_id = _in_the_agent_step(fresh, http, {"status": 401, "count": 1})
        failed = fresh.wait_final(http, task_id)
        # The retry's router call is held, and its worker dies in it.
        fresh.openai("/_standin/faults", {"delay_ms": 5000, "count": 1})
        assert http.post(f"/v1/tasks/{task_id}/retry").status_code == 202
        wait_until(lambda: _router_requests(fresh, text) == 2, timeout=15)
        wait_until(lambda: _llm_call_held(fresh, text), timeout=15)
        task = _kill_holder_then_wait(fresh, http, task_id)
    assert (failed["status"], failed["error"]["type"]) == ("failed", "LLM_AUTH_ERROR")
    assert (task["status"], task["attempt"]) == ("completed", 3), task
    # A retry starts afresh: the attempt after the lost one asks the router, as the lost one did,
    # rather than routing on the decision of the attempt that failed.
    assert _router_requests(fresh, text) == 3
    assert _completed_runs(fresh, task_id) == [
        ("ContentAgent", 3),
        ("PeerAgent", 1),
        ("PeerAgent", 3),
    ]


def test_a_run_past_the_task_timeout_fails_with_timeout(svc: Service) -> None:
    svc.openai("/_standin/faults", {"delay_ms": 9000, "count": 1})
    with svc.client() as http:
        task = svc.wait_final(http, svc.submit(http, _text())["task_id"], timeout=20)
    assert task["status"] == "failed"
    assert task["error"]["type"] == "TIMEOUT"
    assert "6s" in task["error"]["message"]


def test_a_task_whose_worker_keeps_dying_fails_after_max_attempts(fresh: Service) -> None:
    fresh.openai("/_standin/faults", {"delay_ms": 8000, "count": 3})
    text = _text()
    with fresh.client() as http:
        task_id = fresh.submit(http, text)["task_id"]
        for attempt in (1, 2, 3):
            wait_until(
                lambda a=attempt: (
                    _status(http, task_id)["attempt"] == a
                    and _llm_call_held(fresh, text)
                    and len(fresh.llm_requests_about(text)) == a
                ),
                timeout=20,
            )
            victim = _worker_of(fresh, task_id)
            victim.kill()
            fresh.replace_worker(victim)
        task = fresh.wait_final(http, task_id, timeout=20)
    assert task["status"] == "failed"
    assert task["error"]["type"] == "MAX_ATTEMPTS_EXCEEDED"
    assert (task["attempt"], task["reclaims"]) == (3, 3)
    abandoned = fresh.db.agent_runs.count_documents({"task_id": task_id, "status": "abandoned"})
    assert abandoned == 3


def test_sigterm_lets_the_running_task_finish(fresh: Service) -> None:
    fresh.openai("/_standin/faults", {"delay_ms": 2000, "count": 1})
    text = _text("code")
    with fresh.client() as http:
        task_id = fresh.submit(http, text)["task_id"]
        wait_until(lambda: _llm_call_held(fresh, text), timeout=15)
        worker = _worker_of(fresh, task_id)
        worker.stop(timeout=30)  # SIGTERM: warm shutdown
        task = fresh.wait_final(http, task_id, timeout=30)
        fresh.replace_worker(worker)
    assert worker.popen.returncode == 0
    assert task["status"] == "completed"
    assert task["attempt"] == 1, "finished by the worker that was stopping"
    assert _worker_pid(fresh, task_id) == worker.pid


def test_queued_tasks_survive_losing_redis_and_cancel_while_queued(fresh: Service) -> None:
    for worker in list(fresh.workers):
        worker.stop()
    with fresh.client() as http:
        with ThreadPoolExecutor(max_workers=10) as pool:
            accepted = list(pool.map(lambda n: fresh.submit(http, _text()), range(50)))
        ids = [a["task_id"] for a in accepted]
        queue = redis.Redis.from_url(fresh.topology.env["REDIS_URL"])
        assert queue.llen("agent_tasks") == 50
        queue.close()
        cancelled = http.post(f"/v1/tasks/{ids[-1]}/cancel")
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "cancelled"

        fresh.process("redis").kill()  # no persistence: every queued message is gone
        fresh.restart_redis()
        for worker in list(fresh.workers):
            fresh.replace_worker(worker)
        finals = [fresh.wait_final(http, task_id, timeout=60) for task_id in ids]
    assert [t["status"] for t in finals[:-1]] == ["completed"] * 49
    assert finals[-1]["status"] == "cancelled"
    assert all(t["attempt"] == 1 for t in finals[:-1])
    assert all(len(_completed_runs(fresh, t["task_id"])) == 2 for t in finals[:-1])
    assert fresh.db.agent_runs.count_documents({"task_id": ids[-1]}) == 0


def test_submit_while_redis_is_down_completes_after_it_returns(fresh: Service) -> None:
    fresh.process("redis").kill()
    with fresh.client() as http:
        started = time.monotonic()
        accepted = fresh.submit(http, _text("code"))
        took = time.monotonic() - started
        assert accepted["message"].startswith("Task accepted; dispatch")
        assert _status(http, accepted["task_id"])["status"] == "queued"
        fresh.restart_redis()
        task = fresh.wait_final(http, accepted["task_id"], timeout=60)
    assert took < 10
    assert task["status"] == "completed"


def test_mongo_down_answers_503_and_enqueues_nothing() -> None:
    """A service of its own: the MongoDB stand-in is in memory and does not come back. No
    worker runs, so the queue holds whatever was published."""
    with running_service(env=RECOVERY, workers=0, own_mongo=True) as svc:
        _mongo_down_answers_503(svc)


def _mongo_down_answers_503(svc: Service) -> None:
    queue = redis.Redis.from_url(svc.topology.env["REDIS_URL"])
    svc.process("mongo").kill()
    with svc.client() as http:
        # The store's answer is bounded by MONGO_OPERATION_TIMEOUT_MS (30 s: PyMongo retries the
        # write while time remains), not by a client's patience: usually 1-2 s, longer when the
        # machine is busy; the test waits for the bound, then checks what was answered.
        response = http.post("/v1/agent/execute", json={"task": _text()}, timeout=45)
        ready = http.get("/ready")
    assert response.status_code == 503
    assert response.json()["error"] == "STORE_UNAVAILABLE"
    assert ready.status_code == 503
    assert ready.json()["checks"]["mongo"] == "down"
    assert queue.llen("agent_tasks") == 0
    queue.close()
