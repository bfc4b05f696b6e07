"""The CodeDeploy revision: appspec.yml against the EC2 lifecycle, and the hooks in scripts/ run
for real against a recording `docker` and `aws` (tests/deploy_fakes.py) on PATH, a real HTTP
server for /ready and the real `python -m worker.healthcheck` inside `docker exec`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.dispatch.workers import write_heartbeat_file
from tests.deploy_fakes import ECR_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
FAKES = ROOT / "tests" / "deploy_fakes.py"
REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"

# The EC2/on-premises in-place lifecycle, in order (AWS CodeDeploy User Guide, "AppSpec 'hooks'
# section", "Lifecycle event hooks for an EC2/On-Premises deployment"). DownloadBundle and
# Install are CodeDeploy's own and cannot run scripts.
EC2_LIFECYCLE = [
    "ApplicationStop",
    "DownloadBundle",
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "ApplicationStart",
    "ValidateService",
]
RESERVED = {"DownloadBundle", "Install"}


def _digest(char: str) -> str:
    return "sha256:" + char * 64


class _Ready(BaseHTTPRequestHandler):
    status = 200
    body = b'{"status":"ready","checks":{"mongodb":"ok","redis":"ok","search":"ok"}}'

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/ready" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Host:
    """One EC2 instance: a bin/ with the fakes first on PATH, the install directory, the
    revisions CodeDeploy unpacks, and the /ready server."""

    root: Path
    ready: type[_Ready]
    ready_url: str
    revisions: list[Path] = field(default_factory=list)

    @property
    def app_dir(self) -> Path:
        return self.root / "opt" / "agent-orchestrator"

    @property
    def state_file(self) -> Path:
        return self.root / "docker-state.json"

    @property
    def log_file(self) -> Path:
        return self.root / "calls.jsonl"

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text())

    def edit(self, **changes: Any) -> None:
        state = self.state()
        state.update(changes)
        self.state_file.write_text(json.dumps(state))

    def calls(self) -> list[list[str]]:
        lines = self.log_file.read_text().splitlines() if self.log_file.exists() else []
        return [[json.loads(line)["tool"], *json.loads(line)["args"]] for line in lines]

    def forget_calls(self) -> None:
        self.log_file.write_text("")

    def revision(self, api: str, worker: str, release: str) -> Path:
        """The bundle deploy.yml pushes: the repository with deploy/release.env."""
        bundle = self.root / "deployment-root" / release / "deployment-archive"
        for name in ("appspec.yml", "docker-compose.yml", ".env.example"):
            bundle.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, bundle / name)
        for name in ("scripts", "deploy"):
            shutil.copytree(ROOT / name, bundle / name, ignore=shutil.ignore_patterns("node_*"))
        (bundle / "deploy" / "release.env").write_text(
            f"API_IMAGE={REGISTRY}/agent-orchestrator-api@{api}\n"
            f"WORKER_IMAGE={REGISTRY}/agent-orchestrator-worker@{worker}\n"
            f"RELEASE={release}\nAWS_REGION=eu-west-1\n"
        )
        self.revisions.append(bundle)
        return bundle

    def hook(self, bundle: Path, event: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Run `event`'s script from `bundle` as the CodeDeploy agent does (as root, from the
        revision's archive, with its environment variables)."""
        spec = yaml.safe_load((bundle / "appspec.yml").read_text())
        (entry,) = spec["hooks"][event]
        environment = {
            **os.environ,
            "PATH": f"{self.root / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "APP_DIR": str(self.app_dir),
            "FAKE_HOST_STATE": str(self.state_file),
            "FAKE_HOST_LOG": str(self.log_file),
            "LIFECYCLE_EVENT": event,
            "DEPLOYMENT_ID": "d-TEST",
            "APPLICATION_NAME": "agent-orchestrator-api",
            "DEPLOYMENT_GROUP_NAME": "agent-orchestrator-api-ec2",
            **env,
        }
        return subprocess.run(
            [bundle / entry["location"]],
            env=environment,
            cwd="/",
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def install(self, bundle: Path) -> None:
        """CodeDeploy's Install: appspec.yml's `files`, overwriting the previous revision's."""
        spec = yaml.safe_load((bundle / "appspec.yml").read_text())
        (entry,) = spec["files"]
        assert entry["source"] == "/"
        shutil.copytree(bundle, self.app_dir, dirs_exist_ok=True)

    def deploy(self, bundle: Path, previous: Path | None) -> list[subprocess.CompletedProcess[str]]:
        """A whole deployment in lifecycle order; ApplicationStop runs the previous revision's
        script and is skipped on a first deployment, as CodeDeploy does."""
        results = []
        if previous is not None:
            results.append(self.hook(previous, "ApplicationStop"))
        results.append(self.hook(bundle, "BeforeInstall"))
        self.install(bundle)
        results.append(self.hook(bundle, "ApplicationStart"))
        self.beat()
        results.append(self.hook(bundle, "ValidateService"))
        return results

    def beat(self, status: str = "ok", age: float = 0) -> None:
        """Each running worker container's watchdog writes its heartbeat file."""
        for container in self.state()["containers"]:
            path = container["environment"].get("WORKER_HEARTBEAT_FILE")
            if path and container["running"]:
                write_heartbeat_file(Path(path), {"status": status, "stalled_reason": None})
                stamp = time.time() - age
                os.utime(path, (stamp, stamp))

    def containers(self, role: str) -> list[dict[str, Any]]:
        found = self.state()["containers"]
        return [c for c in found if c["labels"].get("org.agent-orchestrator.role") == role]


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("docker", "aws"):
        shim = bin_dir / tool
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKES}" {tool} "$@"\n')
        shim.chmod(0o755)
    (tmp_path / "heartbeats").mkdir()
    ready = type("Ready", (_Ready,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), ready)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/ready"
    machine = Host(tmp_path, ready, url)
    machine.state_file.write_text(
        json.dumps(
            {
                "images": [],
                "containers": [],
                "logins": [],
                "next_id": 0,
                "heartbeat_dir": str(tmp_path / "heartbeats"),
            }
        )
    )
    machine.app_dir.mkdir(parents=True)
    # The operator's .env (README, Deploy): not part of any revision.
    (machine.app_dir / ".env").write_text(
        "ENVIRONMENT=production\nMONGO_ROOT_PASSWORD=m0ngo-pw\nREDIS_PASSWORD=r3dis-pw\n"
        f"METRICS_TOKEN=\nAPI_PORT={server.server_address[1]}\n"
    )
    yield machine
    server.shutdown()
    server.server_close()


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    assert ECR_PASSWORD not in result.stdout + result.stderr
    return result.stdout


