"""Cancel and retry: status changes a caller asks for, each a compare-and-set."""

from __future__ import annotations

from app.dispatch.checkpoints import cancel_pending
from app.dispatch.enqueue import Dispatcher
from app.domain.errors import InvalidTransition, TaskNotFound
from app.domain.models import Message, Task, TaskStatus
from app.store import Store
from app.tasks import TaskLifecycle


async def cancel_task(store: Store, task_id: str, owner: str) -> Task:
    """Cancel now when no worker holds the task; else ask its worker to stop at the next step.

    Calling it again is fine; a finished task cannot be cancelled (409).
    """
    lifecycle = TaskLifecycle.of(store)
    cancelled = await lifecycle.cancel_waiting(task_id, owner)
    if cancelled is not None:
        if cancelled.started_at is not None or cancelled.history:
            # It had run (and waited for approval, or was retried): its question stays.
            await cancel_pending(store, task_id, owner)
            await store.messages.append(Message.question(cancelled))
        return cancelled
    requested = await lifecycle.request_cancel(task_id, owner)
    if requested is not None:
        return requested
    task = await store.tasks.get_for_owner(task_id, owner)
    if task is None:
        raise TaskNotFound(task_id)
    if task.status is TaskStatus.CANCELLED:
        return task
    if task.status.final:
        raise InvalidTransition(f"Task {task_id} is already {task.status.value}.")
    # It moved between our reads (queued -> processing, say): ask again.
    return await cancel_task(store, task_id, owner)


async def retry_task(
    store: Store, dispatcher: Dispatcher, task_id: str, owner: str, request_id: str | None
) -> Task:
    """Queue a failed or cancelled task again as a new attempt; earlier attempts stay."""
    task = await store.tasks.get_for_owner(task_id, owner)
    if task is None:
        raise TaskNotFound(task_id)
    if task.status not in {TaskStatus.FAILED, TaskStatus.CANCELLED}:
        raise InvalidTransition(
            f"Only failed or cancelled tasks can be retried; task {task_id} is {task.status.value}."
        )
    retried = await TaskLifecycle.of(store).retry(task)
    if retried is None:
        raise InvalidTransition(f"Task {task_id} changed while retrying; try again.")
    await dispatcher.enqueue(task_id, request_id)
    return retried
