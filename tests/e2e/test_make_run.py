"""`make run`'s launcher: banner and keys, both sample tasks end to end, an approval with the
admin key it prints, closing the terminal stops every child; refused configurations; Flower
sees the worker and its tasks."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from standins.launcher import new_topology, start_all
from standins.processes import free_port
from tests.support import wait_until

CONFIGURED = ("MONGO_URI", "REDIS_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "TAVILY_API_KEY")
CONFIGURED_TOO = ("TAVILY_BASE_URL", "API_KEYS", "DEV_API_KEY", "ENVIRONMENT")


def _children(pid: int) -> set[int]:
    """Every descendant of pid, from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _launcher_env(**extra: str) -> dict[str, str]:
    """This environment without the service's own settings (the launcher picks stand-ins)."""
    env = {k: v for k, v in os.environ.items() if k not in CONFIGURED + CONFIGURED_TOO}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def _start_launcher(tmp_path: Path, **extra: str) -> tuple[subprocess.Popen[bytes], Path]:
    """`make run`'s launcher with its output in a file: the process and that file."""
    out_path = tmp_path / "make-run.out"
    with out_path.open("wb") as out:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "standins.launcher"],
            env=_launcher_env(**extra),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return launcher, out_path


def test_launcher_serves_both_sample_tasks_and_stops_every_child(tmp_path: Path) -> None:
    port = free_port()
    # A key of the user's own (API_KEYS) keeps working beside the two the banner prints.
    launcher, out_path = _start_launcher(tmp_path, PORT=str(port), API_KEYS="mine:my-own-secret-1")
    try:
        wait_until(lambda: "Press Ctrl-C" in out_path.read_text(errors="replace"), timeout=90)
        banner = out_path.read_text(errors="replace")
        key_line = re.search(
            r"^API key: (\S+)\s+admin key \(approvals, all tasks\): (\S+)$", banner, re.MULTILINE
        )
        assert key_line, banner
        assert f"running at http://127.0.0.1:{port}" in banner
        for standin in ("MongoDB", "Redis", "OpenAI", "Tavily"):
            assert f"  - {standin}: " in banner
        children = _children(launcher.pid)
        assert len(children) >= 6, "4 stand-ins, the API and a worker"

        headers = {"X-API-Key": key_line.group(1)}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as http:
            content = http.post("/v1/agent/execute", json={"task": "Write a blog post about tea"})
            code = http.post(
                "/v1/agent/execute",
                json={"task": "Write a Python function that reverses a linked list"},
            )
            assert (content.status_code, code.status_code) == (202, 202)
            results = {}
            for name, reply in (("content", content), ("code", code)):
                url = f"/v1/tasks/{reply.json()['task_id']}"
                wait_until(lambda u=url: http.get(u).json()["status"] == "completed", timeout=10)
                results[name] = http.get(url).json()
        assert results["content"]["selected_agent"] == "ContentAgent"
        assert results["content"]["result"]["citations"]
        assert results["code"]["selected_agent"] == "CodeAgent"
        assert results["code"]["result"]["code_language"] == "python"

        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, headers={"X-API-Key": "my-own-secret-1"}) as mine:
            body = {"task": "Write a blog post about kites", "require_approval": True}
            waiting = mine.post("/v1/agent/execute", json=body).json()["task_id"]
            url = f"/v1/tasks/{waiting}"
            wait_until(lambda: mine.get(url).json()["status"] == "awaiting_approval", timeout=20)
            [checkpoint] = mine.get(f"{url}/checkpoints").json()["items"]
            with httpx.Client(base_url=base, headers={"X-API-Key": key_line.group(2)}) as admin:
                approved = admin.post(
                    f"/v1/admin/checkpoints/{checkpoint['checkpoint_id']}/approve", json={}
                )
            assert approved.status_code == 200, approved.text
            wait_until(lambda: mine.get(url).json()["status"] == "completed", timeout=20)

        launcher.send_signal(signal.SIGHUP)  # the terminal closed: the same stop as Ctrl-C
        assert launcher.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in children):
            time.sleep(0.1)
        assert [pid for pid in children if _alive(pid)] == []
        assert "stopped every process make run started" in out_path.read_text(errors="replace")
        # The worker log the banner names is still there after the run.
        worker_log = Path(re.search(r"^Worker log: (\S+)", banner, re.MULTILINE).group(1))
        assert " ready." in worker_log.read_text(errors="replace")
        shutil.rmtree(worker_log.parent)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()


def test_launcher_starts_redis_when_redis_url_does_not_answer() -> None:
    value = "redis://127.0.0.1:1/0"
    env = {"REDIS_URL": value, "MONGO_URI": "mongodb://127.0.0.1:1/", "OPENAI_API_KEY": "sk-x"}
    env |= {"TAVILY_API_KEY": "tvly-x"}
    topology = new_topology(env)
    try:
        start_all(topology, env, free_port())
        assert topology.env["REDIS_URL"] != value
        assert [line.split(":")[0] for line in topology.standins] == ["Redis"]
        assert httpx.get(f"{topology.api_url}/health").json() == {"status": "ok"}
    finally:
        topology.stop()


