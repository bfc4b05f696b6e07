"""A MongoDB that stops answering for 30 s mid-burst: no worker thread stays stuck, the worker
says it is stalled while it lasts, and every task reaches a final state once MongoDB is back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis

from app.dispatch.workers import heartbeat_prefix
from tests.support import FINAL, Service, running_service, wait_until

LEASE_SECONDS = 6
RECONCILE_SECONDS = 2
PAUSE_SECONDS = 30
ENV = {
    "TASK_LEASE_SECONDS": str(LEASE_SECONDS),
    "RECONCILE_INTERVAL_SECONDS": str(RECONCILE_SECONDS),
    "DISPATCH_STALE_SECONDS": "5",
    "WORKER_STALL_SECONDS": "4",
    "MONGO_TIMEOUT_MS": "2000",
    "MONGO_OPERATION_TIMEOUT_MS": "2000",
    "TASK_MAX_ATTEMPTS": "5",
}


def heartbeats(queue: redis.Redis, namespace: str) -> list[dict[str, Any]]:
    keys = queue.scan_iter(f"{heartbeat_prefix(namespace)}*")
    return [json.loads(queue.get(key) or "{}") for key in keys]


def test_a_paused_mongodb_stalls_no_worker_for_good_and_loses_no_task() -> None:
    with running_service(env=ENV, workers=1, concurrency=64, own_mongo=True) as service:
        _paused_mongodb(service)


def _paused_mongodb(service: Service) -> None:
    beats = redis.Redis.from_url(service.topology.env["REDIS_URL"])
    mongo = service.process("mongo")
    service.openai("/_standin/latency", {"ms": 3000})  # tasks are in flight when it stops
    texts = [
        f"Write a blog post about wind farms, part {n} {uuid.uuid4().hex[:6]}" for n in range(64)
    ]
    with service.client() as http, ThreadPoolExecutor(16) as pool:
        ids = [a["task_id"] for a in pool.map(lambda t: service.submit(http, t), texts)]
    wait_until(lambda: service.db.tasks.count_documents({"status": "processing"}) >= 16)

    os.kill(mongo.pid, signal.SIGSTOP)
    seen: set[str] = set()
    try:
        deadline = time.monotonic() + PAUSE_SECONDS
        while time.monotonic() < deadline:
            seen |= {b.get("status", "") for b in heartbeats(beats, service.redis_namespace)}
            time.sleep(0.5)
    finally:
        os.kill(mongo.pid, signal.SIGCONT)
    resumed = time.monotonic()
    assert "stalled" in seen, f"the worker never said it was stalled: {seen}"

    limit = LEASE_SECONDS + RECONCILE_SECONDS + 30
    with service.client() as http:

        def all_final() -> bool:
            return all(http.get(f"/v1/tasks/{i}").json()["status"] in FINAL for i in ids)

        try:
            wait_until(all_final, timeout=limit, interval=0.5)
        except AssertionError:
            raise AssertionError(_not_final(service, http, ids)) from None
        recovered_in = time.monotonic() - resumed
        tasks = [http.get(f"/v1/tasks/{i}").json() for i in ids]
    outcomes = Counter(t["status"] for t in tasks)
    assert recovered_in <= limit, outcomes
    assert outcomes == {"completed": 64}, f"{outcomes} after {recovered_in:.1f}s"
    # No Celery thread is left waiting, and the worker says it is healthy again.
    wait_until(
        lambda: (
            [(b["slots_busy"], b["status"]) for b in heartbeats(beats, service.redis_namespace)]
            == [(0, "ok")]
        ),
        timeout=15,
    )
    beats.close()


def _not_final(service: Service, http: Any, ids: list[str]) -> str:
    """What the tasks that did not finish are doing, what the worker last said, and where its
    threads and its event loop's thread are waiting (py-spy)."""
    tasks = [http.get(f"/v1/tasks/{i}").json() for i in ids]
    stuck = [
        {k: t.get(k) for k in ("task_id", "status", "attempt", "error", "updated_at")}
        for t in tasks
        if t["status"] not in FINAL
    ]
    log = service.workers[0].log_tail(1_000_000).splitlines()
    about = [line for line in log if any(t["task_id"] in line for t in stuck)]
    spy = Path(sys.executable).with_name("py-spy")
    dump = subprocess.run(
        [str(spy), "dump", "--pid", str(service.workers[0].pid)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return (
        f"{len(stuck)} tasks not final: {stuck[:5]}\nworker log about them:\n"
        + "\n".join(about[-30:])
        + "\nthe worker's last lines:\n"
        + "\n".join(log[-20:])
        + f"\nworker threads (py-spy dump):\n{dump.stdout}{dump.stderr}"
    )
