"""The images' commands, run for real outside a container (this machine has no Docker engine).

The API and a worker are started with exactly the `CMD` of Dockerfile.api and
Dockerfile.worker, in the environment their `ENV` lines give (ports moved to free ones), against
the stand-ins and a real redis-server, with no PROMETHEUS_MULTIPROC_DIR: the API answers
`/ready`, a task completes, the worker serves its own counters on WORKER_METRICS_PORT, and both
images' `HEALTHCHECK` commands pass.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from standins.processes import LOCALHOST, ManagedProcess, free_port, spawn
from standins.topology import Topology
from tests.support import wait_until

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Image:
    """What a Dockerfile's final stage says about the process it runs."""

    cmd: list[str]
    healthcheck: list[str]
    env: dict[str, str]


def read_dockerfile(path: Path) -> Image:
    """CMD, HEALTHCHECK's command and ENV of the last stage (exec form, as the files use)."""
    text = re.sub(r"\\\n", " ", path.read_text())
    stages = re.split(r"(?m)^FROM\s", text)
    cmd: list[str] = []
    healthcheck: list[str] = []
    env: dict[str, str] = {}
    for line in stages[-1].splitlines():
        instruction, _, rest = line.strip().partition(" ")
        if instruction == "CMD":
            cmd = json.loads(rest)
        elif instruction == "HEALTHCHECK":
            healthcheck = json.loads(rest.split(" CMD ", 1)[1])
        elif instruction == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(rest))
    assert cmd, f"{path.name}: no CMD in its last stage"
    assert healthcheck, f"{path.name}: no HEALTHCHECK in its last stage"
    return Image(cmd, healthcheck, env)


def image_env(image: Image, **overrides: str) -> dict[str, str]:
    """The image's ENV, with this venv's executables first on PATH and the overrides."""
    env = {k: v for k, v in image.env.items() if k != "PATH"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return {**env, **overrides}


@dataclass
class Stack:
    topology: Topology
    api_url: str
    worker_metrics_url: str
    api_health: list[str]
    worker_health: list[str]
    api_env: dict[str, str]
    worker_env: dict[str, str]
    worker: ManagedProcess


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    api_image = read_dockerfile(ROOT / "Dockerfile.api")
    worker_image = read_dockerfile(ROOT / "Dockerfile.worker")
    topology = Topology(env={"LOG_LEVEL": "INFO"})
    # As in a container: no directory shared between the API and the workers.
    topology.env.pop("PROMETHEUS_MULTIPROC_DIR")
    topology.env.pop("ENVIRONMENT")  # the images' own (production) applies
    try:
        topology.start_mongo()
        topology.start_redis()
        topology.start_openai()
        topology.start_tavily()
        api_port, metrics_port = free_port(), free_port()
        api_env = image_env(
            api_image, **topology.env, UVICORN_HOST=LOCALHOST, UVICORN_PORT=str(api_port)
        )
        api = spawn("api", api_image.cmd, env=api_env, log_path=topology.workdir / "api.log")
        topology.processes.append(api)
        api.wait_port(LOCALHOST, api_port, timeout=60)
        worker_env = image_env(
            worker_image,
            **topology.env,
            WORKER_METRICS_PORT=str(metrics_port),
            WORKER_HEARTBEAT_FILE=str(topology.workdir / "worker-heartbeat.json"),
            WORKER_CONCURRENCY="4",
        )
        worker = spawn(
            "worker", worker_image.cmd, env=worker_env, log_path=topology.workdir / "worker.log"
        )
        topology.processes.append(worker)
        topology.wait_worker_ready(worker)
        worker.wait_port(LOCALHOST, metrics_port)
        yield Stack(
            topology,
            f"http://{LOCALHOST}:{api_port}",
            f"http://{LOCALHOST}:{metrics_port}/metrics",
            api_image.healthcheck,
            worker_image.healthcheck,
            api_env,
            worker_env,
            worker,
        )
    finally:
        topology.stop()


def counter(text: str, name: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    )


def test_the_images_commands_serve_a_task_and_each_process_its_own_metrics(stack: Stack) -> None:
    assert stack.api_env["ENVIRONMENT"] == stack.worker_env["ENVIRONMENT"] == "production"
    ready = httpx.get(f"{stack.api_url}/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    headers = {"X-API-Key": stack.topology.api_key}
    with httpx.Client(base_url=stack.api_url, headers=headers, timeout=10) as http:
        accepted = http.post("/v1/agent/execute", json={"task": "Write a haiku about rivers"})
        assert accepted.status_code == 202, accepted.text
        task_id = accepted.json()["task_id"]
        final: dict[str, object] = {}

        def finished() -> bool:
            final.update(http.get(f"/v1/tasks/{task_id}").json())
            return final["status"] in {"completed", "failed", "cancelled"}

        wait_until(finished, timeout=60)
    assert final["status"] == "completed", final

    worker_text = httpx.get(stack.worker_metrics_url, timeout=10).text
    assert counter(worker_text, "orchestrator_tasks_finished_total") == 1
    assert counter(worker_text, "orchestrator_agent_runs_total") >= 2  # router and agent
    assert counter(worker_text, "orchestrator_mongo_commands_total") > 0
    api_text = httpx.get(f"{stack.api_url}/metrics", timeout=10).text
    assert counter(api_text, "orchestrator_tasks_submitted_total") == 1
    # The API serves its own process only: the worker's counters are scraped from the worker.
    assert counter(api_text, "orchestrator_agent_runs_total") == 0


def run_healthcheck(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **env}
    return subprocess.run(argv, env=full_env, capture_output=True, text=True, timeout=30)


def test_both_healthchecks_pass_on_a_healthy_stack(stack: Stack) -> None:
    api = run_healthcheck(stack.api_health, stack.api_env)
    assert api.returncode == 0, api.stderr
    beat_file = Path(stack.worker_env["WORKER_HEARTBEAT_FILE"])
    wait_until(beat_file.exists, timeout=30)
    worker = run_healthcheck(stack.worker_health, stack.worker_env)
    assert worker.returncode == 0, worker.stderr
    assert worker.stdout.strip() == "healthy"


def test_worker_healthcheck_fails_with_a_reason_without_a_fresh_ok_beat(
    stack: Stack, tmp_path: Path
) -> None:
    missing = run_healthcheck(
        stack.worker_health, {**stack.worker_env, "WORKER_HEARTBEAT_FILE": str(tmp_path / "x")}
    )
    assert missing.returncode == 1
    assert missing.stderr.startswith("unhealthy: no heartbeat in")
    stalled_file = tmp_path / "stalled.json"
    stalled_file.write_text(json.dumps({"status": "stalled", "stalled_reason": "loop blocked"}))
    stalled = run_healthcheck(
        stack.worker_health, {**stack.worker_env, "WORKER_HEARTBEAT_FILE": str(stalled_file)}
    )
    assert stalled.returncode == 1
    assert stalled.stderr.strip() == "unhealthy: the worker reports stalled: loop blocked"
    old = os.stat(stalled_file).st_mtime - 60
    stalled_file.write_text(json.dumps({"status": "ok"}))
    os.utime(stalled_file, (old, old))
    stale = run_healthcheck(
        stack.worker_health, {**stack.worker_env, "WORKER_HEARTBEAT_FILE": str(stalled_file)}
    )
    assert stale.returncode == 1
    assert "old (more than 15s)" in stale.stderr
