"""Latency of GET /v1/system/metrics with 100k tasks in the store (target: under 200 ms).

Starts the real API on the MongoDB stand-in, redis-server and the LLM/search stand-ins, seeds
--tasks task documents for today (the same documents, and the same per-day counters, the
service writes: statuses, agents, latency histogram), then times --requests calls.

    .venv/bin/python bench/system_metrics.py [--tasks 100000] [--requests 50]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from collections import Counter
from datetime import timedelta

import httpx
import pymongo

from app.domain.models import TaskStatus, utcnow
from app.store.task_stats import LATENCY_BOUNDS, day_of
from standins.topology import Topology

STATUSES = [TaskStatus.COMPLETED] * 8 + [TaskStatus.FAILED, TaskStatus.QUEUED]
AGENTS = ["ContentAgent", "CodeAgent"]


def seed(db: pymongo.database.Database, tasks: int) -> None:  # type: ignore[type-arg]
    """Insert task documents and the matching per-day counters, in batches."""
    rng = random.Random(7)
    now = utcnow()
    by_status: Counter[str] = Counter()
    per_agent: Counter[str] = Counter()
    buckets: Counter[int] = Counter()
    latency_sum = 0.0
    batch = []
    for n in range(tasks):
        status = rng.choice(STATUSES)
        agent = rng.choice(AGENTS)
        latency = rng.uniform(0.5, 20)
        created = now - timedelta(seconds=rng.uniform(0, 3600))
        doc = {
            "_id": str(uuid.uuid4()),
            "owner": "bench",
            "session_id": f"s{n % 1000}",
            "task": f"benchmark task {n}",
            "status": status.value,
            "selected_agent": agent,
            "attempt": 1,
            "created_at": created,
            "queued_at": created,
            "updated_at": created,
        }
        by_status[status.value] += 1
        if status.final:
            doc["completed_at"] = created + timedelta(seconds=latency)
            per_agent[agent] += 1
            buckets[next(i for i, b in enumerate(LATENCY_BOUNDS) if latency <= b)] += 1
            latency_sum += latency
        batch.append(doc)
        if len(batch) == 5000:
            db.tasks.insert_many(batch)
            batch = []
    if batch:
        db.tasks.insert_many(batch)
    inc: dict[str, float] = {f"status.{k}": v for k, v in by_status.items()}
    inc |= {f"agents.{k}": v for k, v in per_agent.items()}
    inc |= {f"latency.buckets.{k}": v for k, v in buckets.items()}
    inc |= {"latency.count": sum(buckets.values()), "latency.sum": latency_sum}
    db.task_stats.update_one({"_id": day_of(now)}, {"$inc": inc}, upsert=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    topology = Topology(env={"LOG_LEVEL": "WARNING"})
    try:
        topology.start_service()
        mongo: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            topology.env["MONGO_URI"], tz_aware=True
        )
        started = time.perf_counter()
        seed(mongo["agent_orchestrator"], args.tasks)
        seeded = time.perf_counter() - started
        stored = mongo["agent_orchestrator"].tasks.estimated_document_count()
        headers = {"X-API-Key": topology.api_key}
        timings = []
        with httpx.Client(base_url=topology.api_url, headers=headers, timeout=10) as http:
            http.get("/v1/system/metrics").raise_for_status()  # warm-up
            for _ in range(args.requests):
                t0 = time.perf_counter()
                response = http.get("/v1/system/metrics")
                timings.append((time.perf_counter() - t0) * 1000)
                response.raise_for_status()
        body = response.json()
        timings.sort()
        p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
        print(f"tasks in store: {stored} (seeded in {seeded:.1f} s)")
        print(f"today by status: {body['today']['by_status']}")
        print(
            f"requests: {len(timings)}, median {statistics.median(timings):.1f} ms, "
            f"p95 {p95:.1f} ms, max {timings[-1]:.1f} ms (target < 200 ms)"
        )
        mongo.close()
    finally:
        topology.stop()


if __name__ == "__main__":
    main()
