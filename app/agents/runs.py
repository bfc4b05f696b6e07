"""Record every router and agent run of an attempt in `agent_runs`, and tell the event stream.

Writes are grouped by what a step produces: a run's start is its record and its
`agent_started` event; its calls are stored when the next call starts or with the run's close;
the events of its end wait in the attempt's buffer for the step's next write to the task.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import structlog

from app.domain.errors import error_record
from app.domain.models import AgentRun, RunStatus, TaskErrorInfo, ToolExecution, Usage, utcnow
from app.observability.metrics import AGENT_RUNS
from app.observability.run_context import RunContext, bind_run
from app.store import EventBuffer, Store


@dataclass
class RunHandle:
    """The open run; the body sets what it produced."""

    run: AgentRun
    context: RunContext
    output: dict[str, Any] | None = None

    def succeed(self, output: dict[str, Any]) -> None:
        self.output = output


class _RunSink:
    """One run's finished calls and their events, until they are stored."""

    def __init__(self, recorder: RunRecorder, run_id: str) -> None:
        self._recorder = recorder
        self._run_id = run_id
        self._unsaved: list[ToolExecution] = []

    def finished(self, execution: ToolExecution) -> None:
        self._unsaved.append(execution)
        self._recorder.events.add(
            "tool_call",
            {
                "agent_name": execution.agent_name,
                "tool": execution.tool,
                "status": execution.status.value,
                "duration_ms": execution.duration_ms,
                "error": execution.error.model_dump() if execution.error else None,
            },
        )

    async def flush(self) -> None:
        if not self._unsaved:
            return
        # The calls and their events are independent writes: one round trip for both.
        await asyncio.gather(
            self._recorder.store.agent_runs.add_tool_executions(self._run_id, self.take()),
            self._recorder.flush(),
        )

    def take(self) -> list[ToolExecution]:
        taken, self._unsaved = self._unsaved, []
        return taken


class RunRecorder:
    """Opens and closes agent runs for one attempt of one task."""

    def __init__(self, store: Store, task_id: str, attempt: int, events: EventBuffer):
        self.store = store
        self.events = events
        self.task_id = task_id
        self.attempt = attempt
        # What the runs this recorder closed cost (the attempt's usage so far).
        self.usage = Usage()

    async def flush(self) -> None:
        """Send the buffered events now (while this attempt still owns the task)."""
        await self.store.tasks.append_events(self.task_id, self.events.take(), self.attempt)

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
        sink = _RunSink(self, run.run_id)
        context = RunContext(self.task_id, run.run_id, self.attempt, agent_name, sink)
        handle = RunHandle(run=run, context=context)
        self.events.add("agent_started", {"agent_name": agent_name, "attempt": self.attempt})
        # The record and the event are independent writes: one round trip for both.
        await asyncio.gather(self.store.agent_runs.start(run), self.flush())
        try:
            with bind_run(context), structlog.contextvars.bound_contextvars(agent_name=agent_name):
                yield handle
        except asyncio.CancelledError:
            # Cancelled on request, or the attempt lost its lease: the run did not finish.
            await self._close(handle, sink, RunStatus.CANCELLED, None)
            raise
        except Exception as exc:
            await self._close(handle, sink, RunStatus.FAILED, error_record(exc))
            raise
        await self._close(handle, sink, RunStatus.COMPLETED, None)

    async def _close(
        self, handle: RunHandle, sink: _RunSink, status: RunStatus, error: TaskErrorInfo | None
    ) -> None:
        context = handle.context
        AGENT_RUNS.labels(handle.run.agent_name, status.value).inc()
        self.usage = self.usage + context.usage
        await self.store.agent_runs.finish(
            handle.run,
            status=status,
            output=handle.output if error is None else None,
            error=error,
            usage=context.usage,
            model=context.models[0] if context.models else None,
            llm_retries=context.llm_retries,
            tool_calls=context.tool_calls,
            executions=sink.take(),
        )
        # Goes out with the step's next write to the task (its routing, or its final status).
        self.events.add(
            "agent_finished",
            {
                "agent_name": handle.run.agent_name,
                "attempt": self.attempt,
                "status": status.value,
                "error": error.model_dump() if error else None,
            },
        )
