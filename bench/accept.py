"""The accept path: POST /v1/agent/execute on the service against a bare FastAPI app.

Starts the MongoDB, Redis, OpenAI and Tavily stand-ins and the API, but no worker: accepted
tasks stay queued (the API's reconciler is held off so it does not re-send them). The anchor
is bench/_bare_api.py, run by uvicorn with the same flags: the same request builds a task
document, inserts it into the same MongoDB stand-in (database `bench_bare`) and LPUSHes one
message to the same redis-server. Both are loaded by the same generator, 32 connections for
--seconds each: wrk when it is on PATH, else bench/_load.py (asyncio streams) in its own
process. Each round measures bare, service, bare, service; round 2 runs after --seed more
task documents were inserted into each store, so it shows whether accepting slows as the
store grows (the bare app's own change is printed beside it: the machine is shared).

    .venv/bin/python bench/accept.py [--seconds 5] [--seed 5000]

Targets: the service accepts at least 0.7x the bare app's requests/s in each round, and its
second round runs at least 0.9x its first.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymongo
from _bare_api import DB_NAME as BARE_DB

from app.domain.models import RequestInfo, Task, TaskStatus, utcnow
from standins.processes import LOCALHOST, free_port, spawn
from standins.topology import Topology

ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 32
BODY = json.dumps({"task": "Write a blog post about renewable energy trends"})
SERVICE_DB = "agent_orchestrator"
RATIO_TARGET, GROWTH_TARGET = 0.7, 0.9


@dataclass(frozen=True)
class Side:
    """One app under load: where to send, with which headers."""

    name: str
    url: str
    headers: dict[str, str]


def wrk_rate(side: Side, seconds: float, workdir: Path) -> tuple[float, int]:
    """Requests/s and non-2xx answers from one wrk run (2 threads, 32 connections)."""
    script = workdir / f"{side.name}.lua"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(BODY)}"]
    headers = {"Content-Type": "application/json", **side.headers}
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    script.write_text("\n".join(lines) + "\n")
    argv = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "-s", str(script)]
    out = subprocess.run([*argv, side.url], capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if rate is None:
        raise RuntimeError(f"no Requests/sec in wrk's output:\n{out}")
    return float(rate.group(1)), int(bad.group(1)) if bad else 0


def asyncio_rate(side: Side, seconds: float, workdir: Path) -> tuple[float, int]:
    """202s per second and other answers from bench/_load.py in its own process."""
    argv = [sys.executable, str(ROOT / "bench" / "_load.py"), side.url, "--body", BODY]
    argv += ["--connections", str(CONNECTIONS), "--seconds", str(seconds)]
    for name, value in side.headers.items():
        argv += ["--header", f"{name}:{value}"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    return result["ok"] / result["seconds"], int(result["sent"] - result["ok"])


def measure(side: Side, seconds: float, workdir: Path) -> float:
    """Accepted requests/s of one run; refuses a run with any answer but 202."""
    rate, bad = (wrk_rate if shutil.which("wrk") else asyncio_rate)(side, seconds, workdir)
    if bad:
        raise RuntimeError(f"{side.name}: {bad} answers were not 202")
    return rate


def start_bare_api(topology: Topology) -> Side:
    """bench/_bare_api.py under uvicorn, with Topology.start_api's flags, on the same stores."""
    port = free_port()
    argv = [
        sys.executable, "-m", "uvicorn", "bench._bare_api:app",
        "--host", LOCALHOST, "--port", str(port), "--no-access-log",
    ]  # fmt: skip
    log_path = topology.workdir / "bare_api.log"
    proc = spawn("bare_api", argv, env=topology.env, log_path=log_path, cwd=ROOT)
    topology.processes.append(proc)
    proc.wait_port(LOCALHOST, port, timeout=60)
    return Side("bare", f"http://{LOCALHOST}:{port}/v1/agent/execute", {})


def seed_documents(count: int) -> list[dict[str, Any]]:
    """Completed task documents as the service stores them."""
    now = utcnow()
    docs = []
    for n in range(count):
        task = Task(
            task_id=str(uuid.uuid4()),
            owner="dev",
            session_id=str(uuid.uuid4()),
            task=f"Write a blog post about renewable energy trends, seeded {n}",
            status=TaskStatus.COMPLETED,
            created_at=now,
            queued_at=now,
            updated_at=now,
            completed_at=now,
            request=RequestInfo(ip=LOCALHOST, user_agent="bench", request_id=uuid.uuid4().hex),
        )
        docs.append(task.model_dump(by_alias=True, mode="python"))
    return docs


def seed(mongo_uri: str, count: int) -> None:
    """Insert `count` task documents into the service's and the bare app's collections."""
    with pymongo.MongoClient(mongo_uri) as mongo:
        for db in (SERVICE_DB, BARE_DB):
            docs = seed_documents(count)
            for start in range(0, count, 1000):
                mongo[db]["tasks"].insert_many(docs[start : start + 1000])


def measure_round(service: Side, bare: Side, seconds: float, workdir: Path) -> tuple[float, float]:
    """Mean requests/s of service and bare, measured bare, service, bare, service."""
    rates: dict[str, list[float]] = {"service": [], "bare": []}
    for side in (bare, service, bare, service):
        rates[side.name].append(measure(side, seconds, workdir))
    return statistics.mean(rates["service"]), statistics.mean(rates["bare"])


def verdict(met: bool) -> str:
    """How a figure stands against its target."""
    return "met" if met else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--seed", type=int, default=5000, help="documents added before round 2")
    args = parser.parse_args()

    topology = Topology(env={"LOG_LEVEL": "WARNING", "RECONCILE_INTERVAL_SECONDS": "3600"})
    try:
        topology.start_service()
        service = Side(
            "service",
            f"{topology.api_url}/v1/agent/execute",
            {"X-API-Key": topology.api_key},
        )
        bare = start_bare_api(topology)
        generator = "wrk" if shutil.which("wrk") else "bench/_load.py (asyncio, own process)"
        print(f"generator: {generator}, {CONNECTIONS} connections, {args.seconds:g} s per run")
        print("each round: bare, service, bare, service; figures are the mean of two runs")
        for side in (bare, service):  # first requests import and connect: not measured
            measure(side, 1, topology.workdir)
        first = measure_round(service, bare, args.seconds, topology.workdir)
        seed(topology.env["MONGO_URI"], args.seed)
        second = measure_round(service, bare, args.seconds, topology.workdir)
        for n, (svc, anchor) in enumerate((first, second), start=1):
            ratio = svc / anchor
            print(
                f"round {n}: service {svc:,.0f} req/s, bare {anchor:,.0f} req/s, "
                f"ratio {ratio:.2f}x (target >= {RATIO_TARGET}x: {verdict(ratio >= RATIO_TARGET)})"
            )
        growth = second[0] / first[0]
        print(
            f"service round 2 / round 1 (+{args.seed:,} tasks): {growth:.2f}x, "
            f"bare {second[1] / first[1]:.2f}x "
            f"(target >= {GROWTH_TARGET}x: {verdict(growth >= GROWTH_TARGET)})"
        )
    finally:
        topology.stop()


if __name__ == "__main__":
    main()
