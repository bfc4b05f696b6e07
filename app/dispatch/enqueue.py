"""Publish `tasks.process(task_id)` without blocking the event loop."""

from __future__ import annotations

import asyncio

import structlog
from celery import Celery

from app.dispatch.celery_config import PROCESS_TASK

log = structlog.get_logger(__name__)


class Dispatcher:
    """Sends task ids to the workers' queue."""

    def __init__(self, celery: Celery, queue: str):
        self._celery = celery
        self._queue = queue

    def _publish(self, task_id: str, request_id: str | None, countdown: float | None) -> None:
        self._celery.send_task(
            PROCESS_TASK,
            args=[task_id],
            queue=self._queue,
            countdown=countdown,
            headers={"request_id": request_id} if request_id else None,
        )

    async def enqueue(
        self, task_id: str, request_id: str | None = None, countdown: float | None = None
    ) -> bool:
        """Publish the task (after `countdown` seconds); False when the broker is unreachable."""
        try:
            # Celery's publish is synchronous network I/O: run it in a thread.
            await asyncio.to_thread(self._publish, task_id, request_id, countdown)
        except Exception as exc:
            log.warning("enqueue_failed", task_id=task_id, error=str(exc))
            return False
        return True

    def close(self) -> None:
        self._celery.close()
