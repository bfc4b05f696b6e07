"""What the API reads for a caller: tasks, their runs, events, checkpoints and sessions.

Every read is scoped to the caller's key id (an admin reads every tenant's tasks and
checkpoints), and a task or session the caller may not read is answered as not found.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.domain.errors import SessionNotFound, TaskNotFound
from app.domain.models import (
    AgentRun,
    Checkpoint,
    CheckpointStatus,
    Message,
    Task,
    TaskEvent,
    TaskStatus,
)
from app.store import Store, TaskFilters, TaskPage, uninterrupted


class TaskReads:
    """The caller's view of the store."""

    def __init__(self, store: Store):
        self._store = store

    async def acting_owner(self, task_id: str, tenant: str, any_tenant: bool) -> str:
        """The owner (tenant) a caller reads or acts on a task as: its own, or for a role that
        may reach every tenant's tasks the task's (its own when there is no such task, so: not
        found)."""
        if not any_tenant:
            return tenant
        return await self._store.tasks.owner_of(task_id) or tenant

    async def task(self, task_id: str, owner: str) -> Task:
        """The owner's task, or 404."""
        task = await self._store.tasks.get_for_owner(task_id, owner)
        if task is None:
            raise TaskNotFound(task_id)
        return task

    async def tasks(
        self, owner: str | None, filters: TaskFilters, limit: int, cursor: str | None
    ) -> TaskPage:
        """The owner's tasks (None: every tenant's, for admins), newest first, one page."""
        return await self._store.tasks.list_for_owner(owner, filters, limit=limit, cursor=cursor)

    async def runs(self, task_id: str, owner: str) -> tuple[Task, list[AgentRun]]:
        """The owner's task and its router and agent runs of every attempt."""
        task = await self.task(task_id, owner)
        return task, await self._store.agent_runs.for_task(task.task_id)

    async def events(
        self, task_id: str, after: int
    ) -> AsyncIterator[tuple[TaskStatus | None, list[TaskEvent]]]:
        """The task's status and its events after `after`, read again on each step: the event
        stream's source (the caller checked ownership first)."""
        last = after
        while True:
            # A client that goes away cancels the stream, often in the middle of this read.
            status, events = await uninterrupted(self._store.tasks.events_after(task_id, last))
            if events:
                last = events[-1].seq
            yield status, events

    async def checkpoints_of(self, task_id: str, owner: str, any_tenant: bool) -> list[Checkpoint]:
        """A task's checkpoints with their decisions, oldest first (any tenant's task when
        `any_tenant`)."""
        tasks = self._store.tasks
        task = await (tasks.get(task_id) if any_tenant else tasks.get_for_owner(task_id, owner))
        if task is None:
            raise TaskNotFound(task_id)
        return await self._store.checkpoints.for_task(task.task_id)

    async def review_queue(
        self, status: CheckpointStatus | None, limit: int, oldest_first: bool = False
    ) -> list[Checkpoint]:
        """Checkpoints of every tenant, newest (or oldest) first (for admins)."""
        return await self._store.checkpoints.listing(status, limit, oldest_first)

    async def session(self, session_id: str, owner: str, limit: int) -> list[Message]:
        """The latest messages of the owner's session, oldest first, or 404."""
        messages = await self._store.messages.recent(owner, session_id, limit)
        if not messages:
            raise SessionNotFound(session_id)
        return messages
