"""The last hour per minute, and today's tokens and cost, from counters the task path keeps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import Service, running_service, wait_until

POLICY = {"QUEUE_SAMPLE_SECONDS": "0.2", "APPROVAL_REQUIRED_AGENTS": "CodeAgent"}
BLOG = "Write a blog post about peat bogs, part {n}"
CODE = "Write a Python function that reverses a linked list"


@pytest.fixture(scope="module")
def svc() -> Iterator[Service]:
    with running_service(env=POLICY, workers=1) as running:
        yield running


def _history(svc: Service, minutes: int = 10) -> list[dict[str, Any]]:
    with svc.client() as http:
        reply = http.get("/v1/system/history", params={"minutes": minutes})
        assert reply.status_code == 200, reply.text
        found: list[dict[str, Any]] = reply.json()["minutes"]
        return found


def _total(history: list[dict[str, Any]], field: str) -> int:
    return sum(minute[field] for minute in history)


def test_minutes_count_submits_finishes_latency_and_the_queue(svc: Service) -> None:
    with svc.client() as http:
        [worker] = svc.workers
        worker.stop()
        ids = [svc.submit(http, BLOG.format(n=n))["task_id"] for n in range(3)]
        # No worker: the sampler sees the three waiting.
        wait_until(lambda: any((m["queue_length"] or 0) >= 3 for m in _history(svc)))
        before = _history(svc)
        svc.replace_worker(worker)
        finished = [svc.wait_final(http, task_id) for task_id in ids]
        svc.openai("/_standin/faults", {"status": 401, "count": 1})
        failing = svc.submit(http, BLOG.format(n="failing"))["task_id"]
        assert svc.wait_final(http, failing)["status"] == "failed"
    assert {t["status"] for t in finished} == {"completed"}
    # A task's counters are written just after its final status: wait for them.
    expected = {"created": 1, "completed": 3, "failed": 1, "cancelled": 0}
    fields = tuple(expected)

    def counted() -> dict[str, int]:
        now = _history(svc)
        return {f: _total(now, f) - _total(before, f) for f in fields}

    wait_until(lambda: counted() == expected)
    history = _history(svc)
    assert len(history) == 10
    minutes = [m["minute"] for m in history]
    assert minutes == sorted(minutes)
    assert len(set(minutes)) == 10
    with_finishes = [m for m in history if m["completed"] + m["failed"]]
    assert with_finishes
    assert all(m["p95_seconds"] is not None for m in with_finishes)
    idle = [m for m in history if not m["completed"] + m["failed"] + m["cancelled"]]
    assert all(m["p95_seconds"] is None for m in idle)
    with svc.client() as http:
        assert http.get("/v1/system/history", params={"minutes": 0}).status_code == 422
        assert http.get("/v1/system/history", params={"minutes": 1441}).status_code == 422


def _usage(svc: Service, key: str | None = None) -> Any:
    with svc.client(key) as http:
        return http.get("/v1/system/metrics").json()["today"]["usage"]


def test_todays_usage_counts_each_attempt_once_across_a_retry(svc: Service) -> None:
    with svc.client() as http, svc.client(svc.admin_key) as admin:
        before = _usage(svc, svc.admin_key)
        task_id = svc.submit(http, CODE)["task_id"]
        rejected = admin.post(
            f"/v1/admin/checkpoints/{svc.pending_checkpoint(task_id)['checkpoint_id']}/reject",
            json={"reason": "again"},
        )
        assert rejected.status_code == 200
        assert svc.wait_final(http, task_id)["status"] == "failed"
        assert http.post(f"/v1/tasks/{task_id}/retry").status_code == 202
        admin.post(
            f"/v1/admin/checkpoints/{svc.pending_checkpoint(task_id)['checkpoint_id']}/approve",
            json={},
        )
        task = svc.wait_final(http, task_id)
        runs = http.get(f"/v1/tasks/{task_id}/runs").json()["runs"]
    assert task["status"] == "completed"
    assert {r["attempt"] for r in runs} == {1, 2}
    spent = {key: sum(r["usage"][key] for r in runs) for key in ("input_tokens", "output_tokens")}
    assert spent["input_tokens"] > 0
    assert task["usage"]["input_tokens"] == spent["input_tokens"]
    # The day's counters are written just after the final status: wait for them.
    wait_until(
        lambda: (
            _usage(svc, svc.admin_key)["input_tokens"] - before["input_tokens"]
            >= spent["input_tokens"]
        )
    )
    after = _usage(svc, svc.admin_key)
    for key in ("input_tokens", "output_tokens"):
        assert after[key] - before[key] == spent[key], key
    assert after["cost_usd"] - before["cost_usd"] == pytest.approx(task["usage"]["cost_usd"])
    assert _usage(svc) is None, "every tenant's spending is for admin keys only"
