"""The bare anchor of bench/overhead.py: a Celery task that does two MongoDB inserts.

`bench.record(run, n, sent_at)` inserts a start document and then an end document (with the
end time) into database `bench_bare`. Delivery settings are the service's (JSON, acks late,
prefetch 1, no results), so the anchor leaves out only what the service does per task.

    REDIS_URL=... MONGO_URI=... python -m celery -A bench._bare_celery:app worker --pool threads
"""

from __future__ import annotations

import os
import time
from typing import Any

import pymongo
from celery import Celery
from celery.signals import worker_init, worker_ready

DB_NAME = "bench_bare"
QUEUE = "bench_bare"
TASK = "bench.record"

app = Celery("bench_bare")
app.conf.update(
    # Unset where bench/overhead.py imports this module for its names; workers always get it.
    broker_url=os.environ.get("REDIS_URL"),
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_default_queue=QUEUE,
    task_acks_late=True,
    worker_prefetch_multiplier=1,
)
_mongo: pymongo.MongoClient[dict[str, Any]] | None = None


@worker_init.connect
def _open_mongo(**_: Any) -> None:
    global _mongo
    _mongo = pymongo.MongoClient(os.environ["MONGO_URI"])


@worker_ready.connect
def _say_ready(sender: Any, **_: Any) -> None:
    # Celery logs its " ready." line at INFO; the benchmark runs the worker at WARNING.
    print(f"{sender.hostname} ready.", flush=True)


@app.task(name=TASK)
def record(run: str, n: int, sent_at: float) -> None:
    """Insert a start document, then an end document carrying the end time."""
    assert _mongo is not None, "worker_init opens the client"
    db = _mongo[DB_NAME]
    db.starts.insert_one({"run": run, "n": n, "sent_at": sent_at, "started_at": time.time()})
    db.ends.insert_one({"run": run, "n": n, "sent_at": sent_at, "ended_at": time.time()})
