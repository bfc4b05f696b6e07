"""Sessions carry history to the LLM; runs show every call; usage matches the provider."""

from __future__ import annotations

import uuid

from app.config import DEFAULT_PRICES
from tests.support import Service


def test_follow_up_request_carries_the_first_task_and_answer(service: Service) -> None:
    nonce = uuid.uuid4().hex[:8]
    session = f"session-{nonce}"
    first_text = f"Write a Python function that parses ISO dates {nonce}"
    second_text = f"Now make it shorter {nonce}-2"
    with service.client() as http:
        first = service.wait_final(
            http, service.submit(http, first_text, session_id=session)["task_id"]
        )
        second = service.wait_final(
            http, service.submit(http, second_text, session_id=session)["task_id"]
        )
        history = http.get(f"/v1/sessions/{session}/messages").json()
        with service.client(service.other_api_key) as other:
            hidden = other.get(f"/v1/sessions/{session}/messages")

    assert first["status"] == second["status"] == "completed"
    assert second["selected_agent"] == "CodeAgent", "a follow-up continues the same work"
    answer = first["result"]["raw_output"]
    requests = service.llm_requests_about(second_text)
    assert len(requests) == 2, "the router's request and the agent's request"
    for request in requests:
        contents = [str(m["content"]) for m in request["messages"]]
        assert any(first_text in c for c in contents[:-1])
        assert any(answer == c for c in contents[:-1])

    assert [(m["role"], m["task_id"]) for m in history["messages"]] == [
        ("user", first["task_id"]),
        ("assistant", first["task_id"]),
        ("user", second["task_id"]),
        ("assistant", second["task_id"]),
    ]
    assert history["messages"][0]["content"] == first_text
    assert hidden.status_code == 404
    assert hidden.json()["error"] == "SESSION_NOT_FOUND"


def test_runs_show_every_call_and_usage_matches_the_provider(service: Service) -> None:
    text = f"Write a blog post about wind power trends {uuid.uuid4().hex[:8]}"
    with service.client() as http:
        task = service.wait_final(http, service.submit(http, text)["task_id"])
        runs = http.get(f"/v1/tasks/{task['task_id']}/runs").json()["runs"]
    assert task["status"] == "completed"
    assert [r["agent_name"] for r in runs] == ["PeerAgent", "ContentAgent"]
    router, content = runs
    assert [e["tool"] for e in router["tool_executions"]] == ["llm"]
    assert [e["tool"] for e in content["tool_executions"]] == ["web_search", "llm"]
    for run in runs:
        assert run["status"] == "completed"
        assert run["duration_ms"] >= max(e["duration_ms"] for e in run["tool_executions"])
        assert all(e["status"] == "ok" for e in run["tool_executions"])
    assert router["model"] == "gpt-4.1-mini"
    assert content["model"] == "gpt-4.1"

    requests = service.llm_requests_about(text)
    assert sorted(r["model"] for r in requests) == ["gpt-4.1", "gpt-4.1-mini"]
    reported_in = sum(r["usage"]["prompt_tokens"] for r in requests)
    reported_out = sum(r["usage"]["completion_tokens"] for r in requests)
    assert task["usage"]["input_tokens"] == reported_in
    assert task["usage"]["output_tokens"] == reported_out
    expected_cost = sum(
        r["usage"]["prompt_tokens"] * DEFAULT_PRICES[r["model"]].input / 1e6
        + r["usage"]["completion_tokens"] * DEFAULT_PRICES[r["model"]].output / 1e6
        for r in requests
    )
    assert abs(task["usage"]["cost_usd"] - expected_cost) < 1e-6
    assert task["usage"]["cost_usd"] > 0
    by_model = {r["model"]: r["usage"] for r in requests}
    for run in runs:
        assert run["usage"]["input_tokens"] == by_model[run["model"]]["prompt_tokens"]
