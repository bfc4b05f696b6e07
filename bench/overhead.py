"""What the service adds to a task, submit to completed, when the LLM answers at once.

Starts the service on the stand-ins with the OpenAI stand-in at 0 ms latency and two worker
processes of --concurrency slots. The anchor is bench/_bare_celery.py: two Celery worker
processes (threads pool, same concurrency) on the same redis-server whose task does two
inserts into the same MongoDB stand-in. Each side is measured twice, bare first:

- one at a time: --tasks tasks after --warmups, each sent when the last has finished; the
  service's figure is completed_at - created_at from the task document (server clocks), the
  bare one the task's end time minus its send time;
- full load: --burst tasks sent at once (the service's through the API, --in-flight requests
  at a time); tasks/s from the first acceptance (bare: first send) to the last completion,
  and the CPU time each process spent per task meanwhile (steadier than rates on a shared
  machine, and it says which process the time goes to).

    .venv/bin/python bench/overhead.py [--tasks 30] [--burst 300] [--concurrency 32]

Targets: one at a time, the service's median is at most 5x the bare median; at full load the
service completes at least 100 tasks/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from collections import Counter
from typing import Any

import _bare_celery as bare
import httpx
import pymongo
from _load import post_all
from _procs import cpu_seconds, start_bare_worker
from celery import Celery

from app.domain.models import FINAL_STATUSES
from standins.topology import Topology

BARE_APP = "bench._bare_celery:app"
TEXTS = (
    "Write a blog post about urban beekeeping, part {n}",
    "Write a Python function that merges two sorted lists, variant {n}",
)
FINAL = [status.value for status in FINAL_STATUSES]
POLL_SECONDS = 0.005
# Processes by what they are, for CPU time per task (names as started in main()).
SERVICE_PARTS = {
    "workers": ("bench1", "bench2"),
    "API": ("api",),
    "MongoDB": ("mongo",),
    "Redis": ("redis",),
    "LLM+search": ("openai", "tavily"),
}
BARE_PARTS = {"workers": ("bare1", "bare2"), "MongoDB": ("mongo",), "Redis": ("redis",)}
RATIO_TARGET, RATE_TARGET = 5.0, 100.0
Doc = dict[str, Any]


def wait_for(find: Any, what: str, timeout: float = 60.0, interval: float = POLL_SECONDS) -> Any:
    """Poll find() until it returns something truthy; raise after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not (found := find()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen in {timeout:g} s")
        time.sleep(interval)
    return found


def service_one_by_one(
    topology: Topology, tasks: Any, count: int
) -> tuple[list[float], Counter[str]]:
    """Submit one task at a time; server-side seconds from created_at to completed_at."""
    seconds: list[float] = []
    outcomes: Counter[str] = Counter()
    headers = {"X-API-Key": topology.api_key}
    with httpx.Client(base_url=topology.api_url, headers=headers, timeout=30) as http:
        for n in range(count):
            reply = http.post("/v1/agent/execute", json={"task": TEXTS[n % 2].format(n=n)})
            assert reply.status_code == 202, reply.text
            query = {"_id": reply.json()["task_id"], "status": {"$in": FINAL}}
            doc = wait_for(lambda q=query: tasks.find_one(q), f"task {query['_id']}")
            seconds.append((doc["completed_at"] - doc["created_at"]).total_seconds())
            outcomes[doc["status"]] += 1
    return seconds, outcomes


async def submit_burst(topology: Topology, count: int, in_flight: int) -> list[str]:
    """Submit count tasks through the API, in_flight requests at a time; their ids."""
    headers = {"X-API-Key": topology.api_key}
    bodies = [json.dumps({"task": TEXTS[n % 2].format(n=n)}).encode() for n in range(count)]
    url = f"{topology.api_url}/v1/agent/execute"
    replies = await post_all(url, bodies, headers, in_flight)
    for status, body in replies:
        assert status == 202, body
    return [str(json.loads(body)["task_id"]) for _, body in replies]


def service_full_load(
    topology: Topology, tasks: Any, count: int, in_flight: int
) -> tuple[float, Counter[str]]:
    """Tasks/s from the first created_at to the last completed_at of a burst."""
    ids = asyncio.run(submit_burst(topology, count, in_flight))
    query = {"_id": {"$in": ids}, "status": {"$in": FINAL}}
    wait_for(lambda: tasks.count_documents(query) == count, "the burst", 180, interval=0.25)
    docs = list(tasks.find(query, {"status": 1, "created_at": 1, "completed_at": 1}))
    first = min(doc["created_at"] for doc in docs)
    last = max(doc["completed_at"] for doc in docs)
    return count / (last - first).total_seconds(), Counter(doc["status"] for doc in docs)


def bare_one_by_one(client: Celery, ends: Any, count: int) -> list[float]:
    """Send one bare task at a time; seconds from its send to its second insert."""
    run = uuid.uuid4().hex
    seconds = []
    for n in range(count):
        client.send_task(bare.TASK, args=[run, n, time.time()], queue=bare.QUEUE)
        doc = wait_for(lambda n=n: ends.find_one({"run": run, "n": n}), f"bare task {n}")
        seconds.append(doc["ended_at"] - doc["sent_at"])
    return seconds


def bare_full_load(client: Celery, ends: Any, count: int) -> float:
    """Tasks/s from the first send to the last end of count bare tasks sent at once."""
    run = uuid.uuid4().hex
    started = time.time()
    for n in range(count):
        client.send_task(bare.TASK, args=[run, n, time.time()], queue=bare.QUEUE)
    query = {"run": run}
    wait_for(lambda: ends.count_documents(query) == count, "the bare burst", 180, interval=0.25)
    last = max(doc["ended_at"] for doc in ends.find(query, {"ended_at": 1}))
    return count / (last - started)


def cpu_by_process(topology: Topology) -> dict[str, float]:
    """utime + stime so far of each process the topology started, by name."""
    return {proc.name: cpu_seconds(proc.pid) for proc in topology.processes}


def cpu_per_task(
    before: dict[str, float], after: dict[str, float], parts: dict[str, tuple[str, ...]], n: int
) -> str:
    """CPU milliseconds per task between two readings, by part, and the rate they allow."""
    spent = {
        part: sum(after[name] - before[name] for name in names) * 1000 / n
        for part, names in parts.items()
    }
    total = sum(spent.values())
    detail = ", ".join(f"{part} {ms:.1f}" for part, ms in spent.items())
    cores = os.cpu_count() or 1
    return f"{total:.1f} ms ({detail}); {cores} cores allow {cores * 1000 / total:,.0f} tasks/s"


def summary(seconds: list[float]) -> tuple[float, float]:
    """Median and 90th percentile, in milliseconds."""
    return statistics.median(seconds) * 1000, statistics.quantiles(seconds, n=10)[-1] * 1000


def verdict(met: bool) -> str:
    """How a figure stands against its target."""
    return "met" if met else "NOT met"


def report_single(service: list[float], anchor: list[float], warmups: int) -> None:
    """Print the one-at-a-time medians and p90s, and their ratio against the target."""
    (svc_median, svc_p90), (bare_median, bare_p90) = summary(service), summary(anchor)
    ratio = svc_median / bare_median
    print(f"one at a time ({len(service)} tasks after {warmups} warm-ups), submit to completed:")
    print(f"  service median {svc_median:.1f} ms, p90 {svc_p90:.1f} ms")
    print(f"  bare    median {bare_median:.1f} ms, p90 {bare_p90:.1f} ms")
    print(f"  ratio {ratio:.1f}x (target <= {RATIO_TARGET:g}x: {verdict(ratio <= RATIO_TARGET)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=30, help="one-at-a-time tasks measured")
    parser.add_argument("--warmups", type=int, default=3)
    parser.add_argument("--burst", type=int, default=300, help="tasks sent at once")
    parser.add_argument("--in-flight", type=int, default=32, help="concurrent submissions")
    parser.add_argument("--concurrency", type=int, default=32, help="slots per worker process")
    args = parser.parse_args()

    topology = Topology(env={"LOG_LEVEL": "WARNING"})
    try:
        topology.start_service(openai_latency_ms=0)
        workers = [topology.start_worker(f"bench{n}", args.concurrency) for n in (1, 2)]
        workers += [
            start_bare_worker(topology, f"bare{n}", BARE_APP, args.concurrency, "WARNING")
            for n in (1, 2)
        ]
        for worker in workers:
            topology.wait_worker_ready(worker)
        mongo: pymongo.MongoClient[Doc] = pymongo.MongoClient(topology.env["MONGO_URI"])
        tasks = mongo["agent_orchestrator"]["tasks"]
        ends = mongo[bare.DB_NAME]["ends"]
        client = Celery("bench_client", broker=topology.env["REDIS_URL"])
        client.conf.update(task_serializer="json", accept_content=["json"])

        warm = args.warmups
        bare_single = bare_one_by_one(client, ends, warm + args.tasks)
        service_single, outcomes = service_one_by_one(topology, tasks, warm + args.tasks)
        cpu = [cpu_by_process(topology)]
        bare_rate = bare_full_load(client, ends, args.burst)
        cpu.append(cpu_by_process(topology))
        service_rate, burst = service_full_load(topology, tasks, args.burst, args.in_flight)
        cpu.append(cpu_by_process(topology))
        client.close()
        mongo.close()
        print(
            f"2 worker processes x {args.concurrency} slots each side; "
            "service: OpenAI stand-in at 0 ms, bare: a task of two inserts"
        )
        report_single(service_single[warm:], bare_single[warm:], warm)
        print(f"full load ({args.burst} tasks at once, {args.in_flight} submissions in flight):")
        print(
            f"  service {service_rate:.0f} tasks/s, bare {bare_rate:.0f} tasks/s, "
            f"ratio {service_rate / bare_rate:.2f}x "
            f"(target service >= {RATE_TARGET:g} tasks/s: {verdict(service_rate >= RATE_TARGET)})"
        )
        print(f"  CPU per task, service: {cpu_per_task(cpu[1], cpu[2], SERVICE_PARTS, args.burst)}")
        print(f"  CPU per task, bare:    {cpu_per_task(cpu[0], cpu[1], BARE_PARTS, args.burst)}")
        if set(outcomes + burst) != {"completed"}:
            print(f"  NOT all tasks completed: {dict(outcomes + burst)}")
    finally:
        topology.stop()


if __name__ == "__main__":
    main()
