"""`make run`: start the stand-ins for every dependency not configured, the API and a worker."""

from __future__ import annotations

import os
import signal
import sys
import time
from types import FrameType

from app.embedded.topology import Topology, environ_without_blanks, redis_answers

BANNER_RULE = "-" * 72


def _configured(env: dict[str, str], *names: str) -> bool:
    return any(env.get(name) for name in names)


def new_topology(env: dict[str, str]) -> Topology:
    """A topology whose API key is DEV_API_KEY when set, else a generated one."""
    api_key = env.get("DEV_API_KEY")
    if not api_key:
        return Topology(env=dict(env))
    return Topology(env={**env, "API_KEYS": f"dev:{api_key}"}, api_key=api_key)


def start_all(topology: Topology, env: dict[str, str]) -> None:
    """Start what is missing; real services named in the environment are used as they are."""
    if not _configured(env, "MONGO_URI"):
        topology.start_mongo()
    redis_url = env.get("REDIS_URL")
    if not redis_url or not redis_answers(redis_url):
        if redis_url:
            print(f"REDIS_URL {redis_url} does not answer PING; starting a local redis-server")
        topology.start_redis()
    if not _configured(env, "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        topology.start_openai(int(env.get("OPENAI_STANDIN_LATENCY_MS", "0")))
    if not _configured(env, "TAVILY_BASE_URL", "TAVILY_API_KEY"):
        topology.start_tavily()
    topology.start_api(int(env.get("PORT", "8000")), log_to_file=False)
    worker = topology.start_worker("worker1", log_to_file=True)
    topology.wait_worker_ready(worker)


def banner(topology: Topology) -> str:
    """What a newcomer needs: the URL, the key, and which parts are stand-ins."""
    lines = [
        BANNER_RULE,
        f"Agent Orchestrator is running at {topology.api_url}  (docs: {topology.api_url}/docs)",
        f"API key: {topology.api_key}",
        "Stand-ins (local, not the real services):" if topology.standins else "No stand-ins.",
        *(f"  - {line}" for line in topology.standins),
        f"Worker log: {topology.workdir / 'worker1.log'}",
        "Try:",
        f"  curl -s -X POST {topology.api_url}/v1/agent/execute -H 'X-API-Key: {topology.api_key}'"
        " -H 'Content-Type: application/json'"
        ' -d \'{"task": "Write a blog post about renewable energy trends"}\'',
        "Press Ctrl-C to stop everything.",
        BANNER_RULE,
    ]
    return "\n".join(lines)


def main() -> int:
    env = environ_without_blanks()
    stopping = False

    def _stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    topology = new_topology(env)
    try:
        start_all(topology, env)
        print(banner(topology), flush=True)
        while not stopping:
            dead = [p.name for p in topology.processes if not p.alive()]
            if dead:
                print(f"stopping: {', '.join(dead)} exited", file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    finally:
        topology.stop()
        print("stopped every process make run started", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
