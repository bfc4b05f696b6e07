"""How many tasks one worker process keeps in flight.

With the OpenAI stand-in holding every call for --latency-ms (1 s), --tasks tasks (64) are
submitted at once to a single worker process. Each task makes two LLM calls (router, agent),
so one at a time would take tasks x 2 s; the target is under 5 s, meaning they overlap.
Prints the wall time from the first submit to the last completion and the worker's peak RSS.

    .venv/bin/python bench/inflight.py [--tasks 64] [--latency-ms 1000] [--concurrency 64]

The worker gets one slot per task of the burst (64); with the service default of 32 the burst
runs in two waves.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

from app.embedded.processes import ManagedProcess
from app.embedded.topology import Topology

TEXTS = (
    "Write a blog post about renewable energy trends number {n}",
    "Write a Python function that reverses a linked list, variant {n}",
)


def peak_rss_mib(proc: ManagedProcess) -> float:
    """VmHWM (peak resident set) of the process, in MiB."""
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


async def run(topology: Topology, tasks: int) -> tuple[float, dict[str, int]]:
    """Submit every task at once; return seconds until the last completed_at, and outcomes."""
    headers = {"X-API-Key": topology.api_key}
    session = f"bench-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=topology.api_url, headers=headers, timeout=60) as http:
        started = datetime.now(UTC)
        replies = await asyncio.gather(
            *(
                http.post(
                    "/v1/agent/execute",
                    json={"task": TEXTS[n % 2].format(n=n), "session_id": session},
                )
                for n in range(tasks)
            )
        )
        assert all(r.status_code == 202 for r in replies)
        deadline = time.monotonic() + 120
        while True:
            # One list call per poll: the benchmark must not load the machine it measures.
            page = await http.get("/v1/tasks", params={"session_id": session, "limit": 100})
            items = page.json()["items"]
            if all(i["status"] in {"completed", "failed", "cancelled"} for i in items):
                break
            if time.monotonic() > deadline:
                raise TimeoutError("tasks did not finish in 120 s")
            await asyncio.sleep(0.25)
    finished = max(datetime.fromisoformat(i["completed_at"]) for i in items)
    counts: dict[str, int] = {}
    for item in items:
        counts[item["status"]] = counts.get(item["status"], 0) + 1
    return (finished - started).total_seconds(), counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=64)
    parser.add_argument("--latency-ms", type=int, default=1000)
    parser.add_argument(
        "--concurrency", type=int, default=64, help="WORKER_CONCURRENCY (service default: 32)"
    )
    args = parser.parse_args()

    topology = Topology(env={"LOG_LEVEL": "WARNING"})
    try:
        topology.start_mongo()
        topology.start_redis()
        topology.start_openai(latency_ms=args.latency_ms)
        topology.start_tavily()
        topology.start_api()
        worker = topology.start_worker("bench", concurrency=args.concurrency)
        topology.wait_worker_ready(worker)
        elapsed, counts = asyncio.run(run(topology, args.tasks))
        print(f"tasks: {args.tasks}, LLM latency: {args.latency_ms} ms per call, 2 calls per task")
        print(f"worker processes: 1, WORKER_CONCURRENCY: {args.concurrency}")
        print(f"outcomes: {counts}")
        print(f"wall time: {elapsed:.2f} s (target < 5 s)")
        print(f"worker peak RSS: {peak_rss_mib(worker):.1f} MiB")
    finally:
        topology.stop()


if __name__ == "__main__":
    main()
