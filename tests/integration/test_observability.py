"""Metrics from the API and the workers, the system monitor, live events, and logs."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import Service, wait_until

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(service: Service) -> str:
    response = httpx.get(f"{service.topology.api_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def samples(text: str) -> Samples:
    parsed: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            parsed[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return parsed


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_counters_move_by_the_right_amounts_in_api_and_workers(service: Service) -> None:
    before = samples(scrape(service))
    nonce = uuid.uuid4().hex[:8]
    texts = [
        f"Write a blog post about tidal energy {nonce}",
        f"Write an article about geothermal heat {nonce}",
        f"Write a Python function that flattens a list {nonce}",
        f"zzqx vlorp {nonce}",
    ]
    with service.client() as http:
        finals = [service.wait_final(http, service.submit(http, t)["task_id"]) for t in texts]

    # A worker counts a finish right after its final write: wait for the four counts, then read.
    def finished_so_far() -> float:
        now = samples(scrape(service))
        return sum(
            value - before.get(key, 0.0)
            for key, value in now.items()
            if key[0] == "orchestrator_tasks_finished_total"
        )

    wait_until(lambda: finished_so_far() >= 4, timeout=15)
    after = samples(scrape(service))

    assert [t["status"] for t in finals] == ["completed", "completed", "completed", "failed"]
    total = "orchestrator_http_requests_total"
    assert delta(before, after, total, method="POST", route="/v1/agent/execute", status="202") == 4
    assert delta(before, after, "orchestrator_tasks_submitted_total", outcome="accepted") == 4
    finished = "orchestrator_tasks_finished_total"
    assert delta(before, after, finished, status="completed", agent="ContentAgent") == 2
    assert delta(before, after, finished, status="completed", agent="CodeAgent") == 1
    assert delta(before, after, finished, status="failed", agent="Unknown") == 1
    runs = "orchestrator_agent_runs_total"
    assert delta(before, after, runs, agent="PeerAgent", status="completed") == 4
    assert delta(before, after, runs, agent="ContentAgent", status="completed") == 2
    tools = "orchestrator_tool_executions_total"
    assert delta(before, after, tools, tool="web_search", status="ok") == 2
    assert delta(before, after, tools, tool="llm", status="ok") == 7
    llm = "orchestrator_llm_requests_total"
    assert delta(before, after, llm, model="gpt-4.1-mini", role="peer", outcome="ok") == 4
    assert delta(before, after, llm, model="gpt-4.1", role="content", outcome="ok") == 2
    assert delta(before, after, llm, model="o3-mini", role="code", outcome="ok") == 1
    tokens = sum(
        delta(before, after, "orchestrator_llm_tokens_total", model=m, role=r, kind=k)
        for m, r in (("gpt-4.1-mini", "peer"), ("gpt-4.1", "content"), ("o3-mini", "code"))
        for k in ("input", "output")
    )
    assert tokens == sum(t["usage"]["input_tokens"] + t["usage"]["output_tokens"] for t in finals)
    duration = "orchestrator_task_duration_seconds_count"
    assert delta(before, after, duration, agent="ContentAgent") == 2
    assert after[("orchestrator_workers_online", ())] == 2
    assert ("orchestrator_queue_length", (("queue", "agent_tasks"),)) in after


def test_promtool_finds_nothing_wrong_with_a_scrape(service: Service, tmp_path: Path) -> None:
    with service.client() as http:
        service.wait_final(http, service.submit(http, "Write a blog post about kites")["task_id"])
    scraped = tmp_path / "scrape.txt"
    scraped.write_text(scrape(service))
    with scraped.open("rb") as stdin:
        checked = subprocess.run(
            ["promtool", "check", "metrics"], stdin=stdin, capture_output=True, check=False
        )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == b""
    assert checked.stderr.strip() == b""


def test_system_metrics_has_every_field(service: Service) -> None:
    with service.client() as http:
        done = service.wait_final(
            http, service.submit(http, "Write a blog post about owls")["task_id"]
        )
        # The day's counters are written just after the final status.
        wait_until(
            lambda: http.get("/v1/system/metrics").json()["today"]["per_agent"].get("ContentAgent")
        )
        body = http.get("/v1/system/metrics").json()
    assert done["status"] == "completed"
    assert isinstance(body["queue_length"], int)
    today = body["today"]
    assert set(today["by_status"]) == {
        "queued",
        "processing",
        "awaiting_approval",
        "completed",
        "failed",
        "cancelled",
    }
    assert today["by_status"]["completed"] >= 1
    assert today["per_agent"]["ContentAgent"] >= 1
    assert today["latency"]["count"] >= 1
    assert 0 < today["latency"]["avg_seconds"] < 30
    assert 0 < today["latency"]["p95_seconds"] < 30
    assert set(body["dependencies"]) == {"mongo", "redis", "llm", "search"}
    for name, probe in body["dependencies"].items():
        # (a probe slower than PROBE_SLOW_SECONDS on a busy machine reads "degraded")
        assert probe["status"] in {"ok", "degraded"}, (name, probe)
        assert probe["latency_ms"] >= 0
    assert body["workers"]["online"] == 2
    assert {w["concurrency"] for w in body["workers"]["workers"]} == {4}


def read_events(
    response: httpx.Response, stop_after: int | None = None
) -> Iterator[dict[str, Any]]:
    """Parse a text/event-stream body into {id, event, data} dicts."""
    event: dict[str, Any] = {}
    count = 0
    for line in response.iter_lines():
        if line.startswith(":"):
            continue
        if not line:
            if "id" in event:
                yield event
                count += 1
                if stop_after is not None and count >= stop_after:
                    return
            event = {}
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        event[field] = json.loads(value) if field == "data" else value


def test_events_stream_in_order_and_resume_with_last_event_id(service: Service) -> None:
    service.openai("/_standin/faults", {"delay_ms": 1500, "count": 1})
    with service.client() as http:
        task_id = service.submit(http, f"Write a blog post about comets {uuid.uuid4().hex[:6]}")[
            "task_id"
        ]
        url = f"/v1/tasks/{task_id}/events"
        with http.stream("GET", url) as first:
            assert first.headers["content-type"].startswith("text/event-stream")
            head = list(read_events(first, stop_after=2))
        last = head[-1]["id"]
        with http.stream("GET", url, headers={"Last-Event-ID": last}, timeout=30) as second:
            rest = list(read_events(second))
        with http.stream("GET", url) as replay:
            history = list(read_events(replay))
    ids = [int(e["id"]) for e in head + rest]
    assert ids == list(range(1, len(ids) + 1)), "increasing, nothing missed, nothing twice"
    assert [e["id"] for e in history] == [str(i) for i in ids]
    kinds = [e["event"] for e in head + rest]
    assert kinds[0] == "status"
    assert head[0]["data"]["status"] == "queued"
    assert {"routing", "agent_started", "agent_finished", "tool_call"} <= set(kinds)
    assert rest[-1]["event"] == "status"
    assert rest[-1]["data"]["status"] == "completed"
    routing = next(e for e in rest if e["event"] == "routing")
    assert routing["data"]["agent_name"] == "ContentAgent"


def test_no_reader_sees_a_final_status_without_its_event_and_the_stream_ends_on_it(
    service: Service,
) -> None:
    # Slow LLM answers stretch the task, so a reader polling MongoDB as fast as it can lands
    # on every moment of it, right after the final write included; an SSE client streams
    # all along. The status and its event are one write: no read can fall between them.
    service.openai("/_standin/faults", {"delay_ms": 400, "count": 2})
    with service.client() as http:
        task_id = service.submit(
            http, f"Write a blog post about kelp farms {uuid.uuid4().hex[:6]}"
        )["task_id"]
        with http.stream("GET", f"/v1/tasks/{task_id}/events", timeout=30) as live:
            reads = 0
            while True:
                doc = service.db.tasks.find_one({"_id": task_id}, {"status": 1, "events": 1})
                reads += 1
                statuses = [e["data"]["status"] for e in doc["events"] if e["kind"] == "status"]
                if doc["status"] in {"completed", "failed", "cancelled"}:
                    assert statuses[-1] == doc["status"], f"read {reads}: {statuses}"
                    break
            streamed = list(read_events(live))
    assert reads > 20, "the reader polled throughout the task"
    assert statuses == ["queued", "processing", "completed"]
    assert streamed[-1]["event"] == "status"
    assert streamed[-1]["data"]["status"] == "completed"
    assert [int(e["id"]) for e in streamed] == list(range(1, len(doc["events"]) + 1))


PROCESSES = ("api", "worker1", "worker2")


def test_one_request_id_across_api_and_worker_logs_and_no_secret(service: Service) -> None:
    request_id = f"trace-{uuid.uuid4().hex}"
    with service.client() as http:
        response = http.post(
            "/v1/agent/execute",
            json={"task": "Write a Python function that sums a list"},
            headers={"X-Request-ID": request_id},
        )
        task_id = response.json()["task_id"]
        service.wait_final(http, task_id)
    assert response.headers["X-Request-ID"] == request_id

    def read_logs() -> dict[str, str]:
        return {name: service.process(name).log_tail(1_000_000) for name in PROCESSES}

    # The worker logs task_completed after its last write: wait for the line, not for luck.
    wait_until(
        lambda: any(
            request_id in line and '"task_completed"' in line
            for text in read_logs().values()
            for line in text.splitlines()
        ),
        timeout=10,
    )
    logs = read_logs()
    lines = [
        json.loads(line)
        for text in logs.values()
        for line in text.splitlines()
        if line.startswith("{") and request_id in line
    ]
    api_events = {e["event"] for e in lines if "method" in e or e["event"] == "task_submitted"}
    worker_events = {e["event"] for e in lines if e.get("worker_id")}
    assert {"task_submitted", "http_request"} <= api_events
    assert {"task_claimed", "task_completed"} <= worker_events
    assert all(e.get("task_id") == task_id for e in lines if e["event"].startswith("task_"))
    completed = next(e for e in lines if e["event"] == "task_completed")
    assert completed["agent_name"] == "CodeAgent"
    assert completed["session_id"]
    assert all({"timestamp", "level", "event"} <= set(e) for e in lines)
    secrets = [
        service.api_key,
        service.other_api_key,
        service.topology.env["OPENAI_API_KEY"],
        service.topology.env["TAVILY_API_KEY"],
    ]
    for name, text in logs.items():
        for secret in secrets:
            assert secret not in text, f"a secret appears in the {name} log"


@pytest.mark.parametrize(("token", "status"), [(None, 401), ("wrong", 401), ("s3cret-token", 200)])
def test_metrics_needs_the_bearer_token_when_one_is_set(
    service: Service, monkeypatch: pytest.MonkeyPatch, token: str | None, status: int
) -> None:
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.main import create_app

    monkeypatch.setenv("MONGO_URI", service.topology.env["MONGO_URI"])
    monkeypatch.setenv("REDIS_URL", service.topology.env["REDIS_URL"])
    monkeypatch.setenv("METRICS_TOKEN", "s3cret-token")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with TestClient(create_app(Settings())) as http:
        response = http.get("/metrics", headers=headers)
    assert response.status_code == status
    if status == 200:
        assert "orchestrator_http_requests_total" in response.text
    else:
        assert response.json()["error"] == "UNAUTHORIZED"