def test_appspec_runs_the_hooks_in_the_ec2_lifecycle_order() -> None:
    spec = yaml.safe_load((ROOT / "appspec.yml").read_text())
    assert spec["version"] == 0.0
    assert spec["os"] == "linux"
    assert spec["files"] == [{"source": "/", "destination": "/opt/agent-orchestrator"}]
    hooks = list(spec["hooks"])
    assert hooks == ["ApplicationStop", "BeforeInstall", "ApplicationStart", "ValidateService"]
    assert hooks == sorted(hooks, key=EC2_LIFECYCLE.index)
    assert not RESERVED & set(hooks)
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    grace = {
        name: int(s["stop_grace_period"].rstrip("s"))
        for name, s in compose.items()
        if "stop_grace_period" in s
    }
    for event, (entry,) in spec["hooks"].items():
        script = ROOT / entry["location"]
        assert script.is_file(), event
        assert os.access(script, os.X_OK), f"{script} is not executable"
        assert script.read_text().splitlines()[:1] == ["#!/usr/bin/env bash"]
        assert "set -euo pipefail" in script.read_text()
        assert entry["runas"] == "root"
        assert 0 < entry["timeout"] <= 3600
    # Draining must fit in its hook: workers, then the API, each up to its stop grace period.
    stop = spec["hooks"]["ApplicationStop"][0]["timeout"]
    assert stop > grace["worker-1"] + grace["api"]
    assert spec["hooks"]["ApplicationStart"][0]["timeout"] > 240


