"""Humans in the loop: approval checkpoints pause a task durably and resume it where it stopped."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import Service, running_service, wait_until

POLICY = {
    "APPROVAL_REQUIRED_AGENTS": "CodeAgent",
    "ROUTER_AUTO_CONFIDENCE": "0.9",
    # Long enough for any test to decide in time (killing and replacing workers included); the
    # expiry test runs a service of its own with a short one.
    "CHECKPOINT_TIMEOUT_SECONDS": "300",
    "RECONCILE_INTERVAL_SECONDS": "0.5",
    "TASK_LEASE_SECONDS": "3",
}
CODE_TASK = "Write a Python function that reverses a linked list"
# Below ROUTER_AUTO_CONFIDENCE: a decision a person confirms (routing checkpoint); above it, one
# that goes straight to the agent.
UNSURE, SURE = 0.7, 0.95


@pytest.fixture(scope="module")
def svc() -> Iterator[Service]:
    with running_service(env=POLICY, workers=2, concurrency=4) as running:
        yield running


def _router_confidence(svc: Service, value: float) -> None:
    """The router's next decision comes with this confidence (the stand-in's control)."""
    svc.openai("/_standin/confidence", {"value": value, "count": 1})


def _nonce() -> str:
    return uuid.uuid4().hex[:8]


def _status(http: httpx.Client, task_id: str) -> str:
    return str(http.get(f"/v1/tasks/{task_id}").json()["status"])


def _paused(
    svc: Service, http: httpx.Client, text: str, **extra: Any
) -> tuple[str, dict[str, Any]]:
    """Submit and wait until the task waits at a checkpoint; return it with that checkpoint."""
    task_id = svc.submit(http, text, **extra)["task_id"]
    return task_id, svc.pending_checkpoint(task_id, timeout=20)


def _worker_that_paused(svc: Service, task_id: str) -> Any:
    """The worker whose claim paused: the last `processing` event names it (host:pid)."""
    stored = svc.db.tasks.find_one({"_id": task_id}, {"events": 1})
    claims = [e["data"] for e in stored["events"] if e["data"].get("status") == "processing"]
    return svc.worker_by_pid(int(claims[-1]["worker_id"].rsplit(":", 1)[1]))


def test_output_approval_with_an_edit_resumes_in_another_worker_without_new_llm_calls(
    svc: Service,
) -> None:
    text = f"{CODE_TASK} {_nonce()}"
    _router_confidence(svc, SURE)
    with svc.client() as http, svc.client(svc.admin_key) as admin:
        task_id, checkpoint = _paused(svc, http, text)
        assert checkpoint["stage"] == "output"
        assert checkpoint["kind"] == "approval"
        assert "```python" in checkpoint["payload"]["draft"]["raw_output"]
        calls_before = len(svc.llm_requests_about(text))
        paused_by = _worker_that_paused(svc, task_id)
        paused_by.stop()  # the resume must happen elsewhere
        edited = "Reviewed answer:\n```python\ndef reverse(head):\n    return head\n```"
        decision = admin.post(
            f"/v1/admin/checkpoints/{checkpoint['checkpoint_id']}/approve",
            json={"comment": "shorter is better", "edits": {"raw_output": edited}},
        )
        task = svc.wait_final(http, task_id, timeout=30)
        trail = http.get(f"/v1/tasks/{task_id}/checkpoints").json()["items"]
        runs = http.get(f"/v1/tasks/{task_id}/runs").json()["runs"]
        with http.stream("GET", f"/v1/tasks/{task_id}/events") as stream:
            kinds = [
                line.removeprefix("event: ")
                for line in stream.iter_lines()
                if line.startswith("event: ")
            ]
    svc.replace_worker(paused_by)
    assert decision.status_code == 200
    assert decision.json()["status"] == "approved"
    assert task["status"] == "completed"
    assert task["routing"]["confidence"] == SURE
    assert task["result"]["raw_output"] == edited
    resumed_by = int(svc.db.tasks.find_one({"_id": task_id})["worker_id"].rsplit(":", 1)[1])
    assert resumed_by != paused_by.pid
    assert len(svc.llm_requests_about(text)) == calls_before == 2, "no LLM call repeated"
    assert [(r["agent_name"], r["attempt"], r["status"]) for r in runs] == [
        ("PeerAgent", 1, "completed"),
        ("CodeAgent", 1, "completed"),
    ]
    [audit] = trail
    assert (audit["status"], audit["decided_by"], audit["comment"]) == (
        "approved",
        "ops",
        "shorter is better",
    )
    assert audit["edits"] == {"raw_output": edited}
    assert audit["decided_at"] is not None
    assert kinds.index("checkpoint_created") < kinds.index("checkpoint_decided")


def test_routing_confirmation_can_override_the_agent(svc: Service) -> None:
    text = f"{CODE_TASK} {_nonce()}"
    _router_confidence(svc, UNSURE)
    with svc.client() as http, svc.client(svc.admin_key) as admin:
        task_id, checkpoint = _paused(svc, http, text)
        assert checkpoint["stage"] == "routing"
        assert checkpoint["payload"]["routing"]["agent_name"] == "CodeAgent"
        assert checkpoint["payload"]["routing"]["confidence"] == UNSURE
        approved = admin.post(
            f"/v1/admin/checkpoints/{checkpoint['checkpoint_id']}/approve",
            json={"edits": {"agent_name": "ContentAgent"}},
        )
        task = svc.wait_final(http, task_id, timeout=30)
        runs = http.get(f"/v1/tasks/{task_id}/runs").json()["runs"]
    assert approved.status_code == 200
    assert task["status"] == "completed"
    assert task["selected_agent"] == "ContentAgent"
    assert task["result"]["citations"]
    assert [r["agent_name"] for r in runs] == ["PeerAgent", "ContentAgent"]
    # routing keeps the router's decision and the override beside it (who, when)
    assert task["routing"]["agent_name"] == "CodeAgent"
    override = task["routing"]["override"]
    assert (override["agent_name"], override["decided_by"]) == ("ContentAgent", "ops")
    assert override["decided_at"] == approved.json()["decided_at"]


def _finished(http: httpx.Client, agent: str, status: str) -> float:
    families = text_string_to_metric_families(http.get("/metrics").text)
    return sum(
        sample.value
        for family in families
        if family.name == "orchestrator_tasks_finished"
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels == {"agent": agent, "status": status}
    )


def test_an_overridden_agent_that_fails_is_the_agent_the_task_names(svc: Service) -> None:
    text = f"{CODE_TASK} {_nonce()}"
    _router_confidence(svc, UNSURE)
    with svc.client() as http, svc.client(svc.admin_key) as admin:
        task_id, checkpoint = _paused(svc, http, text)
        before = {a: _finished(http, a, "failed") for a in ("CodeAgent", "ContentAgent")}
        svc.openai("/_standin/faults", {"status": 401, "count": 1})  # the next call: ContentAgent's
        approved = admin.post(
            f"/v1/admin/checkpoints/{checkpoint['checkpoint_id']}/approve",
            json={"edits": {"agent_name": "ContentAgent"}},
        )
        task = svc.wait_final(http, task_id, timeout=30)
        wait_until(lambda: _finished(http, "ContentAgent", "failed") > before["ContentAgent"])
        after = {a: _finished(http, a, "failed") for a in ("CodeAgent", "ContentAgent")}
        events = [e["kind"] for e in svc.db.tasks.find_one({"_id": task_id})["events"]]
    assert approved.status_code == 200
    assert task["status"] == "failed"
    assert task["error"]["type"] == "LLM_AUTH_ERROR"
    assert task["selected_agent"] == "ContentAgent"
    assert task["routing"]["agent_name"] == "CodeAgent"
    assert task["routing"]["override"]["agent_name"] == "ContentAgent"
    assert after == {"CodeAgent": before["CodeAgent"], "ContentAgent": before["ContentAgent"] + 1}
    assert "routing_override" in events


def test_reject_conflicts_roles_and_tenants(svc: Service) -> None:
    _router_confidence(svc, SURE)
    with svc.client() as http, svc.client(svc.admin_key) as admin:
        task_id, checkpoint = _paused(svc, http, f"{CODE_TASK} {_nonce()}")
        url = f"/v1/admin/checkpoints/{checkpoint['checkpoint_id']}"
        as_user = http.post(f"{url}/approve", json={})
        listed_by_user = http.get("/v1/admin/checkpoints")
        with svc.client(svc.other_api_key) as other:
            foreign = other.get(f"/v1/tasks/{task_id}/checkpoints")
        queue = admin.get("/v1/admin/checkpoints", params={"status": "pending"}).json()["items"]
        rejected = admin.post(f"{url}/reject", json={"reason": "not what we need"})
        again = admin.post(f"{url}/approve", json={})
        task = svc.wait_final(http, task_id)
    assert as_user.status_code == 403
    assert as_user.json()["error"] == "FORBIDDEN"
    assert listed_by_user.status_code == 403
    assert foreign.status_code == 404
    assert checkpoint["checkpoint_id"] in {c["checkpoint_id"] for c in queue}
    assert rejected.status_code == 200
    assert rejected.json()["decided_by"] == "ops"
    assert again.status_code == 409
    assert task["status"] == "failed"
    assert task["error"]["type"] == "CHECKPOINT_REJECTED"
    assert "not what we need" in task["error"]["message"]


def test_an_undecided_checkpoint_expires_and_fails_the_task() -> None:
    expiring = {**POLICY, "CHECKPOINT_TIMEOUT_SECONDS": "3"}
    with running_service(env=expiring, workers=1, concurrency=2) as svc:
        _undecided_checkpoint_expires(svc)


def _undecided_checkpoint_expires(svc: Service) -> None:
    _router_confidence(svc, SURE)
    with svc.client() as http, svc.client(svc.admin_key) as admin:
        task_id, checkpoint = _paused(svc, http, f"{CODE_TASK} {_nonce()}")
        task = svc.wait_final(http, task_id, timeout=30)
        late = admin.post(f"/v1/admin/checkpoints/{checkpoint['checkpoint_id']}/approve", json={})
        [expired] = http.get(f"/v1/tasks/{task_id}/checkpoints").json()["items"]
    assert task["error"]["type"] == "CHECKPOINT_EXPIRED"
    assert expired["status"] == "expired"
    assert late.status_code == 409


def test_cancel_while_awaiting_approval(svc: Service) -> None:
    _router_confidence(svc, SURE)
    with svc.client() as http, svc.client(svc.admin_key) as admin:
        task_id, checkpoint = _paused(svc, http, f"{CODE_TASK} {_nonce()}")
        cancelled = http.post(f"/v1/tasks/{task_id}/cancel")
        ended = http.get(f"/v1/tasks/{task_id}/checkpoints").json()["items"]
        queue = admin.get("/v1/admin/checkpoints", params={"status": "pending"}).json()["items"]
        late = admin.post(f"/v1/admin/checkpoints/{checkpoint['checkpoint_id']}/approve", json={})
        metrics = http.get("/metrics").text
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert [(c["checkpoint_id"], c["status"]) for c in ended] == [
        (checkpoint["checkpoint_id"], "cancelled")
    ], "the checkpoint ends with its task"
    assert ended[0]["decided_by"] == "dev"
    assert checkpoint["checkpoint_id"] not in {c["checkpoint_id"] for c in queue}
    assert late.status_code == 409
    decided = {
        (sample.labels["kind"], sample.labels["decision"])
        for family in text_string_to_metric_families(metrics)
        if family.name == "orchestrator_checkpoints_decided"
        for sample in family.samples
        if sample.name.endswith("_total") and sample.value > 0
    }
    assert ("approval", "cancelled") in decided


def test_require_approval_on_submit_pauses_any_agent(svc: Service) -> None:
    text = f"Write a blog post about glaciers {_nonce()}"  # ContentAgent: no policy of its own
    _router_confidence(svc, SURE)
    with svc.client() as http, svc.client(svc.admin_key) as admin:
        task_id, checkpoint = _paused(svc, http, text, require_approval=True)
        admin.post(f"/v1/admin/checkpoints/{checkpoint['checkpoint_id']}/approve", json={})
        task = svc.wait_final(http, task_id)
    assert checkpoint["payload"]["agent_name"] == "ContentAgent"
    assert task["status"] == "completed"
    assert task["result"]["raw_output"] == checkpoint["payload"]["draft"]["raw_output"]


def test_every_worker_killed_while_waiting_then_approved_completes(svc: Service) -> None:
    text = f"{CODE_TASK} {_nonce()}"
    _router_confidence(svc, SURE)
    with svc.client() as http, svc.client(svc.admin_key) as admin:
        task_id, checkpoint = _paused(svc, http, text)
        for worker in list(svc.workers):
            worker.kill()
        for worker in list(svc.workers):
            svc.replace_worker(worker)
        admin.post(f"/v1/admin/checkpoints/{checkpoint['checkpoint_id']}/approve", json={})
        task = svc.wait_final(http, task_id, timeout=30)
    assert task["status"] == "completed"
    assert "```python" in task["result"]["raw_output"]
    assert len(svc.llm_requests_about(text)) == 2


def _status_events(svc: Service, task_id: str) -> list[tuple[str, int | None]]:
    events = svc.db.tasks.find_one({"_id": task_id})["events"]
    return [
        (e["data"]["status"], e["data"].get("attempt")) for e in events if e["kind"] == "status"
    ]


def test_a_resume_goes_on_with_the_attempt_that_paused(svc: Service) -> None:
    """Two checkpoints (routing, then CodeAgent's output): one attempt from submit to end."""
    text = f"{CODE_TASK} {_nonce()}"
    _router_confidence(svc, UNSURE)
    with svc.client() as http, svc.client(svc.admin_key) as admin:
        task_id, routing = _paused(svc, http, text)
        started_at = http.get(f"/v1/tasks/{task_id}").json()["started_at"]
        admin.post(f"/v1/admin/checkpoints/{routing['checkpoint_id']}/approve", json={})
        wait_until(
            lambda: (
                [c["status"] for c in http.get(f"/v1/tasks/{task_id}/checkpoints").json()["items"]]
                == ["approved", "pending"]
            ),
            timeout=30,
        )
        [output] = [
            c
            for c in http.get(f"/v1/tasks/{task_id}/checkpoints").json()["items"]
            if c["status"] == "pending"
        ]
        admin.post(f"/v1/admin/checkpoints/{output['checkpoint_id']}/approve", json={})
        task = svc.wait_final(http, task_id, timeout=30)
        runs = http.get(f"/v1/tasks/{task_id}/runs").json()["runs"]
    assert task["status"] == "completed"
    assert (task["attempt"], task["history"]) == (1, [])
    assert task["started_at"] == started_at, "the attempt started once"
    assert {c["attempt"] for c in (routing, output)} == {1}
    assert [(r["agent_name"], r["attempt"]) for r in runs] == [("PeerAgent", 1), ("CodeAgent", 1)]
    assert {attempt for _, attempt in _status_events(svc, task_id)} == {1}


def test_a_retry_answers_and_announces_the_attempt_it_queues(svc: Service) -> None:
    text = f"{CODE_TASK} {_nonce()}"
    _router_confidence(svc, UNSURE)
    with svc.client() as http, svc.client(svc.admin_key) as admin:
        task_id, routing = _paused(svc, http, text)
        admin.post(
            f"/v1/admin/checkpoints/{routing['checkpoint_id']}/reject", json={"reason": "no"}
        )
        failed = svc.wait_final(http, task_id, timeout=30)
        retried = http.post(f"/v1/tasks/{task_id}/retry")
        queued_events = [e for e in _status_events(svc, task_id) if e[0] == "queued"]
        wait_until(lambda: _status(http, task_id) == "awaiting_approval", timeout=30)
        http.post(f"/v1/tasks/{task_id}/cancel")
    assert (failed["status"], failed["attempt"]) == ("failed", 1)
    assert retried.status_code == 202
    body = retried.json()
    assert (body["status"], body["attempt"], body["started_at"]) == ("queued", 2, None)
    assert [h["attempt"] for h in body["history"]] == [1]
    assert queued_events == [("queued", 1), ("queued", 2)], "each queued event names its attempt"
