"""The reconciler, run as a background job on the service's real stores, stops when asked.

It takes the deployment's lock on its first pass; asked to stop, it ends at once and lets go
of the lock, so another process can take over without waiting for the lock to expire.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from app.config import Settings
from app.dispatch.background import BackgroundJobs
from app.dispatch.celery_config import build_celery
from app.dispatch.enqueue import Dispatcher
from app.dispatch.reconciler import RELEASE_SECONDS, Reconciler, lock_key
from app.dispatch.redis_clients import open_redis
from app.store import open_store
from tests.support import Service

OWNER = "test:background-stop"


async def test_a_stopped_reconciler_ends_at_once_and_lets_go_of_its_lock(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    namespace = f"stop-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("MONGO_URI", service.topology.env["MONGO_URI"])
    monkeypatch.setenv("MONGO_DB_NAME", f"background_{uuid.uuid4().hex[:8]}")  # nothing to do
    monkeypatch.setenv("REDIS_URL", service.topology.env["REDIS_URL"])
    monkeypatch.setenv("REDIS_NAMESPACE", namespace)
    settings = Settings()
    store, redis = open_store(settings), open_redis(settings)
    dispatcher = Dispatcher(build_celery(settings), settings.worker.queue, redis)
    key = lock_key(namespace)
    jobs = BackgroundJobs()
    try:
        jobs.start("reconciler", Reconciler(settings, store, dispatcher, redis, OWNER).run_forever)
        async with asyncio.timeout(30):  # its first pass takes the lock
            while True:
                if await redis.get(key) == OWNER.encode():
                    break
                await asyncio.sleep(0.05)
        started = time.monotonic()
        await jobs.stop()
        took = time.monotonic() - started
        assert await redis.get(key) is None, "the lock outlived the reconciler's stop"
        # It ended by itself, not by the cancel that follows the grace (5 s).
        assert took < RELEASE_SECONDS + 1, f"the stop took {took:.1f}s"
    finally:
        await jobs.stop()  # a no-op once stopped; ends a reconciler a failed assertion left
        await jobs.drain()
        try:
            await redis.aclose()
            await store.client.drop_database(settings.mongo.db_name)
        finally:
            await store.close()
