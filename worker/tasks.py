"""Celery tasks: ids in, delegate to `app`, return."""

from __future__ import annotations

from celery import Task

from app.dispatch.celery_config import PROCESS_TASK
from worker.celery_app import celery_app, runtime


@celery_app.task(name=PROCESS_TASK, bind=True)
def process_task(self: Task, task_id: str) -> str:  # type: ignore[type-arg]
    """Run one task through the PeerAgent graph (at most once per claim)."""
    request_id = getattr(self.request, "request_id", None)
    return runtime().process(task_id, request_id).value
