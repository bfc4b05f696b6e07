"""Every error a route documents is one it answers, in the documented shape.

For each operation of the OpenAPI document and each 4xx/5xx status it lists, a request made to
provoke exactly that error must get that status and a body valid against the documented schema.
A status documented without a way to provoke it here fails the test, as does a recipe for a
status the route does not document: the document and the service cannot drift apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from jsonschema_rs import Draft202012Validator

from app.config import Settings
from app.main import create_app
from standins.processes import free_port
from tests.support import Service, point_at_service, waiting_task

ADMIN, USER = "errors-admin-key-0001", "errors-user-key-0001"
VIEWER = "errors-viewer-key-0001"
NOT_UTF8 = b'{"task": "\xff"}'


@dataclass
class Fixtures:
    """What the recipes aim at: a queued task, a failed one, a decided checkpoint and a
    pending one, in a database of the test's own."""

    queued: str
    failed: str
    pending_checkpoint: str
    decided_checkpoint: str
    spent_key: str  # an admin key whose submits and reads this minute are used up


def spent_key(http: TestClient) -> str:
    """An admin key limited to one submit and one read a minute, both made (a submit without
    a body is counted, then refused as invalid: nothing is stored)."""
    made = http.post(
        "/v1/admin/keys",
        json={
            "tenant": "tester",
            "role": "admin",
            "limits": {"submits_per_minute": 1, "reads_per_minute": 1},
        },
    )
    assert made.status_code == 201, made.text
    headers = {"X-API-Key": made.json()["secret"]}
    assert http.get("/v1/me", headers=headers).status_code == 200
    assert http.post("/v1/agent/execute", json={}, headers=headers).status_code == 422
    assert http.get("/v1/me", headers=headers).status_code == 429
    secret: str = made.json()["secret"]
    return secret


@pytest.fixture(scope="module")
def app_and_fixtures(service: Service) -> Iterator[tuple[TestClient, Fixtures]]:
    db_name = f"errors_{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as env:
        keys = f"tester:{ADMIN}:admin,user:{USER},viewer:{VIEWER}:viewer"
        point_at_service(env, service, db_name=db_name, redis_db=9, api_keys=keys)
        with TestClient(create_app(Settings()), headers={"X-API-Key": ADMIN}) as http:
            submit = {"task": "Write a haiku about harbours"}
            queued = http.post("/v1/agent/execute", json=submit).json()["task_id"]
            waiting = [waiting_task("tester", n) for n in range(3)]
            service.mongo[db_name].tasks.insert_many([task for task, _ in waiting])
            service.mongo[db_name].checkpoints.insert_many([cp for _, cp in waiting])
            pending, decided, rejected = (str(cp["_id"]) for _, cp in waiting)
            approved = http.post(f"/v1/admin/checkpoints/{decided}/approve", json={})
            assert approved.status_code == 200, approved.text
            # A rejected checkpoint fails its task (CHECKPOINT_REJECTED): a finished task.
            refused = http.post(f"/v1/admin/checkpoints/{rejected}/reject", json={"reason": "no"})
            assert refused.status_code == 200, refused.text
            failed = str(waiting[2][0]["_id"])
            yield http, Fixtures(queued, failed, pending, decided, spent_key(http))
    service.mongo.drop_database(db_name)