def test_a_first_deployment_pulls_by_digest_starts_and_validates(host: Host) -> None:
    bundle = host.revision(_digest("a"), _digest("b"), "r1")
    # CodeDeploy skips ApplicationStop on a first deployment; run it anyway: nothing to stop.
    first_stop = host.hook(bundle, "ApplicationStop")
    assert "no running worker container" in _ok(first_stop)
    assert [c for c in host.calls() if c[1] == "stop"] == []

    before, start, validate = host.deploy(bundle, previous=None)
    assert "images ready" in _ok(before)
    _ok(start)
    assert "ok: /ready 200 and a fresh worker heartbeat" in _ok(validate)

    calls = host.calls()
    api = f"{REGISTRY}/agent-orchestrator-api@{_digest('a')}"
    worker = f"{REGISTRY}/agent-orchestrator-worker@{_digest('b')}"
    assert ["aws", "ecr", "get-login-password", "--region", "eu-west-1"] in calls
    logins = [c for c in calls if c[1] == "login"]
    assert logins == [["docker", "login", "--username", "AWS", "--password-stdin", REGISTRY]]
    assert [c[3] for c in calls if c[1] == "pull"] == [api, worker]
    (up,) = [c for c in calls if c[1:2] == ["compose"] and "up" in c]
    assert "--wait" in up
    # The stores' images are not in the release: compose pulls them when the host lacks them.
    assert up[up.index("--pull") : up.index("--pull") + 2] == ["--pull", "missing"]
    assert str(host.app_dir / "deploy/cloudwatch/docker-compose.cloudwatch.yml") in up

    state = host.state()
    assert {"mongo:7.0", "redis:7.4-alpine"} <= set(state["images"])
    assert {c["service"]: c["image"] for c in state["containers"]} == {
        "mongo": "mongo:7.0",
        "redis": "redis:7.4-alpine",
        "api": api,
        "worker-1": worker,
        "worker-2": worker,
    }
    groups = {
        c["service"]: (c["logging"] or {}).get("options", {}).get("awslogs-group")
        for c in state["containers"]
    }
    assert groups["api"] == "/agent-orchestrator/api"
    assert groups["worker-1"] == groups["worker-2"] == "/agent-orchestrator/worker"


def test_a_redeploy_drains_workers_before_the_api_and_every_hook_can_run_twice(
    host: Host,
) -> None:
    first = host.revision(_digest("a"), _digest("b"), "r1")
    for result in host.deploy(first, previous=None):
        _ok(result)
    api_before = host.containers("api")[0]["id"]
    workers_before = sorted(c["id"] for c in host.containers("worker"))
    host.forget_calls()

    second = host.revision(_digest("a"), _digest("c"), "r2")
    stop, before, start, validate = host.deploy(second, previous=first)
    assert "stopped" in _ok(stop)
    stops = [c for c in host.calls() if c[1] == "stop"]
    assert stops == [
        ["docker", "stop", "-t", "45", *workers_before],
        ["docker", "stop", "-t", "25", api_before],
    ]
    assert "present:" in _ok(before)
    pulls = [c[3] for c in host.calls() if c[1] == "pull"]
    assert pulls == [f"{REGISTRY}/agent-orchestrator-worker@{_digest('c')}"]
    _ok(start)
    _ok(validate)
    assert host.containers("api")[0]["id"] == api_before  # same image: kept, started again
    new_workers = host.containers("worker")
    assert {c["image"].rsplit("@", 1)[1] for c in new_workers} == {_digest("c")}
    assert all(c["running"] for c in host.state()["containers"])

    # Every hook again, as a retried deployment would: nothing pulled, nothing recreated.
    ids = sorted(c["id"] for c in host.state()["containers"])
    host.forget_calls()
    _ok(host.hook(second, "BeforeInstall"))
    _ok(host.hook(second, "ApplicationStart"))
    _ok(host.hook(second, "ValidateService"))
    assert [c for c in host.calls() if c[1] in ("pull", "login")] == []
    assert sorted(c["id"] for c in host.state()["containers"]) == ids
    _ok(host.hook(second, "ApplicationStop"))
    assert "no running worker container" in _ok(host.hook(second, "ApplicationStop"))


