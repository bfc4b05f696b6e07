"""The `agent_runs` collection: one record per router or agent run per attempt, with its calls."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING, IndexModel, InsertOne, UpdateOne

from app.domain.models import AgentRun, RunStatus, TaskErrorInfo, ToolExecution, Usage, utcnow
from app.store._base import Document, Repository


def _stored(executions: Sequence[ToolExecution]) -> list[Document]:
    return [e.model_dump(by_alias=True, mode="python") for e in executions]


class AgentRunRepository(Repository):
    """Start and finish agent runs, add their tool executions; list a task's runs."""

    indexes = (
        # One run per agent per attempt: a duplicate delivery cannot record a second one.
        IndexModel(
            [("task_id", ASCENDING), ("attempt", ASCENDING), ("agent_name", ASCENDING)],
            name="task_attempt_agent",
            unique=True,
        ),
    )

    async def start(self, run: AgentRun) -> None:
        """Record a run as running."""
        await self._grouped.write(InsertOne(run.model_dump(by_alias=True, mode="python")))

    async def add_tool_executions(self, run_id: str, executions: Sequence[ToolExecution]) -> None:
        """Append calls that finished while the run goes on."""
        if executions:
            push = {"$push": {"tool_executions": {"$each": _stored(executions)}}}
            await self._grouped.write(UpdateOne({"_id": run_id}, push))

    async def finish(
        self,
        run: AgentRun,
        *,
        status: RunStatus,
        output: dict[str, Any] | None,
        error: TaskErrorInfo | None,
        usage: Usage,
        model: str | None,
        llm_retries: int,
        tool_calls: int,
        executions: Sequence[ToolExecution] = (),
    ) -> None:
        """Close a run with its outcome, timing, usage, call counts and its last calls."""
        finished = utcnow()
        fields: Document = {
            "status": status.value,
            "finished_at": finished,
            "duration_ms": int((finished - run.started_at).total_seconds() * 1000),
            "output": output,
            "error": error.model_dump() if error else None,
            "usage": usage.model_dump(),
            "model": model,
            "llm_retries": llm_retries,
            "tool_calls": tool_calls,
        }
        update: Document = {"$set": fields}
        if executions:
            update["$push"] = {"tool_executions": {"$each": _stored(executions)}}
        # Only a running run closes: one the reconciler marked abandoned stays abandoned.
        await self._grouped.write(
            UpdateOne({"_id": run.run_id, "status": RunStatus.RUNNING.value}, update)
        )

    async def abandon(self, task_id: str, attempt: int) -> int:
        """Mark the still-running runs of an attempt that lost its lease as abandoned."""
        outcome = await self._collection.update_many(
            {"task_id": task_id, "attempt": attempt, "status": RunStatus.RUNNING.value},
            {"$set": {"status": RunStatus.ABANDONED.value, "finished_at": utcnow()}},
        )
        return outcome.modified_count

    async def total_usage(self, task_id: str) -> Usage:
        """The usage of every run of the task, all attempts included (what it cost)."""
        total = Usage()
        async for doc in self._collection.find({"task_id": task_id}, {"usage": 1}):
            total = total + Usage.model_validate(doc.get("usage") or {})
        return total

    async def for_task(self, task_id: str) -> list[AgentRun]:
        """The task's runs in the order they started, each with its tool executions."""
        docs = (
            await self._collection.find({"task_id": task_id})
            .sort([("attempt", ASCENDING), ("started_at", ASCENDING)])
            .to_list()
        )
        return [AgentRun.model_validate(doc) for doc in docs]
