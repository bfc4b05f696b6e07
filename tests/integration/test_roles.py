"""The role matrix README.md documents ("Keys, tenants and roles"), called row by row with a
key of each role on the real topology."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support import Service

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("viewer", "user", "operator", "admin")
ROW = re.compile(r"^\| `(GET|POST) ([^`]+)`[^|]*\|" + r"\s*(\d{3})\s*\|" * 4 + r"\s*$")
# The bodies of the POST rows (by path template); the others send none.
BODIES: dict[str, dict[str, Any]] = {
    "/v1/agent/execute": {"task": "Write a haiku about roles"},
    "/v1/admin/checkpoints/{unknown_checkpoint}/approve": {},
    "/v1/admin/checkpoints/{unknown_checkpoint}/reject": {"reason": "no"},
    "/v1/admin/keys": {"tenant": "matrix-made", "role": "viewer"},
    "/v1/admin/keys/{unknown_key}/rotate": {"grace_seconds": 0},
}


def documented_matrix() -> list[tuple[str, str, dict[str, int]]]:
    text = (ROOT / "README.md").read_text()
    table = text.split("<!-- role-matrix -->", 1)[1].split("<!-- /role-matrix -->", 1)[0]
    rows = []
    for line in table.strip().splitlines()[2:]:
        match = ROW.match(line)
        assert match, f"not a matrix row: {line}"
        method, path, *codes = match.groups()
        rows.append((method, path, dict(zip(ROLES, map(int, codes), strict=True))))
    return rows


MATRIX = documented_matrix()


@pytest.fixture(scope="module")
def world(service: Service) -> dict[str, Any]:
    """A key of each role in one tenant, a finished task and session of that tenant ("own")
    and of another ("other")."""
    tenant = "matrix-" + uuid.uuid4().hex[:8]
    keys = {}
    with service.client(service.admin_key) as admin:
        for role in ROLES:
            made = admin.post("/v1/admin/keys", json={"tenant": tenant, "role": role})
            assert made.status_code == 201, made.text
            keys[role] = made.json()["secret"]
    own_session, other_session = f"{tenant}-s", f"other-{tenant}-s"
    with service.client(keys["user"]) as http:
        own = service.submit(http, "Write a haiku about tenants", session_id=own_session)
        service.wait_final(http, own["task_id"])
    with service.client(service.other_api_key) as http:
        other = service.submit(http, "Write a haiku about others", session_id=other_session)
        service.wait_final(http, other["task_id"])
        other_tenant = http.get("/v1/me").json()["tenant"]
    return {
        "keys": keys,
        "values": {
            "own": own["task_id"],
            "other": other["task_id"],
            "own_session": own_session,
            "other_session": other_session,
            "other_tenant": other_tenant,
            "unknown_checkpoint": str(uuid.uuid4()),
            "unknown_key": "key_" + uuid.uuid4().hex[:16],
        },
    }


def test_the_matrix_covers_every_v1_route(service: Service) -> None:
    with service.client() as http:
        paths = http.get("/openapi.json").json()["paths"]
    documented = {re.sub(r"\{[^}]+\}", "{}", p.split("?")[0]) for _, p, _ in MATRIX}
    for path, operations in paths.items():
        if path.startswith("/v1/"):
            assert re.sub(r"\{[^}]+\}", "{}", path) in documented, f"{path} is not in the matrix"
            assert set(operations) <= {"get", "post"}, path


@pytest.mark.parametrize(
    ("method", "path", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX]
)
def test_each_role_gets_the_documented_status(
    service: Service, world: dict[str, Any], method: str, path: str, expected: dict[str, int]
) -> None:
    url = path.format(**world["values"])
    body = BODIES.get(path.split(" ")[0])
    got = {}
    for role in ROLES:
        with service.client(world["keys"][role]) as http:
            response = http.request(method, url, json=body) if method == "POST" else http.get(url)
            got[role] = response.status_code
    assert got == expected, f"{method} {url}"