def test_a_previous_failed_deployment_does_not_stop_the_next(host: Host) -> None:
    first = host.revision(_digest("a"), _digest("b"), "r1")
    for result in host.deploy(first, previous=None):
        _ok(result)
    # It half failed: the API exited, one worker is still up, the operator removed .env.
    state = host.state()
    for container in state["containers"]:
        if container["service"] in ("api", "worker-2"):
            container["running"] = False
    host.edit(containers=state["containers"])
    (host.app_dir / ".env").unlink()
    host.forget_calls()

    out = _ok(host.hook(first, "ApplicationStop"))
    assert "no running api container" in out
    (running_worker,) = [c["id"] for c in host.containers("worker") if c["service"] == "worker-1"]
    assert [c for c in host.calls() if c[1] == "stop"] == [
        ["docker", "stop", "-t", "45", running_worker]
    ]
    # Starting without the operator's .env says what is missing instead of half starting.
    second = host.revision(_digest("a"), _digest("c"), "r2")
    _ok(host.hook(second, "BeforeInstall"))
    host.install(second)
    start = host.hook(second, "ApplicationStart")
    assert start.returncode == 1
    assert start.stderr.strip().splitlines()[-1] == (
        f"start_application: FAILED: {host.app_dir}/.env is missing: "
        "copy the repository's .env.example there and fill it"
    )


def test_validate_fails_with_one_line_naming_each_failed_check(host: Host) -> None:
    bundle = host.revision(_digest("a"), _digest("b"), "r1")
    _ok(host.hook(bundle, "BeforeInstall"))
    host.install(bundle)
    _ok(host.hook(bundle, "ApplicationStart"))
    host.ready.status = 503
    host.ready.body = b'{"code":"NOT_READY","detail":"Not ready: redis down."}'
    host.beat(age=600)

    fast = {"VALIDATE_ATTEMPTS": "3", "VALIDATE_DELAY_SECONDS": "0.1"}
    result = host.hook(bundle, "ValidateService", **fast)
    assert result.returncode == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("validate_service: FAILED: after 3 attempts 0.1 s apart: ")
    assert f"{host.ready_url} answered 503" in line
    assert "Not ready: redis down." in line
    assert "no worker heartbeat is fresh" in line
    stale = r"c\d+: unhealthy: the last heartbeat is 6\d\ds old \(more than 15s\)"
    assert re.search(f"{stale}, {stale}\\)$", line)

    # The API recovers, the workers still do not beat: only the worker check is named.
    host.ready.status = 200
    result = host.hook(bundle, "ValidateService", **fast)
    line = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 1
    assert "/ready ok; no worker heartbeat is fresh" in line

    # No worker container at all, and a stalled worker, are both named plainly.
    host.beat(status="stalled")
    line = host.hook(bundle, "ValidateService", **fast).stderr.strip().splitlines()[-1]
    assert "the worker reports stalled" in line
    host.edit(containers=[c for c in host.state()["containers"] if c["service"] in ("api",)])
    line = host.hook(bundle, "ValidateService", **fast).stderr.strip().splitlines()[-1]
    assert line.endswith("/ready ok; no worker container is running")


def test_before_install_refuses_an_image_that_is_not_pinned_by_digest(host: Host) -> None:
    bundle = host.revision(_digest("a"), _digest("b"), "r1")
    release = bundle / "deploy" / "release.env"
    release.write_text(release.read_text().replace(f"@{_digest('b')}", ":latest"))
    result = host.hook(bundle, "BeforeInstall")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "before_install: FAILED: WORKER_IMAGE is not pinned by digest: "
        f"{REGISTRY}/agent-orchestrator-worker:latest"
    )
    assert [c for c in host.calls() if c[1] == "pull"] == []

    # An image the registry does not have: three attempts, then one line naming it.
    bundle = host.revision(_digest("a"), _digest("d"), "r2")
    missing = f"{REGISTRY}/agent-orchestrator-worker@{_digest('d')}"
    host.edit(missing_images=[missing])
    result = host.hook(bundle, "BeforeInstall")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last == f"before_install: FAILED: could not pull {missing}"
    assert [c[3] for c in host.calls() if c[1] == "pull"].count(missing) == 3
