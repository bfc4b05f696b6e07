"""Record every router and agent run of an attempt in `agent_runs`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import structlog

from app.domain.errors import AgentError
from app.domain.models import AgentRun, RunStatus, TaskErrorInfo, ToolExecution, utcnow
from app.observability.metrics import AGENT_RUNS
from app.observability.run_context import RunContext, bind_run, error_info
from app.store import Store, TaskEventRepository, ToolExecutionRepository


@dataclass
class RunHandle:
    """The open run; the body sets what it produced."""

    run: AgentRun
    context: RunContext
    output: dict[str, Any] | None = None

    def succeed(self, output: dict[str, Any]) -> None:
        self.output = output


class _RunSink:
    """Where a run's tool executions go: stored, and told to the task's event stream."""

    def __init__(self, tools: ToolExecutionRepository, events: TaskEventRepository):
        self._tools = tools
        self._events = events

    async def record(self, execution: ToolExecution) -> None:
        await self._tools.record(execution)
        await self._events.emit(
            execution.task_id,
            "tool_call",
            {
                "agent_name": execution.agent_name,
                "tool": execution.tool,
                "status": execution.status.value,
                "duration_ms": execution.duration_ms,
                "error": execution.error.model_dump() if execution.error else None,
            },
        )


class RunRecorder:
    """Opens and closes agent runs for one attempt of one task."""

    def __init__(self, store: Store, task_id: str, attempt: int):
        self._runs = store.agent_runs
        self._events = store.events
        self._sink = _RunSink(store.tool_executions, store.events)
        self.task_id = task_id
        self.attempt = attempt

    @asynccontextmanager
    async def run(self, agent_name: str, run_input: dict[str, Any]) -> AsyncIterator[RunHandle]:
        """Record a run around the body: completed when it returns, failed when it raises.

        The body's LLM and tool calls land on this run through the run context.
        """
        run = AgentRun(
            run_id=str(uuid.uuid4()),
            task_id=self.task_id,
            attempt=self.attempt,
            agent_name=agent_name,
            status=RunStatus.RUNNING,
            input=run_input,
            started_at=utcnow(),
        )
        context = RunContext(self.task_id, run.run_id, self.attempt, agent_name, self._sink)
        handle = RunHandle(run=run, context=context)
        await self._runs.start(run)
        await self._events.emit(
            self.task_id, "agent_started", {"agent_name": agent_name, "attempt": self.attempt}
        )
        try:
            with bind_run(context), structlog.contextvars.bound_contextvars(agent_name=agent_name):
                yield handle
        except asyncio.CancelledError:
            # Cancelled on request, or the attempt lost its lease: the run did not finish.
            await self._close(handle, RunStatus.CANCELLED, None)
            raise
        except Exception as exc:
            error = error_info(exc) if isinstance(exc, AgentError) else _internal(exc)
            await self._close(handle, RunStatus.FAILED, error)
            raise
        await self._close(handle, RunStatus.COMPLETED, None)

    async def _close(
        self, handle: RunHandle, status: RunStatus, error: TaskErrorInfo | None
    ) -> None:
        context = handle.context
        AGENT_RUNS.labels(handle.run.agent_name, status.value).inc()
        await self._events.emit(
            self.task_id,
            "agent_finished",
            {
                "agent_name": handle.run.agent_name,
                "attempt": self.attempt,
                "status": status.value,
                "error": error.model_dump() if error else None,
            },
        )
        await self._runs.finish(
            handle.run,
            status=status,
            output=handle.output if error is None else None,
            error=error,
            usage=context.usage,
            model=context.models[0] if context.models else None,
            llm_retries=context.llm_retries,
            tool_calls=context.tool_calls,
        )


def _internal(exc: Exception) -> TaskErrorInfo:
    return TaskErrorInfo(type="INTERNAL_ERROR", message=str(exc) or type(exc).__name__)
