"""A task goes from POST to a completed result through the real processes."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import redis
from celery import Celery

from app.dispatch.celery_config import PROCESS_TASK
from tests.support import Service, wait_until

CONTENT_TASK = "Write a blog post about renewable energy trends"
CODE_TASK = "Write a Python function that reverses a linked list"


def _search_urls(service: Service, query: str) -> set[str]:
    """What the Tavily stand-in returns for query (the agent searches the task text)."""
    response = httpx.post(
        f"{service.topology.env['TAVILY_BASE_URL']}/search",
        json={"query": query, "max_results": 5},
        headers={"Authorization": f"Bearer {service.topology.env['TAVILY_API_KEY']}"},
    )
    response.raise_for_status()
    return {result["url"] for result in response.json()["results"]}


def test_content_task_completes_with_citations_from_the_search(service: Service) -> None:
    with service.client() as http:
        accepted = service.submit(http, CONTENT_TASK)
        assert set(accepted) == {
            "task_id",
            "session_id",
            "status",
            "queued_at",
            "message",
            "api_version",
        }
        assert accepted["status"] == "queued"
        assert accepted["message"] == "Task accepted and queued."
        assert accepted["api_version"] == "v1"
        task = service.wait_final(http, accepted["task_id"], timeout=10)
    assert task["status"] == "completed", task
    assert task["selected_agent"] == "ContentAgent"
    assert 0.5 <= task["routing"]["confidence"] <= 1
    assert task["result"]["raw_output"]
    citations = task["result"]["citations"]
    assert citations
    assert {c["url"] for c in citations} <= _search_urls(service, CONTENT_TASK)
    assert all(c["source"] == "tavily" for c in citations)
    assert task["usage"]["input_tokens"] > 0
    assert task["usage"]["output_tokens"] > 0


def test_code_task_completes_with_python(service: Service) -> None:
    with service.client() as http:
        accepted = service.submit(http, CODE_TASK)
        task = service.wait_final(http, accepted["task_id"], timeout=10)
    assert task["status"] == "completed", task
    assert task["selected_agent"] == "CodeAgent"
    assert task["result"]["code_language"] == "python"
    assert "```python" in task["result"]["raw_output"]


def test_unclassifiable_task_fails_with_unknown_task_type(service: Service) -> None:
    with service.client() as http:
        accepted = service.submit(http, "zxqv blorp")
        task = service.wait_final(http, accepted["task_id"], timeout=10)
    assert task["status"] == "failed"
    assert task["error"]["type"] == "UNKNOWN_TASK_TYPE"
    assert task["error"]["message"]
    assert task["routing"]["agent_name"] == "Unknown"


def test_twenty_tasks_complete_once_across_two_workers(service: Service) -> None:
    texts = [
        f"Write a blog post about topic number {n}"
        if n % 2
        else f"Write a Python function that sorts list number {n}"
        for n in range(20)
    ]
    with service.client() as http:
        with ThreadPoolExecutor(max_workers=10) as pool:
            accepted = list(pool.map(lambda text: service.submit(http, text), texts))
        ids = [a["task_id"] for a in accepted]
        finals = [service.wait_final(http, task_id, timeout=30) for task_id in ids]

    assert [t["status"] for t in finals] == ["completed"] * 20
    assert all(t["attempt"] == 1 for t in finals)
    worker_pids = {str(w.pid) for w in service.workers}
    docs = {d["_id"]: d for d in service.db.tasks.find({"_id": {"$in": ids}})}
    used = {docs[i]["worker_id"].rsplit(":", 1)[1] for i in ids}
    assert used == worker_pids, f"both workers should take part, used {used}"
    for task in finals:
        runs = list(service.db.agent_runs.find({"task_id": task["task_id"]}))
        assert sorted(r["agent_name"] for r in runs) == sorted(
            ["PeerAgent", task["selected_agent"]]
        )
        assert all(r["status"] == "completed" and r["attempt"] == 1 for r in runs)
        assert all(r["duration_ms"] is not None and r["output"] for r in runs)
        roles = [m["role"] for m in service.db.messages.find({"task_id": task["task_id"]})]
        assert sorted(roles) == ["assistant", "user"]


def test_duplicate_delivery_runs_the_agent_once(service: Service) -> None:
    celery = Celery(broker=service.topology.env["REDIS_URL"])
    text = f"{CODE_TASK} {uuid.uuid4().hex[:8]}"
    with service.client() as http:
        accepted = service.submit(http, text)
        task_id = accepted["task_id"]
        celery.send_task(PROCESS_TASK, args=[task_id], queue="agent_tasks")
        task = service.wait_final(http, task_id, timeout=10)

    broker = redis.Redis.from_url(service.topology.env["REDIS_URL"])

    def delivered() -> bool:
        """Both messages were taken and acknowledged: acks are late (after the task ran), so a
        message still queued or unacknowledged names the task in the queue or in `unacked`."""
        held = [*broker.lrange("agent_tasks", 0, -1), *broker.hvals("unacked")]
        return not any(task_id.encode() in message for message in held)

    wait_until(delivered, timeout=20)
    broker.close()
    # Whichever delivery came second found the task claimed or finished and did nothing: one
    # claim, one run per agent, one router call and one agent call.
    stored = service.db.tasks.find_one({"_id": task_id}, {"events": 1})
    claims = [e for e in stored["events"] if e["data"].get("status") == "processing"]
    assert len(claims) == 1
    runs = list(service.db.agent_runs.find({"task_id": task_id}, {"agent_name": 1}))
    assert sorted(r["agent_name"] for r in runs) == ["CodeAgent", "PeerAgent"]
    assert len(service.llm_requests_about(text)) == 2, "one router call, one agent call"
    assert task["status"] == "completed"
    assert task["attempt"] == 1
    runs: list[dict[str, Any]] = list(service.db.agent_runs.find({"task_id": task_id}))
    assert sorted(r["agent_name"] for r in runs) == ["CodeAgent", "PeerAgent"]
    assert service.db.messages.count_documents({"task_id": task_id}) == 2
    celery.close()
