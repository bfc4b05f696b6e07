"""Group commit on the accept path: requests that arrive together share one insert and one LPUSH.

Against the MongoDB stand-in and a real redis-server of the module's own; each test has a
database and a queue of its own. Every task is stored and published exactly once, a task the
store refuses is refused alone, and a store that cannot be reached fails each request.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from prometheus_client import REGISTRY
from pymongo.errors import BulkWriteError, PyMongoError
from redis.asyncio import Redis as AsyncRedis

from app.config import MongoSettings, RedisSettings, Settings
from app.dispatch.celery_config import build_celery
from app.dispatch.enqueue import Dispatcher
from app.dispatch.intake import Intake
from app.domain.models import RequestInfo, Task
from app.store import Store, open_store
from app.tasks import TaskLifecycle
from standins.topology import Topology


@pytest.fixture(scope="module")
def topology() -> Iterator[Topology]:
    topology = Topology()
    try:
        topology.start_mongo()
        topology.start_redis()
        yield topology
    finally:
        topology.stop()


@dataclass
class Accepting:
    store: Store
    queue: str
    redis_url: str

    def intake(self, redis_client: AsyncRedis, max_batch: int = 256) -> Intake:
        celery = build_celery(Settings(redis=RedisSettings(REDIS_URL=self.redis_url)))
        return Intake(
            TaskLifecycle.of(self.store), Dispatcher(celery, self.queue, redis_client), max_batch
        )

    def queued_ids(self) -> list[str]:
        """The task ids on the queue, in the order a worker takes them."""
        with redis.Redis.from_url(self.redis_url) as client:
            raw = client.lrange(self.queue, 0, -1)
        bodies = [json.loads(base64.b64decode(json.loads(m)["body"])) for m in reversed(raw)]
        return [body[0][0] for body in bodies]


def settings_for(mongo_uri: str, redis_url: str, **mongo: Any) -> Settings:
    db = f"intake_{uuid.uuid4().hex[:8]}"
    return Settings(
        mongo=MongoSettings(MONGO_URI=mongo_uri, MONGO_DB_NAME=db, **mongo),
        redis=RedisSettings(REDIS_URL=redis_url),
    )


@pytest.fixture
async def accepting(topology: Topology) -> AsyncIterator[Accepting]:
    redis_url = topology.env["REDIS_URL"]
    store = open_store(settings_for(topology.env["MONGO_URI"], redis_url))
    try:
        yield Accepting(store, f"intake_{uuid.uuid4().hex[:8]}", redis_url)
    finally:
        await store.close()


def new_task(task_id: str | None = None) -> Task:
    return Task.submitted(
        task_id or str(uuid.uuid4()),
        "dev",
        "Write a haiku about queues",
        "intake",
        request=RequestInfo(request_id=uuid.uuid4().hex),
    )


def inserts_so_far() -> float:
    labels = {"command": "insert", "collection": "tasks"}
    return REGISTRY.get_sample_value("orchestrator_mongo_commands_total", labels) or 0.0


@pytest.mark.parametrize(("max_batch", "inserts"), [(256, 1), (30, 4)])
async def test_concurrent_accepts_share_one_insert_and_each_task_is_queued_once(
    accepting: Accepting, max_batch: int, inserts: int
) -> None:
    tasks = [new_task() for _ in range(100)]
    client = AsyncRedis.from_url(accepting.redis_url)
    try:
        intake = accepting.intake(client, max_batch)
        before = inserts_so_far()
        dispatched = await asyncio.gather(*(intake.accept(task) for task in tasks))
        sent = inserts_so_far() - before
        # A request that arrives alone is written at once, in a batch of its own.
        alone = new_task()
        assert await intake.accept(alone) is True
    finally:
        await client.aclose()

    assert dispatched == [True] * 100
    assert sent == inserts
    ids = [task.task_id for task in tasks]
    assert accepting.queued_ids() == [*ids, alone.task_id]
    stored = await accepting.store.db.tasks.count_documents({"_id": {"$in": ids}})
    assert stored == 100
    day = await accepting.store.stats.day(tasks[0].created_at.date().isoformat())
    assert day.by_status["queued"] == 101


async def test_a_task_the_store_refuses_is_refused_alone(accepting: Accepting) -> None:
    first, twin, other = new_task(), new_task(), new_task()
    twin = twin.model_copy(update={"task_id": first.task_id})
    client = AsyncRedis.from_url(accepting.redis_url)
    try:
        intake = accepting.intake(client)
        answers = await asyncio.gather(
            *(intake.accept(task) for task in (first, twin, other)), return_exceptions=True
        )
    finally:
        await client.aclose()

    assert answers[0] is True
    assert isinstance(answers[1], BulkWriteError)
    assert answers[2] is True
    assert accepting.queued_ids() == [first.task_id, other.task_id]
    day = await accepting.store.stats.day(first.created_at.date().isoformat())
    assert day.by_status["queued"] == 2


async def test_an_unreachable_store_fails_every_request_and_queues_nothing(
    topology: Topology,
) -> None:
    redis_url = topology.env["REDIS_URL"]
    unreachable = "mongodb://127.0.0.1:9/?directConnection=true"  # discard port
    settings = settings_for(
        unreachable, redis_url, MONGO_TIMEOUT_MS=300, MONGO_OPERATION_TIMEOUT_MS=500
    )
    store = open_store(settings)
    accepting = Accepting(store, f"intake_{uuid.uuid4().hex[:8]}", redis_url)
    client = AsyncRedis.from_url(redis_url)
    try:
        intake = accepting.intake(client)
        answers = await asyncio.gather(
            *(intake.accept(new_task()) for _ in range(5)), return_exceptions=True
        )
    finally:
        await client.aclose()
        await store.close()

    assert all(isinstance(answer, PyMongoError) for answer in answers)
    assert accepting.queued_ids() == []
