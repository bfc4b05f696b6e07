"""`make run`: start the stand-ins for every dependency not configured, the API and a worker."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import sys
import time
from types import FrameType

from pydantic import ValidationError

from app.config import AppSettings, SecuritySettings, describe_error
from standins.processes import LOCALHOST
from standins.topology import Topology, environ_without_blanks, redis_answers

BANNER_RULE = "-" * 72


def _configured(env: dict[str, str], *names: str) -> bool:
    return any(env.get(name) for name in names)


MIN_SECRET = 8  # app.config.parse_api_keys refuses shorter secrets


class LauncherError(RuntimeError):
    """A configuration `make run` cannot start with: one line, no traceback."""


def _secret(env: dict[str, str], name: str) -> str:
    """The secret in `name`, or a new one; a secret the API would refuse is named here."""
    value = env.get(name) or secrets.token_urlsafe(24)
    if len(value) < MIN_SECRET or any(c in value for c in ",: "):
        raise LauncherError(
            f"configuration error: {name} must be at least {MIN_SECRET} characters, "
            "without commas, colons or spaces"
        )
    return value


def _configured_keys(env: dict[str, str]) -> str:
    """API_KEYS as the API reads it: the environment first, then .env (pydantic-settings)."""
    if env.get("API_KEYS"):
        return env["API_KEYS"]
    try:
        configured = SecuritySettings().api_keys
    except ValidationError as exc:
        raise LauncherError(describe_error(exc)) from None
    return configured.get_secret_value() if configured else ""


def api_port() -> int:
    """PORT as the product's settings read it (the environment, then .env), validated."""
    try:
        return AppSettings().port
    except ValidationError as exc:
        raise LauncherError(describe_error(exc)) from None


def new_topology(env: dict[str, str]) -> Topology:
    """A topology with a user key (DEV_API_KEY, else generated) and an admin key (DEV_ADMIN_KEY,
    else generated), added to the keys API_KEYS already holds, which keep working."""
    user, admin = _secret(env, "DEV_API_KEY"), _secret(env, "DEV_ADMIN_KEY")
    keys = [_configured_keys(env), f"dev:{user}", f"dev-admin:{admin}:admin"]
    topology = Topology(
        env={**env, "API_KEYS": ",".join(filter(None, keys))},
        api_key=user,
        die_with_parent=True,
        keep_logs=True,
        monitored=True,
        rate_limited=True,
    )
    topology.admin_key = admin
    return topology


def check_port_free(port: int) -> None:
    """Refuse a busy PORT before anything starts (else the banner would show another server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((LOCALHOST, port))
        except OSError:
            raise LauncherError(
                f"configuration error: PORT {port} is already in use on {LOCALHOST}; "
                "stop what listens there or set PORT to a free port"
            ) from None


def start_all(topology: Topology, env: dict[str, str], port: int) -> None:
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
    topology.start_api(port, log_to_file=False)
    worker = topology.start_worker("worker1", log_to_file=True)
    topology.wait_worker_ready(worker)


def banner(topology: Topology) -> str:
    """What a newcomer needs: the URL, the key, and which parts are stand-ins."""
    lines = [
        BANNER_RULE,
        f"Agent Orchestrator is running at {topology.api_url}  (docs: {topology.api_url}/docs)",
        f"Dashboard: {topology.api_url}/dashboard/  (sign in with one of these keys)",
        f"API key: {topology.api_key}   admin key (approvals, all tasks): {topology.admin_key}",
        "Stand-ins (local, not the real services):" if topology.standins else "No stand-ins.",
        *(f"  - {line}" for line in topology.standins),
        f"Worker log: {topology.workdir / 'worker1.log'} (kept after the run)",
        f"Watch the worker with Flower: celery --broker={topology.broker_url} flower",
        "Press Ctrl-C to stop everything. For the README's Try-it commands, paste:",
        f"  export API={topology.api_url} KEY={topology.api_key}",
        BANNER_RULE,
    ]
    return "\n".join(lines)


def main() -> int:
    env = environ_without_blanks()
    stopping = False

    def _stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    # Closing the terminal (SIGHUP) stops everything, as Ctrl-C does.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)
    try:
        port = api_port()
        check_port_free(port)
        topology = new_topology(env)
    except LauncherError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        start_all(topology, env, port)
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
        print(f"logs kept in {topology.workdir}", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
