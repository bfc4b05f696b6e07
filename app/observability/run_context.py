"""The agent run in progress, carried in a context variable, and the tool-call wrapper.

Clients (LLM, web search) wrap each call once in `tool_call`; the run that is current when the
call happens receives the record, its usage and its retries. Agents do not have to remember.
A finished call's record waits in the run's sink until the next call starts (or the run ends),
so a run's calls cost one write per call that is followed by another, and none for the last.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.domain.errors import error_record
from app.domain.models import TaskErrorInfo, ToolExecution, ToolStatus, Usage, utcnow
from app.observability.metrics import TOOL_DURATION, TOOL_EXECUTIONS


class ToolExecutionSink(Protocol):
    def finished(self, execution: ToolExecution) -> None:
        """Keep a finished call until the next flush."""
        ...

    async def flush(self) -> None:
        """Store the calls that finished so far (before the next one starts)."""
        ...


@dataclass
class RunContext:
    """What the current agent run accumulates from the calls made inside it."""

    task_id: str
    run_id: str
    attempt: int
    agent_name: str
    sink: ToolExecutionSink
    usage: Usage = field(default_factory=Usage)
    models: list[str] = field(default_factory=list)
    llm_retries: int = 0
    tool_calls: int = 0

    def add_usage(self, usage: Usage, model: str) -> None:
        self.usage = self.usage + usage
        if model not in self.models:
            self.models.append(model)


_current: ContextVar[RunContext | None] = ContextVar("agent_run", default=None)


def current_run() -> RunContext | None:
    """The agent run the calling code is part of, if any."""
    return _current.get()


@contextmanager
def bind_run(run: RunContext) -> Iterator[RunContext]:
    """Make `run` current for the body (and every task it spawns)."""
    token = _current.set(run)
    try:
        yield run
    finally:
        _current.reset(token)


@dataclass
class ToolCall:
    """Filled by the wrapped call: what it produced."""

    output: dict[str, Any] | None = None


@asynccontextmanager
async def tool_call(
    tool: str,
    tool_input: dict[str, Any],
    typed: Callable[[Exception], Exception] | None = None,
) -> AsyncIterator[ToolCall]:
    """Record the body as one tool execution of the current run (ok or error, with duration).

    A body that raises its dependency's own exceptions (the LLM client's, so that its retry
    policy sees them) gives `typed`, which says what task error each one is, so the call is
    recorded with the same code as the run and the task that it ends."""
    run = current_run()
    if run is not None:
        # What finished before is stored before this call, which may take long, starts.
        await run.sink.flush()
    call = ToolCall()
    started_at = utcnow()
    started = time.perf_counter()
    error: TaskErrorInfo | None = None
    try:
        yield call
    except Exception as exc:
        error = error_record(typed(exc) if typed is not None else exc)
        raise
    finally:
        seconds = time.perf_counter() - started
        status = ToolStatus.ERROR if error else ToolStatus.OK
        TOOL_EXECUTIONS.labels(tool, status.value).inc()
        TOOL_DURATION.labels(tool).observe(seconds)
        if run is not None:
            run.tool_calls += 1
            run.sink.finished(
                ToolExecution(
                    execution_id=str(uuid.uuid4()),
                    task_id=run.task_id,
                    run_id=run.run_id,
                    attempt=run.attempt,
                    agent_name=run.agent_name,
                    tool=tool,
                    input=tool_input,
                    output=call.output,
                    error=error,
                    status=status,
                    started_at=started_at,
                    duration_ms=int(seconds * 1000),
                )
            )
