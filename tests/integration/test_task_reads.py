"""Reading tasks: newest first, cursor pages, filters, and only the caller's own."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.support import Service, wait_until, waiting_task


def test_pages_filters_and_owner_isolation(service: Service) -> None:
    session = f"reads-{uuid.uuid4().hex[:8]}"
    texts = [
        "Write a Python function that adds two numbers",
        "Write a blog post about electric bicycles",
        "Write a Python class for a stack",
        "Write an article about ocean currents",
        "Write a Python script that counts words",
    ]
    with service.client() as http, service.client(service.other_api_key) as other:
        ids = [service.submit(http, text, session_id=session)["task_id"] for text in texts]
        foreign = service.submit(other, "Write a blog post about tea", session_id=session)
        for task_id in ids:
            service.wait_final(http, task_id)
        service.wait_final(other, foreign["task_id"])

        pages: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"session_id": session, "limit": 2}
            if cursor:
                params["cursor"] = cursor
            body = http.get("/v1/tasks", params=params).json()
            pages.extend(item["task_id"] for item in body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert pages == list(reversed(ids)), "newest first, every task once, no foreign task"
        # A date without a zone is UTC, and pages combine with a date range.
        until = (datetime.utcnow() + timedelta(hours=1)).replace(microsecond=0).isoformat()
        dated = {"session_id": session, "limit": 2, "created_to": until}
        first = http.get("/v1/tasks", params=dated).json()
        second = http.get("/v1/tasks", params={**dated, "cursor": first["next_cursor"]})
        assert second.status_code == 200, second.text
        assert [i["task_id"] for i in first["items"] + second.json()["items"]] == pages[:4]

        code = http.get("/v1/tasks", params={"session_id": session, "agent_type": "CodeAgent"})
        assert {i["task_id"] for i in code.json()["items"]} == {ids[0], ids[2], ids[4]}
        done = http.get("/v1/tasks", params={"session_id": session, "status": "completed"})
        assert len(done.json()["items"]) == 5
        failed = http.get("/v1/tasks", params={"session_id": session, "status": "failed"})
        assert failed.json()["items"] == []

        future = (datetime.now().astimezone() + timedelta(hours=1)).isoformat()
        later = http.get("/v1/tasks", params={"session_id": session, "created_from": future})
        assert later.json()["items"] == []
        earlier = http.get("/v1/tasks", params={"session_id": session, "created_to": future})
        assert len(earlier.json()["items"]) == 5

        hidden = http.get(f"/v1/tasks/{foreign['task_id']}")
        assert hidden.status_code == 404
        assert hidden.json()["error"] == "TASK_NOT_FOUND"
        own = other.get(f"/v1/tasks/{foreign['task_id']}")
        assert own.status_code == 200
        assert own.json()["owner"] == "other"


def test_health_and_ready(service: Service) -> None:
    with service.client() as http:
        assert http.get("/health").json() == {"status": "ok"}
        ready = http.get("/ready")
        assert ready.status_code == 200
        checks = {"mongo": "ok", "redis": "ok", "search": "ok"}
        assert ready.json() == {"status": "ready", "checks": checks}


def test_request_id_is_echoed(service: Service) -> None:
    with service.client() as http:
        response = http.get("/health", headers={"X-Request-ID": "trace-abc-123"})
        assert response.headers["X-Request-ID"] == "trace-abc-123"
        generated = http.get("/health").headers["X-Request-ID"]
        assert len(generated) == 32


def test_an_unknown_agent_filter_is_refused_naming_the_agents(service: Service) -> None:
    with service.client() as http:
        refused = http.get("/v1/tasks", params={"agent_type": "code"})
        known = http.get("/v1/tasks", params={"agent_type": "ContentAgent"})
        schema = http.get("/openapi.json").json()
    assert refused.status_code == 422
    [error] = refused.json()["detail"]
    assert error["loc"] == ["query", "agent_type"]
    assert "unknown agent 'code'; the agents are ContentAgent, CodeAgent" in error["msg"]
    assert known.status_code == 200
    [param] = [
        p for p in schema["paths"]["/v1/tasks"]["get"]["parameters"] if p["name"] == "agent_type"
    ]
    assert param["schema"]["enum"] == ["ContentAgent", "CodeAgent"]


def test_text_filter_and_an_admin_view_of_every_tenant(service: Service) -> None:
    nonce = uuid.uuid4().hex[:8]
    with (
        service.client() as http,
        service.client(service.other_api_key) as other,
        service.client(service.admin_key) as admin,
    ):
        mine = service.submit(http, f"Write a blog post about Lighthouses {nonce}")["task_id"]
        theirs = service.submit(other, f"Write a blog post about lighthouse keepers {nonce}")
        service.wait_final(http, mine)
        service.wait_final(other, theirs["task_id"])

        own = http.get("/v1/tasks", params={"text": f"LIGHTHOUSES {nonce}"}).json()["items"]
        by_part = http.get("/v1/tasks", params={"text": "lighthouse"}).json()["items"]
        special = http.get("/v1/tasks", params={"text": ".*"}).json()["items"]
        every = admin.get("/v1/admin/tasks", params={"text": nonce}).json()["items"]
        one = admin.get("/v1/admin/tasks", params={"text": nonce, "owner": "other"}).json()
        as_user = http.get("/v1/admin/tasks")
        read_by_admin = admin.get(f"/v1/tasks/{theirs['task_id']}")
        runs_by_admin = admin.get(f"/v1/tasks/{theirs['task_id']}/runs")
        read_by_user = http.get(f"/v1/tasks/{theirs['task_id']}")
        session = f"/v1/sessions/{theirs['session_id']}/messages"
        wait_until(
            lambda: len(admin.get(session, params={"owner": "other"}).json()["messages"]) == 2
        )
        session_by_user = http.get(session, params={"owner": "other"})
        foreign = f"/v1/tasks/{mine}"
        acts_of_another_user = [
            other.post(f"{foreign}/cancel").status_code,
            other.post(f"{foreign}/retry").status_code,
            other.get(f"{foreign}/events").status_code,
            other.get(f"{foreign}/runs").status_code,
        ]
        own_session_missing = admin.get(session)
    assert session_by_user.status_code == 403
    assert acts_of_another_user == [404] * 4
    assert own_session_missing.status_code == 404, "an admin's own sessions by default"
    assert [t["task_id"] for t in own] == [mine], "any case, the caller's only"
    assert mine in {t["task_id"] for t in by_part}
    assert theirs["task_id"] not in {t["task_id"] for t in by_part}
    assert special == [], "the text is matched as it is, not as a pattern"
    assert {(t["task_id"], t["owner"]) for t in every} == {
        (mine, "dev"),
        (theirs["task_id"], "other"),
    }
    assert [t["task_id"] for t in one["items"]] == [theirs["task_id"]]
    assert as_user.status_code == 403
    assert read_by_admin.status_code == 200
    assert read_by_admin.json()["owner"] == "other"
    assert runs_by_admin.status_code == 200
    assert read_by_user.status_code == 404


def test_a_text_filter_with_a_control_character_is_refused(service: Service) -> None:
    with service.client() as http:
        refused = http.get("/v1/tasks", params={"text": "tea\x00"})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["query", "text"]


def test_the_review_queue_oldest_first(service: Service) -> None:
    """Checkpoints waiting longest come first with order=oldest, newest first by default."""
    now = datetime.now(UTC)
    waiting = [waiting_task("dev", n) for n in range(3)]
    for hours, (task, checkpoint) in zip((3, 2, 1), waiting, strict=True):
        task["created_at"] = checkpoint["created_at"] = now - timedelta(hours=24 + hours)
    service.db.tasks.insert_many([task for task, _ in waiting])
    service.db.checkpoints.insert_many([checkpoint for _, checkpoint in waiting])
    ids = [str(checkpoint["_id"]) for _, checkpoint in waiting]
    with service.client(service.admin_key) as admin:
        pending = {"status": "pending", "limit": 200}
        oldest = admin.get("/v1/admin/checkpoints", params={**pending, "order": "oldest"})
        newest = admin.get("/v1/admin/checkpoints", params=pending)
        for checkpoint_id in ids:  # decided, so no other test meets them
            admin.post(f"/v1/admin/checkpoints/{checkpoint_id}/reject", json={"reason": "test"})
    assert [c["checkpoint_id"] for c in oldest.json()["items"][:3]] == ids
    listed = [c["checkpoint_id"] for c in newest.json()["items"]]
    assert listed[-3:] == list(reversed(ids))
