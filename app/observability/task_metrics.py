"""Metrics recorded when a task reaches a final status."""

from __future__ import annotations

from app.domain.models import Task
from app.observability.metrics import TASK_DURATION, TASK_QUEUE_WAIT, TASKS_FINISHED


def record_finish(task: Task) -> None:
    """Count the finish; time the finishing attempt's run and its wait in the queue."""
    agent = task.selected_agent or "none"
    TASKS_FINISHED.labels(task.status.value, agent).inc()
    finished_at = task.completed_at or task.updated_at
    if task.started_at is not None:
        TASK_DURATION.labels(agent).observe(max((finished_at - task.started_at).total_seconds(), 0))
        wait = (task.started_at - task.queued_at).total_seconds()
        TASK_QUEUE_WAIT.labels(agent).observe(max(wait, 0))
