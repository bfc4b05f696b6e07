"""Request and response bodies of the v1 API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, field_validator

from app.dispatch.monitor import SystemSnapshot
from app.domain.models import (
    AgentRun,
    AttemptRecord,
    Checkpoint,
    CheckpointKind,
    CheckpointStage,
    CheckpointStatus,
    Citation,
    RequestInfo,
    RoutingDecision,
    RunStatus,
    Task,
    TaskErrorInfo,
    TaskResult,
    TaskStatus,
    ToolStatus,
    Usage,
    utcnow,
)

API_VERSION = "v1"
TASK_MAX_CHARS = 8000
SESSION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


class ExecuteRequest(BaseModel):
    """A natural-language task to run."""

    model_config = ConfigDict(extra="forbid")

    task: StrictStr = Field(
        max_length=TASK_MAX_CHARS,
        description=f"What the agents should do (1 to {TASK_MAX_CHARS} characters).",
        examples=["Write a blog post about renewable energy trends"],
    )
    session_id: StrictStr | None = Field(
        default=None,
        pattern=SESSION_ID_PATTERN,
        description="Groups tasks into a conversation; generated when absent.",
    )
    require_approval: StrictBool = Field(
        default=False, description="The answer waits for an admin's approval before delivery."
    )

    @field_validator("task")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        stripped = value.strip()
        if not stripped:
            raise ValueError("task must not be empty or only whitespace")
        return stripped


class ExecuteResponse(BaseModel):
    task_id: str
    session_id: str
    status: TaskStatus = Field(
        description="queued for a new task; a replay (Idempotent-Replayed) answers the "
        "original task's status now."
    )
    queued_at: datetime
    message: str
    api_version: str = API_VERSION


class TaskOut(BaseModel):
    """A task as the API returns it."""

    task_id: str
    owner: str
    session_id: str
    task: str
    status: TaskStatus
    selected_agent: str | None
    routing: RoutingDecision | None
    result: TaskResult | None
    error: TaskErrorInfo | None
    last_error: TaskErrorInfo | None
    usage: Usage
    attempt: int
    deferrals: int
    reclaims: int
    cancel_requested: bool
    history: list[AttemptRecord] = Field(description="How earlier attempts ended (retries).")
    require_approval: bool
    pending_checkpoint: str | None
    created_at: datetime
    queued_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    updated_at: datetime
    request: RequestInfo

    @classmethod
    def of(cls, task: Task) -> TaskOut:
        return cls.model_validate(task.model_dump())


class TaskSummary(BaseModel):
    task_id: str
    session_id: str
    status: TaskStatus
    selected_agent: str | None
    task: str
    created_at: datetime
    completed_at: datetime | None
    error_type: str | None

    @classmethod
    def of(cls, task: Task) -> TaskSummary:
        return cls(
            task_id=task.task_id,
            session_id=task.session_id,
            status=task.status,
            selected_agent=task.selected_agent,
            task=task.task if len(task.task) <= 200 else task.task[:199] + "…",
            created_at=task.created_at,
            completed_at=task.completed_at,
            error_type=task.error.type if task.error else None,
        )


class TaskList(BaseModel):
    items: list[TaskSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class ToolExecutionOut(BaseModel):
    execution_id: str
    tool: str
    status: ToolStatus
    input: dict[str, Any]
    output: dict[str, Any] | None
    error: TaskErrorInfo | None
    started_at: datetime
    duration_ms: int


class AgentRunOut(BaseModel):
    run_id: str
    attempt: int
    agent_name: str
    status: RunStatus
    model: str | None
    input: dict[str, Any]
    output: dict[str, Any] | None
    error: TaskErrorInfo | None
    usage: Usage
    llm_retries: int
    tool_calls: int
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    tool_executions: list[ToolExecutionOut]

    @classmethod
    def of(cls, run: AgentRun) -> AgentRunOut:
        return cls.model_validate(run.model_dump())


class TaskRuns(BaseModel):
    task_id: str
    runs: list[AgentRunOut]


class MessageOut(BaseModel):
    task_id: str
    role: str
    content: str
    created_at: datetime


class SessionMessages(BaseModel):
    session_id: str
    messages: list[MessageOut] = Field(description="Oldest first.")


class DependencyHealth(BaseModel):
    status: Literal["ok", "degraded", "down"]
    latency_ms: float = Field(description="How long the probe took.")
    detail: str


class TaskLatency(BaseModel):
    count: int = Field(description="Tasks created today that finished (not cancelled).")
    avg_seconds: float | None
    p95_seconds: float | None = Field(description="Interpolated from a latency histogram.")


class TodayStats(BaseModel):
    date: str
    by_status: dict[str, int] = Field(description="Tasks created today, by current status.")
    per_agent: dict[str, int] = Field(description="Finished tasks created today, by agent.")
    latency: TaskLatency


class WorkerInfo(BaseModel):
    worker_id: str
    concurrency: int
    in_flight: int
    slots_busy: int = Field(0, description="Celery threads waiting for a task of this worker.")
    status: Literal["ok", "stalled"] = Field(
        "ok", description="stalled: it holds tasks but its store or event loop makes no progress."
    )
    stalled_reason: str | None = None
    loop_lag_ms: float = 0.0
    store_idle_seconds: float = Field(0.0, description="Since MongoDB last answered it.")
    started_at: datetime
    seen_at: datetime


class WorkersOnline(BaseModel):
    online: int
    workers: list[WorkerInfo]


class SystemMetrics(BaseModel):
    queue_length: int | None = Field(description="Messages waiting; null if Redis is down.")
    today: TodayStats
    dependencies: dict[str, DependencyHealth]
    workers: WorkersOnline
    generated_at: datetime

    @classmethod
    def of(cls, snapshot: SystemSnapshot) -> SystemMetrics:
        today = snapshot.today
        count = today.latency_count
        return cls(
            queue_length=snapshot.queue_length,
            today=TodayStats(
                date=today.day,
                by_status=today.by_status,
                per_agent=today.per_agent,
                latency=TaskLatency(
                    count=count,
                    avg_seconds=round(today.latency_sum / count, 3) if count else None,
                    p95_seconds=_round(today.latency_quantile(0.95)),
                ),
            ),
            dependencies={
                name: DependencyHealth(status=p.status, latency_ms=p.latency_ms, detail=p.detail)
                for name, p in snapshot.dependencies.items()
            },
            workers=WorkersOnline(
                online=len(snapshot.workers),
                workers=[WorkerInfo.model_validate(w) for w in snapshot.workers],
            ),
            generated_at=utcnow(),
        )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class CheckpointOut(BaseModel):
    checkpoint_id: str
    task_id: str
    attempt: int
    kind: CheckpointKind
    stage: CheckpointStage
    reason: str
    payload: dict[str, Any] = Field(description="What the reviewer needs: routing or the draft.")
    status: CheckpointStatus
    created_at: datetime
    deadline: datetime
    decided_by: str | None
    decided_at: datetime | None
    comment: str | None
    edits: dict[str, Any] | None

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> CheckpointOut:
        return cls.model_validate(checkpoint.model_dump())


class CheckpointList(BaseModel):
    items: list[CheckpointOut]


class ApproveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: StrictStr | None = Field(default=None, max_length=2000)
    edits: dict[str, Any] | None = Field(
        default=None,
        description="Routing stage: {agent_name}. Output stage: any of summary, raw_output, "
        "code_language.",
    )


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: StrictStr = Field(min_length=1, max_length=2000)


class ErrorBody(BaseModel):
    error: str
    detail: str
    request_id: str | None


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"


class ReadyOut(BaseModel):
    status: Literal["ready"] = "ready"
    checks: dict[str, str]


__all__ = [
    "Citation",
    "ErrorBody",
    "ExecuteRequest",
    "ExecuteResponse",
    "HealthOut",
    "ReadyOut",
    "TaskList",
    "TaskOut",
    "TaskSummary",
]
