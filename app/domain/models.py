"""The task and the records written about it, as stored and as returned."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def utcnow() -> datetime:
    """Now, timezone-aware UTC, to the millisecond (what MongoDB keeps)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class TaskStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    AWAITING_APPROVAL = "awaiting_approval"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # The attempt lost its lease (its worker died or stalled); another attempt took over.
    ABANDONED = "abandoned"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Citation(_Doc):
    source: str
    title: str
    url: str


class RoutingOverride(_Doc):
    """A reviewer's choice of another agent than the router's, at a routing checkpoint."""

    agent_name: str
    decided_by: str
    decided_at: datetime


class RoutingDecision(_Doc):
    """The router's decision; `override` when a reviewer sent the task to another agent."""

    agent_name: str
    confidence: float
    reasoning: str
    override: RoutingOverride | None = None


class TaskResult(_Doc):
    summary: str
    raw_output: str
    code_language: str | None = None
    citations: list[Citation] = Field(default_factory=list)


class TaskErrorInfo(_Doc):
    type: str
    message: str


class Usage(_Doc):
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cost_usd=round(self.cost_usd + other.cost_usd, 8),
        )


class RequestInfo(_Doc):
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


class AttemptRecord(_Doc):
    """How an earlier attempt ended, kept when a task is retried."""

    attempt: int
    status: TaskStatus
    error: TaskErrorInfo | None = None
    result_summary: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    usage: Usage | None = None  # the task's usage when it ended (all attempts so far)


class Task(_Doc):
    """A task as stored in the `tasks` collection (`_id` is the task id)."""

    task_id: str = Field(alias="_id")
    owner: str
    session_id: str
    # The API opened the session for this task (none was given): it has no earlier turns.
    new_session: bool = False
    task: str
    status: TaskStatus
    selected_agent: str | None = None
    routing: RoutingDecision | None = None
    result: TaskResult | None = None
    error: TaskErrorInfo | None = None
    last_error: TaskErrorInfo | None = None
    usage: Usage = Field(default_factory=Usage)
    attempt: int = 0
    deferrals: int = 0
    reclaims: int = 0
    cancel_requested: bool = False
    history: list[AttemptRecord] = Field(default_factory=list)
    require_approval: bool = False
    pending_checkpoint: str | None = None
    # Set when a decision releases the task: what the paused graph resumes with.
    resume: dict[str, Any] | None = None
    # Set when an attempt ended without an answer (its worker was lost, or it was deferred):
    # the next attempt routes on the decision the router stored here (`routing`), if it made one.
    recover: bool = False
    worker_id: str | None = None
    lease_expires_at: datetime | None = None
    created_at: datetime
    queued_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    updated_at: datetime
    request: RequestInfo = Field(default_factory=RequestInfo)

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    @classmethod
    def submitted(
        cls, task_id: str, owner: str, text: str, session_id: str | None, **extra: Any
    ) -> Task:
        """A new task queued for its first attempt, in `session_id` or a session of its own."""
        return cls(
            task_id=task_id,
            owner=owner,
            session_id=session_id or str(uuid.uuid4()),
            new_session=session_id is None,
            task=text,
            status=TaskStatus.QUEUED,
            attempt=1,  # a retry or a lost worker queues the next one
            **dict.fromkeys(("created_at", "queued_at", "updated_at"), utcnow()),
            **extra,
        )


class ToolStatus(StrEnum):
    OK = "ok"
    ERROR = "error"


class ToolExecution(_Doc):
    """One tool or LLM call made during an agent run (recorded by the telemetry wrapper)."""

    execution_id: str = Field(alias="_id")
    task_id: str
    run_id: str
    attempt: int
    agent_name: str
    tool: str
    input: dict[str, Any]
    output: dict[str, Any] | None = None
    error: TaskErrorInfo | None = None
    status: ToolStatus
    started_at: datetime
    duration_ms: int

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class AgentRun(_Doc):
    """One run of the router or of an agent, for one attempt of a task."""

    run_id: str = Field(alias="_id")
    task_id: str
    attempt: int
    agent_name: str
    status: RunStatus
    input: dict[str, Any]
    output: dict[str, Any] | None = None
    error: TaskErrorInfo | None = None
    model: str | None = None
    usage: Usage = Field(default_factory=Usage)
    llm_retries: int = 0
    tool_calls: int = 0
    # Every tool and LLM call of the run, in the order they finished.
    tool_executions: list[ToolExecution] = Field(default_factory=list)
    started_at: datetime
    finished_at: datetime | None = None
    duration_ms: int | None = None

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class CheckpointKind(StrEnum):
    APPROVAL = "approval"  # blocks the task until decided


class CheckpointStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"  # its task was cancelled while it waited


class CheckpointStage(StrEnum):
    ROUTING = "routing"  # confirm or override the agent the router chose
    OUTPUT = "output"  # approve (or edit) the agent's answer before it is delivered


class Checkpoint(_Doc):
    """A point where a person decides; the audit trail of that decision."""

    checkpoint_id: str = Field(alias="_id")
    task_id: str
    owner: str
    attempt: int
    kind: CheckpointKind
    stage: CheckpointStage
    reason: str
    payload: dict[str, Any]
    # The graph's interrupt the decision answers: a resume names it, so it cannot be taken by
    # a later interrupt of the same thread.
    interrupt_id: str | None = None
    status: CheckpointStatus
    created_at: datetime
    deadline: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None
    edits: dict[str, Any] | None = None

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class TaskEvent(_Doc):
    """Something that happened to a task; `seq` increases per task (the SSE event id)."""

    task_id: str
    seq: int
    kind: str
    data: dict[str, Any]
    at: datetime


class Message(_Doc):
    """One turn of a session's history."""

    session_id: str
    owner: str
    task_id: str
    role: str
    content: str
    created_at: datetime

    @classmethod
    def question(cls, task: Task) -> Message:
        """The turn a task adds to its session when it ends (its text)."""
        return cls._turn(task, "user", task.task)

    @classmethod
    def answer(cls, task: Task, content: str) -> Message:
        """The turn a completed task adds after its question."""
        return cls._turn(task, "assistant", content)

    @classmethod
    def _turn(cls, task: Task, role: str, content: str) -> Message:
        return cls(
            session_id=task.session_id,
            owner=task.owner,
            task_id=task.task_id,
            role=role,
            content=content,
            created_at=utcnow(),
        )
