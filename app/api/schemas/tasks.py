"""Bodies of the task routes: submit, read, list, runs, and a session's messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, field_validator

from app.api.schemas.common import API_VERSION, SESSION_ID_PATTERN, TASK_MAX_CHARS
from app.domain.models import (
    AgentRun,
    AttemptRecord,
    RequestInfo,
    RoutingDecision,
    RunStatus,
    Task,
    TaskErrorInfo,
    TaskResult,
    TaskStatus,
    ToolStatus,
    Usage,
)


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
    owner: str = Field(description="The id of the key that submitted it (its tenant).")
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
            owner=task.owner,
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
