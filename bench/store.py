"""The MongoDB stand-in through PyMongo: does an operation cost the same at 1,000 and 100,000 docs?

Starts the stand-in, fills one collection per size with task-like documents (and the indexes the
service declares on `tasks`), then times single-document operations one after another from one
PyMongo client: find by _id, update by _id, insert into a collection with a unique index, and an
indexed equality with sort and limit (20 documents back), first from one client thread (each
call waits for the last: latency) then from several (throughput). The anchor is a bare `ping`
round trip on the same server and client, measured the same way in the same run (PyMongo's own
work per call caps one thread near 3,000-5,000 pings/s on the 2-core machine of 2026-12-01).

    .venv/bin/python bench/store.py [--sizes 1000 100000] [--ops 2000]

Targets: at the largest size each operation runs at least 0.8x its speed at the smallest, and at
least 3,000 operations/s.
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pymongo

from standins.processes import LOCALHOST, free_port, spawn_module

Doc = dict[str, Any]
OWNERS = [f"tenant-{n}" for n in range(10)]
STATUSES = ["queued", "processing", "completed", "completed", "completed", "failed"]


def task_doc(n: int, now: datetime) -> Doc:
    return {
        "_id": str(uuid.uuid4()),
        "owner": OWNERS[n % len(OWNERS)],
        "session_id": f"s{n % 500}",
        "task": f"Write a blog post about renewable energy trends, variant {n}",
        "status": STATUSES[n % len(STATUSES)],
        "attempt": 1,
        "created_at": now - timedelta(seconds=n),
        "queued_at": now - timedelta(seconds=n),
        "updated_at": now,
        "request": {"ip": "127.0.0.1", "user_agent": "bench", "request_id": uuid.uuid4().hex},
    }


def fill(db: Any, size: int) -> tuple[Any, Any, list[str]]:
    """A tasks-like collection and a unique-indexed events-like one, both of `size` documents."""
    tasks, events = db[f"tasks_{size}"], db[f"events_{size}"]
    tasks.create_index(
        [("owner", 1), ("status", 1), ("created_at", -1)], name="owner_status_created"
    )
    tasks.create_index([("owner", 1), ("created_at", -1), ("_id", -1)], name="owner_created")
    tasks.create_index([("status", 1), ("queued_at", 1)], name="status_queued")
    events.create_index([("task_id", 1), ("seq", 1)], name="task_seq", unique=True)
    now = datetime.now(UTC)
    ids: list[str] = []
    for start in range(0, size, 5000):
        batch = [task_doc(n, now) for n in range(start, min(size, start + 5000))]
        tasks.insert_many(batch)
        ids += [doc["_id"] for doc in batch]
        events.insert_many(
            [{"task_id": doc["_id"], "seq": 1, "kind": "status", "at": now} for doc in batch]
        )
    return tasks, events, ids


def rate(operation: Callable[[int], object], ops: int, clients: int = 1) -> float:
    """Operations per second of `operation(i)` for i < ops, from `clients` threads at once.

    One thread measures latency-bound throughput (each call waits for the previous one);
    several keep the server busy while PyMongo spends its own time per call in the others.
    """
    for i in range(ops, ops + 50):  # warm-up, on indices the timed calls do not use
        operation(i)
    share = ops // clients

    def run(first: int) -> None:
        for i in range(first, first + share):
            operation(i)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(run, range(0, share * clients, share)))
    return share * clients / (time.perf_counter() - started)


def operations(db: Any, size: int, ops: int) -> dict[str, Callable[[int], object]]:
    """The timed operations on collections of `size` documents, each callable with i < ops."""
    tasks, events, ids = fill(db, size)
    rng = random.Random(size)
    picks = [rng.choice(ids) for _ in range(ops + 50)]
    now = datetime.now(UTC)
    seq = itertools.count(1000)  # thread-safe enough: next() on a count is atomic in CPython

    def find(i: int) -> object:
        return tasks.find_one({"_id": picks[i]})

    def update(i: int) -> object:
        change = {"$set": {"updated_at": now}, "$inc": {"attempt": 1}}
        return tasks.update_one({"_id": picks[i]}, change)

    def insert(i: int) -> object:
        return events.insert_one({"task_id": picks[i], "seq": next(seq), "kind": "status"})

    def newest(i: int) -> object:
        query = {"owner": OWNERS[i % len(OWNERS)], "status": "completed"}
        return tasks.find(query).sort("created_at", -1).limit(20).to_list()

    return {
        "find by _id": find,
        "update by _id": update,
        "insert, unique index": insert,
        "equality + sort + limit 20": newest,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4, help="threads for the throughput run")
    args = parser.parse_args()
    port = free_port()
    standin = spawn_module("mongo", "standins.mongo", ["--port", str(port)], port=port)
    try:
        client: pymongo.MongoClient[Doc] = pymongo.MongoClient(
            f"mongodb://{LOCALHOST}:{port}/?directConnection=true", tz_aware=True
        )
        db = client["bench_store"]
        ops_by_size = {size: operations(db, size, args.ops) for size in args.sizes}
        smallest, largest = min(args.sizes), max(args.sizes)
        for clients in (1, args.clients):
            ping = rate(lambda i: db.command("ping"), args.ops, clients)
            print(
                f"\n{clients} client thread(s); anchor: ping round trip {ping:,.0f} ops/s "
                "(PyMongo and the wire alone)"
            )
            header = "".join(f"{size:>12,}" for size in args.sizes)
            print(
                f"{'operation, ops/s at N docs':<28}{header}   ratio  (target >= 0.8x, >= 3,000/s)"
            )
            for name in ops_by_size[smallest]:
                rates = {
                    size: rate(ops_by_size[size][name], args.ops, clients) for size in args.sizes
                }
                figures = "".join(f"{rates[size]:>12,.0f}" for size in args.sizes)
                ratio = rates[largest] / rates[smallest]
                verdict = "ok" if ratio >= 0.8 and rates[largest] >= 3000 else "below target"
                print(f"{name:<28}{figures}   {ratio:5.2f}x  {verdict}")
        client.close()
    finally:
        standin.stop()


if __name__ == "__main__":
    main()
