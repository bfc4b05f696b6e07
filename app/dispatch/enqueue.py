"""Publish `tasks.process(task_id)` from the event loop, with one LPUSH on the async Redis client.

Celery's own `send_task` is synchronous: from a coroutine it needs a thread, and a thread
that waits on the broker has to win the GIL back from a busy event loop after every socket
read (up to the 5 ms switch interval each), which capped the accept path at a few hundred
requests per second. So the message is built by Celery and kombu, as `send_task` builds it
(task protocol 2, kombu's Redis envelope), and only the final LPUSH is ours, awaited on the
loop. tests/integration/test_enqueue.py compares the result with `send_task`'s, field by
field, and has a real worker run it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from celery import Celery
from kombu.serialization import dumps as serialize
from kombu.transport.virtual.base import Base64
from kombu.utils.json import dumps as json_dumps
from kombu.utils.uuid import uuid
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.dispatch.celery_config import PROCESS_TASK

log = structlog.get_logger(__name__)

# What kombu's Redis channel writes for a message on the default exchange with no priority.
BODY_ENCODING = "base64"
DELIVERY_MODE_PERSISTENT = 2


def task_message(
    celery: Celery, queue: str, task_id: str, request_id: str | None, countdown: float | None
) -> bytes:
    """The bytes `send_task(PROCESS_TASK, args=[task_id], queue=queue, ...)` would LPUSH."""
    headers, properties, body, _ = celery.amqp.as_task_v2(
        uuid(),
        PROCESS_TASK,
        args=(task_id,),
        kwargs={},
        argsrepr=repr([task_id]),  # send_task(args=[task_id]) shows a list
        countdown=countdown,
        ignore_result=None,  # type: ignore[arg-type]  # what send_task passes; the stub says bool
    )
    if request_id:
        headers["request_id"] = request_id
    content_type, content_encoding, payload = serialize(body, celery.conf.task_serializer)
    envelope: dict[str, Any] = {
        "body": Base64().encode(payload),
        "content-encoding": content_encoding,
        "content-type": content_type,
        "headers": headers,
        "properties": {
            **properties,
            "delivery_mode": DELIVERY_MODE_PERSISTENT,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": 0,
            "body_encoding": BODY_ENCODING,
            "delivery_tag": uuid(),
        },
    }
    return json_dumps(envelope).encode()


class Dispatcher:
    """Sends task ids to the workers' queue (a Redis list, as Celery's Redis transport keeps it)."""

    def __init__(self, celery: Celery, queue: str, redis: Redis):
        self._celery = celery
        self._queue = queue
        self._redis = redis

    async def enqueue(
        self, task_id: str, request_id: str | None = None, countdown: float | None = None
    ) -> bool:
        """Publish the task (due in `countdown` seconds); False when the broker is unreachable."""
        message = task_message(self._celery, self._queue, task_id, request_id, countdown)
        return await self._push([message], [task_id])

    async def enqueue_many(self, tasks: Sequence[tuple[str, str | None]]) -> bool:
        """Publish tasks `(task_id, request_id)` in one LPUSH, in order; False as above."""
        messages = [task_message(self._celery, self._queue, *task, None) for task in tasks]
        return await self._push(messages, [task_id for task_id, _ in tasks])

    async def _push(self, messages: list[bytes], task_ids: list[str]) -> bool:
        try:
            await self._redis.lpush(self._queue, *messages)
        except (RedisError, OSError) as exc:
            log.warning("enqueue_failed", task_ids=task_ids, error=str(exc) or type(exc).__name__)
            return False
        return True
