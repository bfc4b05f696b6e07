"""The `tool_executions` collection: every tool and LLM call of every agent run."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from app.domain.models import ToolExecution

Document = dict[str, Any]


class ToolExecutionRepository:
    """Record tool executions; list a task's."""

    def __init__(self, collection: AsyncCollection[Document]):
        self._executions = collection

    async def ensure_indexes(self) -> None:
        await self._executions.create_index(
            [("task_id", ASCENDING), ("started_at", ASCENDING)], name="task_started"
        )

    async def record(self, execution: ToolExecution) -> None:
        """Persist one execution."""
        await self._executions.insert_one(execution.model_dump(by_alias=True, mode="python"))

    async def for_task(self, task_id: str) -> list[ToolExecution]:
        """The task's executions in the order they started."""
        docs = (
            await self._executions.find({"task_id": task_id})
            .sort([("started_at", ASCENDING)])
            .to_list()
        )
        return [ToolExecution.model_validate(doc) for doc in docs]
