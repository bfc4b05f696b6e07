"""Concurrent submits: each task runs once; one Idempotency-Key makes one task."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support import Service


def test_200_concurrent_submits_each_complete_once(service: Service) -> None:
    nonce = uuid.uuid4().hex[:8]
    texts = [
        f"Write a Python function that adds {n} to a number {nonce}"
        if n % 2
        else f"Write a blog post about river number {n} {nonce}"
        for n in range(200)
    ]
    with service.client() as http:
        with ThreadPoolExecutor(max_workers=20) as pool:
            ids = [a["task_id"] for a in pool.map(lambda t: service.submit(http, t), texts)]
        finals = [service.wait_final(http, task_id, timeout=120) for task_id in ids]
    assert len(set(ids)) == 200
    assert Counter(t["status"] for t in finals) == {"completed": 200}
    assert {t["attempt"] for t in finals} == {1}
    runs = Counter(
        r["task_id"]
        for r in service.db.agent_runs.find({"task_id": {"$in": ids}, "status": "completed"})
    )
    # Counted for every task, so a task with no rows at all fails too.
    assert {i: runs[i] for i in ids} == dict.fromkeys(ids, 2), "a router and an agent run each"
    answers = Counter(
        m["task_id"]
        for m in service.db.messages.find({"task_id": {"$in": ids}, "role": "assistant"})
    )
    assert {i: answers[i] for i in ids} == dict.fromkeys(ids, 1), "one answer per task"
    workers = {service.db.tasks.find_one({"_id": i})["worker_id"] for i in ids}
    assert len(workers) == 2


def test_one_idempotency_key_makes_one_task(service: Service) -> None:
    key = f"order-{uuid.uuid4()}"
    body = {"task": f"Write a blog post about lighthouses {key}"}

    def post(_: int) -> httpx.Response:
        with service.client() as http:
            return http.post("/v1/agent/execute", json=body, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(post, range(50)))
    assert [r.status_code for r in responses] == [202] * 50
    task_ids = {r.json()["task_id"] for r in responses}
    assert len(task_ids) == 1
    [task_id] = task_ids
    replays = [r for r in responses if r.headers.get("Idempotent-Replayed") == "true"]
    assert len(replays) == 49
    assert service.db.tasks.count_documents({"task": body["task"]}) == 1
    with service.client() as http:
        task = service.wait_final(http, task_id)
        replayed = http.post("/v1/agent/execute", json=body, headers={"Idempotency-Key": key})
        other_body = http.post(
            "/v1/agent/execute", json={"task": "something else"}, headers={"Idempotency-Key": key}
        )
        with service.client(service.other_api_key) as other:
            headers = {"Idempotency-Key": key}  # keys are scoped to the API key
            other_owner = other.post("/v1/agent/execute", json=body, headers=headers).json()
    assert task["status"] == "completed"
    assert task["attempt"] == 1
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json()["status"] == "completed", "a replay tells the task's real status"
    assert other_body.status_code == 409
    assert other_body.json()["error"] == "IDEMPOTENCY_KEY_REUSED"
    assert other_owner["task_id"] != task_id
    assert service.db.agent_runs.count_documents({"task_id": task_id, "status": "completed"}) == 2
