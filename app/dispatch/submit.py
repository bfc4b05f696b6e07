"""Accept a task: persist it first (source of truth), then enqueue it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pymongo.errors import PyMongoError

from app.dispatch.enqueue import Dispatcher
from app.domain.errors import StoreUnavailable
from app.domain.models import RequestInfo, Task, TaskStatus, utcnow
from app.store import TaskRepository


@dataclass(frozen=True)
class Submitted:
    task: Task
    dispatched: bool


async def submit_task(
    tasks: TaskRepository,
    dispatcher: Dispatcher,
    *,
    owner: str,
    text: str,
    session_id: str | None,
    request: RequestInfo,
) -> Submitted:
    """Store the task as queued, then publish it; a lost publish leaves it queued, not lost."""
    now = utcnow()
    task = Task(
        task_id=str(uuid.uuid4()),
        owner=owner,
        session_id=session_id or str(uuid.uuid4()),
        task=text,
        status=TaskStatus.QUEUED,
        created_at=now,
        queued_at=now,
        updated_at=now,
        request=request,
    )
    try:
        await tasks.create(task)
    except PyMongoError as exc:
        raise StoreUnavailable("The task store is unavailable; nothing was queued.") from exc
    dispatched = await dispatcher.enqueue(task.task_id, request.request_id)
    return Submitted(task=task, dispatched=dispatched)
