"""The dispatcher's message is the one Celery's send_task would publish, field by field.

The dispatcher builds the message with Celery and kombu and LPUSHes it itself (so the event
loop never waits on a thread); if a Celery or kombu upgrade changes what send_task writes,
this test says which field. That the workers run these messages is shown by every end-to-end
test (each submit goes through the dispatcher), the delayed publish by test_recovery.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis
from celery import Celery
from redis.asyncio import Redis as AsyncRedis

from app.config import RedisSettings, Settings
from app.dispatch.celery_config import PROCESS_TASK, build_celery
from app.dispatch.enqueue import Dispatcher
from standins.topology import Topology

QUEUE = "agent_tasks"
# Fields that name one message or one moment: equal in kind, not in value.
PER_MESSAGE_HEADERS = {"id", "root_id", "eta"}
PER_MESSAGE_PROPERTIES = {"correlation_id", "delivery_tag", "reply_to"}


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    topology = Topology()
    try:
        topology.start_redis()
        yield topology.env["REDIS_URL"]
    finally:
        topology.stop()


def celery_for(url: str) -> Celery:
    """The service's Celery app on the given broker."""
    return build_celery(Settings(redis=RedisSettings(REDIS_URL=url)))


def published(url: str) -> dict[str, Any]:
    """The one message on the queue, taken off it, with its body decoded."""
    with redis.Redis.from_url(url) as client:
        assert client.llen(QUEUE) == 1
        raw = client.rpop(QUEUE)
    assert isinstance(raw, bytes)
    message: dict[str, Any] = json.loads(raw)
    message["body"] = json.loads(base64.b64decode(message["body"]))
    return message


def celery_send_task(url: str, countdown: float | None, request_id: str | None) -> dict[str, Any]:
    celery = celery_for(url)
    try:
        headers = {"request_id": request_id} if request_id else None
        celery.send_task(
            PROCESS_TASK, args=["t-1"], queue=QUEUE, countdown=countdown, headers=headers
        )
    finally:
        celery.close()
    return published(url)


def dispatcher_enqueue(url: str, countdown: float | None, request_id: str | None) -> dict[str, Any]:
    async def enqueue() -> bool:
        client = AsyncRedis.from_url(url)
        try:
            dispatcher = Dispatcher(celery_for(url), QUEUE, client)
            return await dispatcher.enqueue("t-1", request_id, countdown)
        finally:
            await client.aclose()

    assert asyncio.run(enqueue()) is True
    return published(url)


def without(fields: set[str], values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in fields}


@pytest.mark.parametrize(
    ("countdown", "request_id"), [(None, None), (30.0, "req-1")], ids=["now", "later"]
)
def test_dispatcher_publishes_what_send_task_publishes(
    redis_url: str, countdown: float | None, request_id: str | None
) -> None:
    ours = dispatcher_enqueue(redis_url, countdown, request_id)
    celerys = celery_send_task(redis_url, countdown, request_id)

    assert ours.keys() == celerys.keys()
    assert without({"headers", "properties"}, ours) == without({"headers", "properties"}, celerys)
    assert ours["body"] == [
        ["t-1"],
        {},
        {"callbacks": None, "errbacks": None, "chain": None, "chord": None},
    ]
    assert ours["headers"].keys() == celerys["headers"].keys()
    assert without(PER_MESSAGE_HEADERS, ours["headers"]) == without(
        PER_MESSAGE_HEADERS, celerys["headers"]
    )
    assert ours["headers"]["task"] == PROCESS_TASK
    assert ours["headers"]["root_id"] == ours["headers"]["id"]
    assert ours["properties"].keys() == celerys["properties"].keys()
    assert without(PER_MESSAGE_PROPERTIES, ours["properties"]) == without(
        PER_MESSAGE_PROPERTIES, celerys["properties"]
    )
    assert ours["properties"]["correlation_id"] == ours["headers"]["id"]
    if countdown is None:
        assert ours["headers"]["eta"] is None
        assert celerys["headers"]["eta"] is None
    else:
        eta = datetime.fromisoformat(ours["headers"]["eta"])
        assert abs(eta - datetime.fromisoformat(celerys["headers"]["eta"])) < timedelta(seconds=10)
        assert ours["headers"]["request_id"] == request_id


def test_unreachable_broker_is_reported_not_raised() -> None:
    async def enqueue() -> bool:
        url = "redis://127.0.0.1:9/0"  # discard port: nothing listens
        client = AsyncRedis.from_url(url, socket_connect_timeout=1)
        try:
            dispatcher = Dispatcher(celery_for(url), QUEUE, client)
            return await dispatcher.enqueue("t-1")
        finally:
            await client.aclose()

    assert asyncio.run(enqueue()) is False