def _refused(tmp_path: Path, **extra: str) -> tuple[int, str]:
    """Run the launcher with a configuration it must refuse: exit code and everything printed."""
    done = subprocess.run(
        [sys.executable, "-m", "standins.launcher"],
        env=_launcher_env(**extra),
        cwd=tmp_path,  # no .env in reach
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


def test_a_busy_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out = _refused(tmp_path, PORT=str(port))
    assert code == 2
    assert out.strip() == (
        f"configuration error: PORT {port} is already in use on 127.0.0.1; "
        "stop what listens there or set PORT to a free port"
    )


def test_a_port_that_is_not_a_port_is_named_without_a_traceback(tmp_path: Path) -> None:
    code, out = _refused(tmp_path, PORT="eighty")
    assert code == 2
    assert out.strip().startswith("configuration error: PORT: ")
    assert "Traceback" not in out


def test_a_short_dev_api_key_is_named_without_a_traceback(tmp_path: Path) -> None:
    code, out = _refused(tmp_path, PORT=str(free_port()), DEV_API_KEY="short")
    assert code == 2
    assert "DEV_API_KEY must be at least 8 characters" in out
    assert "Traceback" not in out


def test_a_launcher_killed_with_sigkill_takes_its_children_with_it(tmp_path: Path) -> None:
    launcher, out_path = _start_launcher(tmp_path, PORT=str(free_port()))
    children: set[int] = set()
    try:
        wait_until(lambda: "Press Ctrl-C" in out_path.read_text(errors="replace"), timeout=90)
        children = _children(launcher.pid)
        assert len(children) >= 6, "4 stand-ins, the API and a worker"
        launcher.kill()
        launcher.wait()
        # Nothing is left holding ports: each child got SIGTERM when the launcher died.
        wait_until(lambda: not any(_alive(pid) for pid in children), timeout=30, interval=0.2)
    finally:
        for pid in children:  # the ones this test started, should any have outlived it
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
        banner = out_path.read_text(errors="replace")
        if found := re.search(r"^Worker log: (\S+)", banner, re.MULTILINE):
            shutil.rmtree(Path(found.group(1)).parent, ignore_errors=True)


def test_flower_started_as_the_banner_says_sees_the_worker_and_its_tasks(tmp_path: Path) -> None:
    port, flower_port = free_port(), free_port()
    launcher, out_path = _start_launcher(tmp_path, PORT=str(port))
    flower: subprocess.Popen[bytes] | None = None
    try:
        wait_until(lambda: "Press Ctrl-C" in out_path.read_text(errors="replace"), timeout=90)
        banner = out_path.read_text(errors="replace")
        command = re.search(r"^Watch the worker with Flower: (celery .+ flower)$", banner, re.M)
        key = re.search(r"^API key: (\S+)", banner, re.MULTILINE)
        assert command, banner
        assert key, banner
        # The banner's command as printed; Flower's REST API needs this switch without a login.
        argv = [sys.executable, "-m", *shlex.split(command.group(1))]
        argv += [f"--port={flower_port}", "--address=127.0.0.1"]
        with (tmp_path / "flower.log").open("wb") as log:
            flower = subprocess.Popen(
                argv,
                env=_launcher_env(FLOWER_UNAUTHENTICATED_API="true"),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        flower_api = httpx.Client(base_url=f"http://127.0.0.1:{flower_port}", timeout=10)

        def workers_online() -> dict[str, bool]:
            try:
                return dict(flower_api.get("/api/workers", params={"status": "true"}).json())
            except httpx.HTTPError:
                return {}

        # Heartbeats: Flower lists the worker before any task ran.
        wait_until(lambda: any(workers_online().values()), timeout=30, interval=0.5)
        assert [name.split("@")[0] for name in workers_online()] == ["worker1"]

        headers = {"X-API-Key": key[1]}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as http:
            reply = http.post("/v1/agent/execute", json={"task": "Write about tea"})
            task_id = reply.json()["task_id"]
            url = f"/v1/tasks/{task_id}"
            wait_until(lambda: http.get(url).json()["status"] == "completed", timeout=20)

        def flower_task() -> dict[str, object]:
            tasks = flower_api.get("/api/tasks").json()
            return next((t for t in tasks.values() if task_id in str(t["args"])), {})

        # Task events: the finished task, by the worker that ran it.
        wait_until(lambda: flower_task().get("state") == "SUCCESS", timeout=30, interval=0.5)
        seen = flower_task()
        assert seen["name"] == "tasks.process"
        assert str(seen["worker"]).startswith("worker1@")
        assert seen["result"] == "'completed'"
        flower_api.close()
    finally:
        if flower is not None:
            flower.terminate()
            flower.wait(timeout=30)
        launcher.send_signal(signal.SIGINT)
        launcher.wait(timeout=60)
        banner = out_path.read_text(errors="replace")
        if found := re.search(r"^Worker log: (\S+)", banner, re.MULTILINE):
            shutil.rmtree(Path(found.group(1)).parent, ignore_errors=True)
