"""Managed API keys on the real topology: made with the CLI or the admin API, stored as hashes,
tenancy by the key's tenant, revocation seen by every API process within a second, rotation
with a grace period."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.dispatch.keys import CACHE_SECONDS
from standins.processes import ManagedProcess
from tests.support import Service, wait_until

ROOT = Path(__file__).resolve().parents[2]


def cli(service: Service, *args: str) -> dict[str, Any]:
    """`python -m app.cli keys ...` with the service's settings; its JSON answer."""
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "keys", *args],
        env=service.topology.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@pytest.fixture(scope="module")
def second_api(service: Service) -> Iterator[str]:
    """Another API process on the same stores (the fixture's URL stays the first one's)."""
    env = service.topology.env
    first = env["API_URL"]
    process: ManagedProcess = service.topology.start_api()
    url = env["API_URL"]
    env["API_URL"] = first
    yield url
    process.stop()


def admin_made_key(service: Service, role: str) -> dict[str, Any]:
    """A key of tenant acme made with the admin API; its answer (with the secret)."""
    made = httpx.post(
        f"{service.topology.api_url}/v1/admin/keys",
        json={"tenant": "acme", "role": role},
        headers={"X-API-Key": service.admin_key},
    )
    assert made.status_code == 201, made.text
    key: dict[str, Any] = made.json()
    return key


def status_with(url: str, secret: str, path: str = "/v1/me") -> int:
    return httpx.get(url + path, headers={"X-API-Key": secret}, timeout=10).status_code


def test_a_key_made_with_the_cli_works_and_its_secret_is_neither_stored_nor_logged(
    service: Service,
) -> None:
    made = cli(service, "create", "--tenant", "acme", "--role", "user", "--name", "ci")
    secret = made["secret"]
    assert secret.startswith("ao_")
    assert made["tenant"] == "acme"
    with service.client(secret) as http:
        me = http.get("/v1/me").json()
        assert "key_id" in me, me
        assert (me["key_id"], me["tenant"], me["role"]) == (made["key_id"], "acme", "user")
        task_id = service.submit(http, "Write a haiku about keys")["task_id"]
        service.wait_final(http, task_id)
    # Tenancy is the key's tenant: another key of acme sees the task, another tenant does not.
    viewer = cli(service, "create", "--tenant", "acme", "--role", "viewer")
    with service.client(viewer["secret"]) as http:
        assert http.get(f"/v1/tasks/{task_id}").json()["owner"] == "acme"
        listed = [t["task_id"] for t in http.get("/v1/tasks").json()["items"]]
        assert task_id in listed
        refused = http.post("/v1/agent/execute", json={"task": "Write a haiku"})
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "FORBIDDEN"
    with service.client() as http:
        assert http.get(f"/v1/tasks/{task_id}").status_code == 404

    stored = service.db.api_keys.find_one({"_id": made["key_id"]})
    assert stored["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps(stored, default=str)
    assert stored["last_used_at"] is not None
    for log in service.topology.workdir.glob("*.log"):
        assert secret not in log.read_text(errors="replace"), log.name
        assert viewer["secret"] not in log.read_text(errors="replace"), log.name

    listed_keys = cli(service, "list", "--tenant", "acme")
    assert {k["key_id"] for k in listed_keys} >= {made["key_id"], viewer["key_id"]}
    assert "secret" not in json.dumps(listed_keys)


def test_a_revoked_key_is_refused_within_a_second_on_every_api_process(
    service: Service, second_api: str
) -> None:
    first = service.topology.api_url
    admin = {"X-API-Key": service.admin_key}
    key = admin_made_key(service, "user")
    # Both processes know the key (each holds it in its cache now).
    assert status_with(first, key["secret"]) == status_with(second_api, key["secret"]) == 200

    revoked = httpx.post(f"{first}/v1/admin/keys/{key['key_id']}/revoke", headers=admin)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    deadline = time.monotonic() + 1.0
    for url in (first, second_api):
        while status_with(url, key["secret"]) != 401:
            assert time.monotonic() < deadline, f"{url} still accepts the revoked key"
            time.sleep(0.05)
    body = httpx.get(f"{second_api}/v1/me", headers={"X-API-Key": key["secret"]}).json()
    assert (body["error"], body["detail"]) == ("UNAUTHORIZED", "Invalid API key.")
    # Revoking twice keeps the first date.
    again = httpx.post(f"{first}/v1/admin/keys/{key['key_id']}/revoke", headers=admin).json()
    assert again["revoked_at"] == revoked.json()["revoked_at"]


def test_a_rotated_keys_old_secret_works_during_the_grace_period_only(
    service: Service, second_api: str
) -> None:
    first = service.topology.api_url
    admin = {"X-API-Key": service.admin_key}
    key = admin_made_key(service, "viewer")
    grace = 3.0
    rotated = httpx.post(
        f"{first}/v1/admin/keys/{key['key_id']}/rotate",
        json={"grace_seconds": grace},
        headers=admin,
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    rotated_at = time.monotonic()
    assert new["secret"] != key["secret"]
    assert new["previous_valid_until"] is not None
    for url in (first, second_api):
        assert status_with(url, new["secret"]) == 200
        assert status_with(url, key["secret"]) == 200
        assert time.monotonic() < rotated_at + grace, "the checks took the whole grace period"
    # After the grace period (and the cache's half second), only the new secret works.
    for url in (first, second_api):
        wait_until(lambda u=url: status_with(u, key["secret"]) == 401, timeout=grace + 5)
        assert time.monotonic() >= rotated_at + grace - CACHE_SECONDS
        assert status_with(url, new["secret"]) == 200


def test_the_admin_api_refuses_bad_input_and_other_roles(service: Service) -> None:
    admin = service.client(service.admin_key)
    with admin:
        bad_tenant = admin.post("/v1/admin/keys", json={"tenant": "a b", "role": "user"})
        assert bad_tenant.status_code == 422
        bad_role = admin.post("/v1/admin/keys", json={"tenant": "acme", "role": "root"})
        assert bad_role.status_code == 422
        past = admin.post(
            "/v1/admin/keys",
            json={"tenant": "acme", "expires_at": "2020-01-01T00:00:00Z"},
        )
        assert past.status_code == 422, past.text
        missing = admin.post("/v1/admin/keys/key_0123456789abcdef/revoke")
        assert (missing.status_code, missing.json()["error"]) == (404, "KEY_NOT_FOUND")
        assert admin.post("/v1/admin/keys/not-a-key/revoke").status_code == 422
    with service.client() as user:
        refused = user.get("/v1/admin/keys")
        assert refused.status_code == 403
        assert "manage_keys" in refused.json()["detail"]


def test_an_expired_key_is_refused(service: Service) -> None:
    made = cli(service, "create", "--tenant", "acme", "--expires-in-days", "0.00002")  # ~2 s
    assert status_with(service.topology.api_url, made["secret"]) in (200, 401)
    wait_until(lambda: status_with(service.topology.api_url, made["secret"]) == 401, timeout=10)
