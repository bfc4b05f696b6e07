"""How many tasks a worker process keeps in flight, and what each costs it in CPU.

With the OpenAI stand-in holding every call for --latency-ms (1 s), a burst of tasks is
submitted at once (64 connections, bench/_load.py: httpx's client would spend 2 s of the two
cores on 256 submits, CPU the service under test needs); each task makes two LLM calls (router,
agent), so 2 s is the floor of a burst that overlaps completely. Three configurations run in
turn, each on a fresh service: 64 tasks on one worker process of 64 slots, 256 on one process
of 256 slots, 256 on two processes of 128.
For each it prints the wall time from the first submit to the last completion (every task of
the burst counted, read from MongoDB), the worker CPU milliseconds per task (utime + stime of
the worker processes over the burst) and their peak RSS. The anchor is a bare Celery task on
the same broker, pool and slots that makes the same two held calls to the same stand-in.

    .venv/bin/python bench/inflight.py [--latency-ms 1000] [--profile DIR]

Targets: 64 tasks <= 2.8 s; 256 on one process <= 8 s; 256 on two processes <= 4 s; worker CPU
<= 20 ms per task; peak RSS <= 300 MB per worker process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pymongo
from _bare_calls import run_burst  # bench/, beside this script
from _load import post_all
from _procs import cpu_seconds, peak_rss_mib, start_bare_worker

from standins.processes import ManagedProcess
from standins.topology import Topology

TEXTS = (
    "Write a blog post about renewable energy trends number {n}",
    "Write a Python function that reverses a linked list, variant {n}",
)
FINAL = {"completed", "failed", "cancelled"}


@dataclass(frozen=True)
class Config:
    tasks: int
    workers: int
    slots: int
    target_s: float


CONFIGS = (Config(64, 1, 64, 2.8), Config(256, 1, 256, 8.0), Config(256, 2, 128, 4.0))


async def burst(topology: Topology, db: pymongo.database.Database, tasks: int) -> float:  # type: ignore[type-arg]
    """Submit every task at once; seconds from the first submit to the last completion."""
    headers = {"X-API-Key": topology.api_key}
    session = f"bench-{uuid.uuid4().hex[:8]}"
    bodies = [
        json.dumps({"task": TEXTS[n % 2].format(n=n), "session_id": session}).encode()
        for n in range(tasks)
    ]
    started = datetime.now(UTC)
    replies = await post_all(f"{topology.api_url}/v1/agent/execute", bodies, headers, 64)
    if any(status != 202 for status, _ in replies):
        raise RuntimeError(f"submits refused: {[status for status, _ in replies][:10]}")
    deadline = time.monotonic() + 180
    query = {"session_id": session, "status": {"$in": sorted(FINAL)}}
    while db.tasks.count_documents(query) < tasks:
        if time.monotonic() > deadline:
            raise TimeoutError("the burst did not finish in 180 s")
        await asyncio.sleep(0.1)
    docs = list(db.tasks.find({"session_id": session}, {"status": 1, "completed_at": 1}))
    outcomes = {status: sum(d["status"] == status for d in docs) for status in FINAL}
    if outcomes["completed"] != tasks:
        print(f"  outcomes: {outcomes}")
    finished = max(d["completed_at"] for d in docs).replace(tzinfo=UTC)
    return (finished - started).total_seconds()


def run_service(
    config: Config, latency_ms: int, profile: Path | None
) -> tuple[float, float, float]:
    """(wall seconds, worker CPU ms per task, worst peak RSS MiB) of one burst."""
    topology = Topology(env={"LOG_LEVEL": "WARNING"})
    try:
        topology.start_service(openai_latency_ms=latency_ms)
        workers = [
            topology.start_worker(f"bench{n}", concurrency=config.slots)
            for n in range(config.workers)
        ]
        for worker in workers:
            topology.wait_worker_ready(worker)
        mongo: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            topology.env["MONGO_URI"]
        )
        asyncio.run(burst(topology, mongo["agent_orchestrator"], 8))  # warm-up
        spies = [_spy(w, profile, config) for w in workers] if profile else []
        before = sum(cpu_seconds(w.pid) for w in workers)
        wall = asyncio.run(burst(topology, mongo["agent_orchestrator"], config.tasks))
        cpu = sum(cpu_seconds(w.pid) for w in workers) - before
        for spy in spies:
            spy.send_signal(2)
            spy.wait()
        rss = max(peak_rss_mib(w.pid) for w in workers)
        mongo.close()
        return wall, cpu * 1000 / config.tasks, rss
    finally:
        topology.stop()


def _spy(worker: ManagedProcess, profile: Path, config: Config) -> subprocess.Popen[bytes]:
    profile.mkdir(parents=True, exist_ok=True)
    out = profile / f"worker-{config.tasks}x{config.workers}-{worker.pid}.txt"
    argv = [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(worker.pid)]
    # --nonblocking: a sampler that stops the process 200 times a second slows it 3-10x.
    argv += ["-o", str(out), "--format", "raw", "-r", "200", "--nonblocking", "--gil"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_bare(config: Config, latency_ms: int) -> float:
    """Wall seconds of the same burst as bare Celery tasks making the same two calls."""
    topology = Topology(env={"LOG_LEVEL": "WARNING"})
    try:
        topology.start_redis()
        topology.start_openai(latency_ms=latency_ms)
        workers = [
            start_bare_worker(topology, f"bare{n}", "bench._bare_calls:app", config.slots)
            for n in range(config.workers)
        ]
        for worker in workers:
            topology.wait_worker_ready(worker)
        return run_burst(topology.env["REDIS_URL"], config.tasks)
    finally:
        topology.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=1000)
    parser.add_argument("--profile", type=Path, help="write py-spy profiles of the workers here")
    args = parser.parse_args()
    print(f"LLM latency {args.latency_ms} ms per call, 2 calls per task: floor 2 x latency")
    for config in CONFIGS:
        bare = run_bare(config, args.latency_ms)
        wall, cpu_ms, rss = run_service(config, args.latency_ms, args.profile)
        verdicts = [
            f"wall {'ok' if wall <= config.target_s else 'MISSED'} (<= {config.target_s:g} s)",
            f"cpu {'ok' if cpu_ms <= 20 else 'MISSED'} (<= 20 ms)",
            f"rss {'ok' if rss <= 300 else 'MISSED'} (<= 300 MB)",
        ]
        print(
            f"{config.tasks} tasks, {config.workers} worker process(es) x {config.slots} slots: "
            f"{wall:.2f} s (bare Celery {bare:.2f} s, {wall / bare:.2f}x); "
            f"worker CPU {cpu_ms:.1f} ms/task; peak RSS {rss:.0f} MiB; " + ", ".join(verdicts)
        )


if __name__ == "__main__":
    main()
