"""Record every router and agent run of an attempt in `agent_runs`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from app.domain.errors import AgentError
from app.domain.models import AgentRun, RunStatus, TaskErrorInfo, Usage, utcnow
from app.store import AgentRunRepository


@dataclass
class RunHandle:
    """The open run; the body sets what it produced."""

    run: AgentRun
    output: dict[str, Any] | None = None
    usage: Usage = field(default_factory=Usage)
    model: str | None = None

    def succeed(
        self, output: dict[str, Any], usage: Usage | None = None, model: str | None = None
    ) -> None:
        self.output = output
        self.usage = usage or Usage()
        self.model = model or self.model


class RunRecorder:
    """Opens and closes agent runs for one attempt of one task."""

    def __init__(self, runs: AgentRunRepository, task_id: str, attempt: int):
        self._runs = runs
        self.task_id = task_id
        self.attempt = attempt

    @asynccontextmanager
    async def run(
        self, agent_name: str, run_input: dict[str, Any], model: str | None = None
    ) -> AsyncIterator[RunHandle]:
        """Record a run around the body: completed when it returns, failed when it raises."""
        handle = RunHandle(
            run=AgentRun(
                run_id=str(uuid.uuid4()),
                task_id=self.task_id,
                attempt=self.attempt,
                agent_name=agent_name,
                status=RunStatus.RUNNING,
                input=run_input,
                model=model,
                started_at=utcnow(),
            ),
            model=model,
        )
        await self._runs.start(handle.run)
        try:
            yield handle
        except AgentError as exc:
            error = TaskErrorInfo(type=exc.code, message=exc.message)
            await self._runs.finish(handle.run, error=error, usage=handle.usage, model=handle.model)
            raise
        except Exception as exc:
            error = TaskErrorInfo(type="INTERNAL_ERROR", message=str(exc) or type(exc).__name__)
            await self._runs.finish(handle.run, error=error, usage=handle.usage, model=handle.model)
            raise
        await self._runs.finish(
            handle.run, output=handle.output, usage=handle.usage, model=handle.model
        )
