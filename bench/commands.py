"""MongoDB commands per task, by command and collection, from the service's command monitoring.

Starts the service on the stand-ins with one worker, runs --tasks ContentAgent and CodeAgent
tasks one after another, and divides what `orchestrator_mongo_commands_total` counted by the
number of tasks. The anchor is the least a task can cost: one insert to accept it, one claim,
one final write. Targets: ContentAgent <= 30, CodeAgent <= 26.

    .venv/bin/python bench/commands.py [--tasks 5]
"""

from __future__ import annotations

import argparse
import time
import uuid

import httpx
import pymongo

from standins.topology import Topology

TEXTS = {
    "ContentAgent": "Write a blog post about geothermal energy, part {n}",
    "CodeAgent": "Write a Python function that flattens a nested list, variant {n}",
}
TARGETS = {"ContentAgent": 30, "CodeAgent": 26}
FLOOR = 3  # accept (insert), claim (findAndModify), finish (findAndModify)


def run_tasks(topology: Topology, db: pymongo.database.Database, text: str, n: int) -> None:  # type: ignore[type-arg]
    headers = {"X-API-Key": topology.api_key}
    with httpx.Client(base_url=topology.api_url, headers=headers, timeout=30) as http:
        for i in range(n):
            body = {"task": text.format(n=i), "session_id": f"cmd-{uuid.uuid4().hex[:8]}"}
            task_id = http.post("/v1/agent/execute", json=body).json()["task_id"]
            deadline = time.monotonic() + 30
            while not db.messages.find_one({"task_id": task_id, "role": "assistant"}):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"task {task_id} did not complete")
                time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5)
    args = parser.parse_args()
    # No reconciler pass and no queue sample during the count: only the tasks' commands.
    quiet = {"RECONCILE_INTERVAL_SECONDS": "3600", "QUEUE_SAMPLE_SECONDS": "3600"}
    topology = Topology(env={"LOG_LEVEL": "WARNING", **quiet})
    try:
        topology.start_service()
        topology.wait_worker_ready(topology.start_worker("bench", concurrency=4))
        mongo: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            topology.env["MONGO_URI"]
        )
        db = mongo["agent_orchestrator"]
        for agent, text in TEXTS.items():
            run_tasks(topology, db, text, 1)  # warm-up
            before = topology.mongo_commands()
            run_tasks(topology, db, text, args.tasks)
            after = topology.mongo_commands()
            scrape = topology.mongo_commands() - after  # the scrape's own gauge read
            spent = after - before - scrape
            total = sum(spent.values()) / args.tasks
            print(
                f"\n{agent}: {total:g} MongoDB commands per task over {args.tasks} tasks "
                f"(target <= {TARGETS[agent]}; floor {FLOOR}: accept, claim, finish)"
            )
            for (command, collection), n in sorted(spent.items(), key=lambda kv: -kv[1]):
                print(f"  {n / args.tasks:5g}  {command:<14} {collection}")
        mongo.close()
    finally:
        topology.stop()


if __name__ == "__main__":
    main()