@pytest.fixture(scope="module")
def store_down(service: Service) -> Iterator[TestClient]:
    """The API with its MongoDB unreachable (a port nothing listens on)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MONGO_URI", f"mongodb://127.0.0.1:{free_port()}")
        env.setenv("MONGO_TIMEOUT_MS", "300")
        env.setenv("MONGO_OPERATION_TIMEOUT_MS", "600")
        env.setenv("REDIS_URL", service.topology.env["REDIS_URL"].rsplit("/", 1)[0] + "/9")
        env.setenv("API_KEYS", f"tester:{ADMIN}:admin")
        with TestClient(create_app(Settings()), headers={"X-API-Key": ADMIN}) as http:
            yield http


Call = Callable[[TestClient, Fixtures, TestClient], httpx.Response]
NO_KEY = {"X-API-Key": ""}
AS_USER = {"X-API-Key": USER}
AS_VIEWER = {"X-API-Key": VIEWER}


def _unknown() -> str:
    return str(uuid.uuid4())


def _recipes() -> dict[tuple[str, str, str], Call]:
    """(method, path, status) -> the request that provokes that error."""
    recipes: dict[tuple[str, str, str], Call] = {
        ("POST", "/v1/agent/execute", "400"): lambda h, f, d: h.post(
            "/v1/agent/execute", content=NOT_UTF8, headers={"content-type": "application/json"}
        ),
        ("POST", "/v1/agent/execute", "409"): _reused_idempotency_key,
        ("POST", "/v1/agent/execute", "413"): lambda h, f, d: h.post(
            "/v1/agent/execute", json={"task": "x" * 70_000}
        ),
        ("POST", "/v1/agent/execute", "422"): lambda h, f, d: h.post("/v1/agent/execute", json={}),
        ("POST", "/v1/agent/execute", "503"): lambda h, f, d: d.post(
            "/v1/agent/execute", json={"task": "Write a haiku about outages"}
        ),
        ("GET", "/v1/tasks", "400"): lambda h, f, d: h.get("/v1/tasks", params={"cursor": "bogus"}),
        ("GET", "/v1/tasks", "422"): lambda h, f, d: h.get("/v1/tasks", params={"status": "bogus"}),
        ("GET", "/v1/admin/tasks", "400"): lambda h, f, d: h.get(
            "/v1/admin/tasks", params={"cursor": "bogus"}
        ),
        ("GET", "/v1/admin/tasks", "403"): lambda h, f, d: h.get(
            "/v1/admin/tasks", headers=AS_USER
        ),
        ("GET", "/v1/admin/tasks", "422"): lambda h, f, d: h.get(
            "/v1/admin/tasks", params={"text": ""}
        ),
        ("POST", "/v1/tasks/{task_id}/cancel", "409"): lambda h, f, d: h.post(
            f"/v1/tasks/{f.failed}/cancel"
        ),
        ("POST", "/v1/tasks/{task_id}/retry", "409"): lambda h, f, d: h.post(
            f"/v1/tasks/{f.queued}/retry"
        ),
        ("GET", "/v1/sessions/{session_id}/messages", "404"): lambda h, f, d: h.get(
            "/v1/sessions/no-such-session/messages"
        ),
        ("GET", "/v1/sessions/{session_id}/messages", "422"): lambda h, f, d: h.get(
            "/v1/sessions/-bad-/messages"
        ),
        ("GET", "/v1/sessions/{session_id}/messages", "403"): lambda h, f, d: h.get(
            "/v1/sessions/any-session/messages", params={"owner": "tester"}, headers=AS_USER
        ),
        ("GET", "/v1/admin/checkpoints", "403"): lambda h, f, d: h.get(
            "/v1/admin/checkpoints", headers=AS_USER
        ),
        ("GET", "/v1/admin/checkpoints", "422"): lambda h, f, d: h.get(
            "/v1/admin/checkpoints", params={"limit": 0}
        ),
        ("GET", "/v1/system/history", "422"): lambda h, f, d: h.get(
            "/v1/system/history", params={"minutes": 0}
        ),
        ("GET", "/v1/system/history", "503"): lambda h, f, d: d.get("/v1/system/history"),
        ("GET", "/ready", "503"): lambda h, f, d: d.get("/ready"),
    }
    for path in (
        "/v1/tasks/{task_id}",
        "/v1/tasks/{task_id}/runs",
        "/v1/tasks/{task_id}/events",
        "/v1/tasks/{task_id}/checkpoints",
    ):
        recipes[("GET", path, "404")] = lambda h, f, d, p=path: h.get(p.format(task_id=_unknown()))
        recipes[("GET", path, "422")] = lambda h, f, d, p=path: h.get(p.format(task_id="nope"))
    for action in ("cancel", "retry"):
        path = f"/v1/tasks/{{task_id}}/{action}"
        recipes[("POST", path, "404")] = lambda h, f, d, p=path: h.post(
            p.format(task_id=_unknown())
        )
        recipes[("POST", path, "422")] = lambda h, f, d, p=path: h.post(p.format(task_id="nope"))
    for decision, body in (("approve", {}), ("reject", {"reason": "not now"})):
        path = f"/v1/admin/checkpoints/{{checkpoint_id}}/{decision}"
        recipes[("POST", path, "400")] = lambda h, f, d, p=path: h.post(
            p.format(checkpoint_id=f.pending_checkpoint),
            content=NOT_UTF8,
            headers={"content-type": "application/json"},
        )
        recipes[("POST", path, "403")] = lambda h, f, d, p=path, b=body: h.post(
            p.format(checkpoint_id=f.pending_checkpoint), json=b, headers=AS_USER
        )
        recipes[("POST", path, "404")] = lambda h, f, d, p=path, b=body: h.post(
            p.format(checkpoint_id=_unknown()), json=b
        )
        recipes[("POST", path, "409")] = lambda h, f, d, p=path, b=body: h.post(
            p.format(checkpoint_id=f.decided_checkpoint), json=b
        )
    recipes[("POST", "/v1/agent/execute", "403")] = lambda h, f, d: h.post(
        "/v1/agent/execute", json={"task": "Write a haiku"}, headers=AS_VIEWER
    )
    recipes.update(_key_recipes())
    # Approving with edits its stage does not allow: the service's own 422, in the same shape.
    recipes[("POST", "/v1/admin/checkpoints/{checkpoint_id}/approve", "422")] = lambda h, f, d: (
        h.post(
            f"/v1/admin/checkpoints/{f.pending_checkpoint}/approve",
            json={"edits": {"agent_name": "CodeAgent"}},
        )
    )
    recipes[("POST", "/v1/admin/checkpoints/{checkpoint_id}/reject", "422")] = lambda h, f, d: (
        h.post(f"/v1/admin/checkpoints/{f.pending_checkpoint}/reject", json={})
    )
    return recipes


def _key_recipes() -> dict[tuple[str, str, str], Call]:
    """The admin API for keys: another role (403), an unknown key (404), a malformed id or
    body (422), a body that is not JSON (400)."""
    one, unknown = "/v1/admin/keys/{key_id}", "key_0123456789abcdef"
    recipes: dict[tuple[str, str, str], Call] = {
        ("GET", "/v1/admin/keys", "403"): lambda h, f, d: h.get("/v1/admin/keys", headers=AS_USER),
        ("GET", "/v1/admin/keys", "422"): lambda h, f, d: h.get(
            "/v1/admin/keys", params={"tenant": ""}
        ),
        ("POST", "/v1/admin/keys", "400"): lambda h, f, d: h.post(
            "/v1/admin/keys", content=NOT_UTF8, headers={"content-type": "application/json"}
        ),
        ("POST", "/v1/admin/keys", "403"): lambda h, f, d: h.post(
            "/v1/admin/keys", json={"tenant": "acme"}, headers=AS_USER
        ),
        ("POST", "/v1/admin/keys", "422"): lambda h, f, d: h.post(
            "/v1/admin/keys", json={"tenant": "not a tenant"}
        ),
        ("GET", one, "403"): lambda h, f, d: h.get(one.format(key_id=unknown), headers=AS_USER),
        ("GET", one, "404"): lambda h, f, d: h.get(one.format(key_id=unknown)),
        ("GET", one, "422"): lambda h, f, d: h.get(one.format(key_id="nope")),
    }
    for action, body in (("revoke", None), ("rotate", {"grace_seconds": 60})):
        path = f"{one}/{action}"
        recipes[("POST", path, "403")] = lambda h, f, d, p=path, b=body: h.post(
            p.format(key_id=unknown), json=b, headers=AS_USER
        )
        recipes[("POST", path, "404")] = lambda h, f, d, p=path, b=body: h.post(
            p.format(key_id=unknown), json=b
        )
        recipes[("POST", path, "422")] = lambda h, f, d, p=path, b=body: h.post(
            p.format(key_id="nope"), json=b
        )
    recipes[("POST", f"{one}/rotate", "409")] = _rotated_twice
    recipes[("POST", f"{one}/rotate", "400")] = lambda h, f, d: h.post(
        f"/v1/admin/keys/{unknown}/rotate",
        content=NOT_UTF8,
        headers={"content-type": "application/json"},
    )
    return recipes


def _rotated_twice(h: TestClient, f: Fixtures, d: TestClient) -> httpx.Response:
    key_id = h.post("/v1/admin/keys", json={"tenant": "acme"}).json()["key_id"]
    first = h.post(f"/v1/admin/keys/{key_id}/rotate", json={"grace_seconds": 600})
    assert first.status_code == 200, first.text
    return h.post(f"/v1/admin/keys/{key_id}/rotate", json={"grace_seconds": 0})


def _reused_idempotency_key(h: TestClient, f: Fixtures, d: TestClient) -> httpx.Response:
    key = {"Idempotency-Key": f"errors-{uuid.uuid4().hex}"}
    assert h.post("/v1/agent/execute", json={"task": "first"}, headers=key).status_code == 202
    return h.post("/v1/agent/execute", json={"task": "second"}, headers=key)


def _documented(spec: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    found = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    found[(method.upper(), path, status)] = response
    return found


def _schema_of(response: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    schema = response["content"]["application/json"]["schema"]
    return {**schema, "components": spec["components"]}


def test_every_documented_error_is_answered_in_its_documented_shape(
    app_and_fixtures: tuple[TestClient, Fixtures], store_down: TestClient
) -> None:
    http, fixtures = app_and_fixtures
    spec = http.app.openapi()  # type: ignore[attr-defined]
    documented = _documented(spec)
    recipes = _recipes()
    # Every /v1 route documents 401 and 429: one recipe each, a request without a key and one
    # with a key whose rate limits are used up.
    keys = {"401": NO_KEY, "429": {"X-API-Key": fixtures.spent_key}}
    for method, path, status in documented:
        if status in keys:
            recipes[(method, path, status)] = lambda h, f, d, m=method, p=path, s=status: h.request(
                m,
                p.format(
                    task_id=fixtures.queued,
                    checkpoint_id=fixtures.pending_checkpoint,
                    session_id="any-session",
                    key_id="key_0123456789abcdef",
                ),
                headers=keys[s],
            )
    assert sorted(set(documented) - set(recipes)) == [], "documented errors never provoked"
    assert sorted(set(recipes) - set(documented)) == [], "errors answered but not documented"
    wrong = []
    for key in sorted(documented):
        answer = recipes[key](http, fixtures, store_down)
        problems = [
            error.message
            for error in Draft202012Validator(_schema_of(documented[key], spec)).iter_errors(
                answer.json()
            )
        ]
        if str(answer.status_code) != key[2] or problems:
            wrong.append((key, answer.status_code, answer.text[:200], problems))
    assert wrong == []


def test_edits_the_stage_does_not_allow_are_a_validation_error_naming_the_field(
    app_and_fixtures: tuple[TestClient, Fixtures],
) -> None:
    http, fixtures = app_and_fixtures
    answer = http.post(
        f"/v1/admin/checkpoints/{fixtures.pending_checkpoint}/approve",
        json={"edits": {"agent_name": "CodeAgent"}},
    )
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert (problem["type"], problem["loc"]) == ("invalid_edits", ["body", "edits"])
    assert "agent_name" in problem["msg"]
    # Nothing was decided: the checkpoint still waits.
    listed = http.get(f"/v1/tasks/{waiting_task_id(http, fixtures)}/checkpoints").json()
    assert [c["status"] for c in listed["items"]] == ["pending"]


def waiting_task_id(http: TestClient, fixtures: Fixtures) -> str:
    pending = http.get("/v1/admin/checkpoints", params={"status": "pending"}).json()["items"]
    [checkpoint] = [c for c in pending if c["checkpoint_id"] == fixtures.pending_checkpoint]
    return str(checkpoint["task_id"])
