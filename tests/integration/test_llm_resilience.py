"""LLM and search failures over the real stand-ins: retries, typed errors, repair, breaker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import Service, running_service, wait_until

POLICY = {
    "LLM_MAX_ATTEMPTS": "3",
    "LLM_RETRY_INITIAL_SECONDS": "0.05",
    "LLM_RETRY_MAX_WAIT_SECONDS": "0.2",
    "LLM_RETRY_BUDGET_SECONDS": "5",
    "LLM_BREAKER_FAILURES": "4",
    "LLM_BREAKER_RESET_SECONDS": "1",
    "LLM_DEFER_SECONDS": "0.25",
    "LLM_DEFER_MAX": "4",
    "ROUTER_MIN_CONFIDENCE": "0.8",
}
# Retries and deferrals bound a task's life: 5 claims x the retry budget + the deferral waits.
WORST_CASE_SECONDS = 5 * 5 + (0.25 + 0.5 + 1 + 2)


@pytest.fixture(scope="module")
def svc() -> Iterator[Service]:
    """One worker process, so the circuit breaker (per process) is deterministic."""
    with running_service(env=POLICY, workers=1, concurrency=2) as running:
        yield running


@pytest.fixture
def own_breaker() -> Iterator[Service]:
    """A service of its own for a test that opens the circuit: the breaker's state lives in
    the worker process and must not reach the tests after it."""
    with running_service(env=POLICY, workers=1, concurrency=2) as running:
        yield running


@pytest.fixture(autouse=True)
def clean_standins(svc: Service) -> Iterator[None]:
    svc.openai("/_standin/reset", {})
    svc.tavily("/_standin/reset", {})
    yield
    svc.openai("/_standin/reset", {})
    svc.tavily("/_standin/reset", {})


def _run(svc: Service, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    with svc.client() as http:
        task_id = svc.submit(http, text)["task_id"]
        task = svc.wait_final(http, task_id, timeout=60)
        runs = http.get(f"/v1/tasks/{task_id}/runs").json()
    return task, runs


def _content_task() -> str:
    return f"Write a blog post about solar panel trends {uuid.uuid4().hex[:6]}"


def _llm_calls(svc: Service, outcome: str) -> float:
    """LLM call attempts so far (every process) that ended with `outcome`."""
    text = httpx.get(f"{svc.topology.api_url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "orchestrator_llm_requests"
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels["outcome"] == outcome
    )


def _router_run(runs: dict[str, Any]) -> dict[str, Any]:
    [router] = [r for r in runs["runs"] if r["agent_name"] == "PeerAgent"]
    return router


def test_two_429s_then_success_records_two_retries(svc: Service) -> None:
    svc.openai("/_standin/faults", {"status": 429, "count": 2})
    task, runs = _run(svc, _content_task())
    assert task["status"] == "completed", task
    router = _router_run(runs)
    assert router["llm_retries"] == 2
    calls = [e for e in router["tool_executions"] if e["tool"] == "llm"]
    assert [c["status"] for c in calls] == ["error", "error", "ok"]
    # A failed call is recorded with the task error it is, not as a crash.
    assert [(c["error"] or {}).get("type") for c in calls] == [
        "LLM_RATE_LIMITED",
        "LLM_RATE_LIMITED",
        None,
    ]
    assert [c["input"]["attempt"] for c in calls] == [1, 2, 3]
    assert all(c["duration_ms"] >= 0 for c in calls)


def test_auth_error_fails_at_once_without_retry(svc: Service) -> None:
    svc.openai("/_standin/faults", {"status": 401, "count": 1})
    text = _content_task()
    task, runs = _run(svc, text)
    assert task["status"] == "failed"
    assert task["error"]["type"] == "LLM_AUTH_ERROR"
    assert task["deferrals"] == 0
    assert len(svc.llm_requests_about(text)) == 1
    assert _router_run(runs)["llm_retries"] == 0


def test_malformed_router_output_is_repaired_once(svc: Service) -> None:
    svc.openai("/_standin/faults", {"malformed": True, "count": 1})
    task, runs = _run(svc, _content_task())
    assert task["status"] == "completed", task
    assert task["selected_agent"] == "ContentAgent"
    router = _router_run(runs)
    assert router["output"]["repaired"] is True
    assert len([e for e in router["tool_executions"] if e["tool"] == "llm"]) == 2


def test_malformed_router_output_twice_fails_with_router_invalid_output(svc: Service) -> None:
    svc.openai("/_standin/faults", {"malformed": True, "count": 2})
    task, _ = _run(svc, _content_task())
    assert task["status"] == "failed"
    assert task["error"]["type"] == "ROUTER_INVALID_OUTPUT"


def test_low_confidence_fails_with_unknown_task_type(svc: Service) -> None:
    svc.openai("/_standin/confidence", {"value": 0.42, "count": 1})
    task, _ = _run(svc, "Explain photosynthesis")
    assert task["status"] == "failed"
    assert task["error"]["type"] == "UNKNOWN_TASK_TYPE"
    assert task["routing"]["confidence"] == 0.42
    assert "below 0.80" in task["error"]["message"]


def test_unknown_fails_with_unknown_task_type(svc: Service) -> None:
    task, _ = _run(svc, "qwzx plorb")
    assert (task["status"], task["error"]["type"]) == ("failed", "UNKNOWN_TASK_TYPE")
    assert task["routing"]["agent_name"] == "Unknown"


@pytest.mark.parametrize(
    ("status", "code"),
    [(429, "SEARCH_RATE_LIMITED"), (401, "SEARCH_AUTH_ERROR"), (503, "SEARCH_UNAVAILABLE")],
)
def test_search_failures_are_typed(svc: Service, status: int, code: str) -> None:
    svc.tavily("/_standin/faults", {"status": status, "count": 1})
    task, runs = _run(svc, _content_task())
    assert (task["status"], task["error"]["type"]) == ("failed", code)
    [content] = [r for r in runs["runs"] if r["agent_name"] == "ContentAgent"]
    [search] = [e for e in content["tool_executions"] if e["tool"] == "web_search"]
    assert search["status"] == "error"
    assert search["error"]["type"] == code


def test_planted_url_is_dropped_from_citations(svc: Service) -> None:
    planted = "https://planted.example/not-from-search"
    svc.openai("/_standin/plant", {"url": planted})
    task, runs = _run(svc, _content_task())
    assert task["status"] == "completed", task
    assert planted in task["result"]["raw_output"]
    cited = {c["url"] for c in task["result"]["citations"]}
    [content] = [r for r in runs["runs"] if r["agent_name"] == "ContentAgent"]
    [search] = [e for e in content["tool_executions"] if e["tool"] == "web_search"]
    assert cited
    assert cited <= set(search["output"]["urls"])
    assert planted not in cited
    assert content["output"]["dropped_citations"] >= 1


def test_persistent_500_fails_with_llm_unavailable_within_the_bound(own_breaker: Service) -> None:
    svc = own_breaker
    svc.openai("/_standin/faults", {"status": 500, "count": 1000})
    text = _content_task()
    refused_before = _llm_calls(svc, "circuit_open")
    errors_before = _llm_calls(svc, "server_error")
    task, runs = _run(svc, text)
    refused = _llm_calls(svc, "circuit_open") - refused_before
    sent = len(svc.llm_requests_about(text))
    # The breaker opened after LLM_BREAKER_FAILURES (4) errors and refused calls without sending.
    assert refused >= 1, "the circuit never opened"
    assert _llm_calls(svc, "server_error") - errors_before == sent, "each sent call got its 500"
    calls = [e for r in runs["runs"] for e in r["tool_executions"] if e["tool"] == "llm"]
    assert len(calls) == sent + refused, "a refused call is recorded and sends nothing"
    # Sent calls got a 500, refused ones met an open circuit: both are LLM_UNAVAILABLE.
    assert {c["error"]["type"] for c in calls} == {"LLM_UNAVAILABLE"}
    assert task["status"] == "failed"
    assert task["error"]["type"] == "LLM_UNAVAILABLE"
    assert task["deferrals"] == 4, "every deferral allowed was used before failing"
    assert task["attempt"] == 5
    took = datetime.fromisoformat(task["completed_at"]) - datetime.fromisoformat(task["created_at"])
    assert took.total_seconds() < WORST_CASE_SECONDS
    assert len(svc.llm_requests_about(text)) <= 5 * 3
    assert all(r["status"] == "failed" for r in runs["runs"])


def test_tasks_submitted_while_the_circuit_is_open_complete_after_recovery(
    own_breaker: Service,
) -> None:
    svc = own_breaker

    def refused_calls() -> float:
        return _llm_calls(svc, "circuit_open")

    refused_before = refused_calls()
    svc.openai("/_standin/faults", {"status": 500, "count": 1000})
    with svc.client() as http:
        ids = [svc.submit(http, _content_task())["task_id"] for _ in range(3)]

        def deferred() -> bool:
            return any(http.get(f"/v1/tasks/{i}").json()["deferrals"] >= 1 for i in ids)

        wait_until(deferred, timeout=20)
        svc.openai("/_standin/reset", {})
        finals = [svc.wait_final(http, i, timeout=30) for i in ids]
    assert [t["status"] for t in finals] == ["completed"] * 3, finals
    assert sum(t["deferrals"] for t in finals) >= 1
    assert refused_calls() > refused_before, "the circuit opened while the endpoint failed"
    for task in finals:
        completed = svc.db.agent_runs.count_documents(
            {"task_id": task["task_id"], "status": "completed"}
        )
        assert completed == 2, "one router run and one agent run completed, once"
