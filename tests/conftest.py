"""Fixtures that start the real topology: stand-ins, redis-server, the API and Celery workers."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pymongo
import pytest

from app.embedded.topology import Topology
from tests.support import Service


@pytest.fixture(scope="session")
def service() -> Iterator[Service]:
    """The whole service on real processes, with two Celery worker processes."""
    api_key = secrets.token_urlsafe(16)
    other_key = secrets.token_urlsafe(16)
    topology = Topology(
        env={"API_KEYS": f"dev:{api_key},other:{other_key}", "LOG_LEVEL": "INFO"},
        api_key=api_key,
    )
    try:
        topology.start_mongo()
        topology.start_redis()
        topology.start_openai(latency_ms=20)
        topology.start_tavily()
        topology.start_api()
        workers = [topology.start_worker(f"worker{n}", concurrency=4) for n in (1, 2)]
        for worker in workers:
            topology.wait_worker_ready(worker)
        mongo: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            topology.env["MONGO_URI"], tz_aware=True
        )
        yield Service(topology, api_key, other_key, workers, mongo)
        mongo.close()
    finally:
        topology.stop()
