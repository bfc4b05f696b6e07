"""Approval checkpoints: a paused run records one; approve (possibly with edits) resumes the
task, reject fails it, and one left past its deadline expires."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog
from langgraph.types import Interrupt

from app.agents.registry import agent_names
from app.dispatch.enqueue import Dispatcher
from app.domain.errors import (
    CheckpointNotFound,
    InvalidInput,
    InvalidTransition,
    TaskErrorCode,
    TaskNotFound,
)
from app.domain.models import (
    Checkpoint,
    CheckpointKind,
    CheckpointStage,
    CheckpointStatus,
    Message,
    Task,
    TaskErrorInfo,
    TaskStatus,
    utcnow,
)
from app.observability.metrics import (
    CHECKPOINT_DECISION_SECONDS,
    CHECKPOINTS_CREATED,
    CHECKPOINTS_DECIDED,
)
from app.store import EventBuffer, Store, task_events
from app.tasks import TaskLifecycle

log = structlog.get_logger(__name__)
OUTPUT_FIELDS = {"summary", "raw_output", "code_language"}


def validate_edits(stage: CheckpointStage, edits: dict[str, Any] | None) -> dict[str, Any] | None:
    """The edits a reviewer may make at this stage, or InvalidTransition saying why not."""
    if not edits:
        return None
    allowed = {"agent_name"} if stage is CheckpointStage.ROUTING else OUTPUT_FIELDS
    unknown = set(edits) - allowed
    if unknown:
        raise InvalidEdits(
            f"At the {stage.value} stage only {sorted(allowed)} can be edited, "
            f"not {sorted(unknown)}."
        )
    if any(not isinstance(value, str) or not value.strip() for value in edits.values()):
        raise InvalidEdits("Edited values must be non-empty strings.")
    if stage is CheckpointStage.ROUTING and edits["agent_name"] not in agent_names():
        raise InvalidEdits(f"agent_name must be one of {agent_names()}.")
    return edits


class InvalidEdits(InvalidInput):
    """Edits the checkpoint's stage does not allow (422, `type: invalid_edits` at body.edits)."""

    def __init__(self, message: str):
        super().__init__(message, field="edits", kind="invalid_edits")


async def pause_for_decision(
    store: Store,
    lifecycle: TaskLifecycle,
    task: Task,
    interrupt: Interrupt,
    events: EventBuffer,
    timeout_seconds: float,
) -> bool:
    """The graph of `task`'s attempt stopped at an interrupt: record the checkpoint a person
    decides on and pause the task (no worker holds it meanwhile); False if the attempt no
    longer owns the task."""
    request: dict[str, Any] = interrupt.value
    now = utcnow()
    stage = CheckpointStage(request["stage"])
    checkpoint = Checkpoint(
        checkpoint_id=str(uuid.uuid4()),
        task_id=task.task_id,
        owner=task.owner,
        attempt=task.attempt,
        kind=CheckpointKind.APPROVAL,
        stage=stage,
        reason=request["reason"],
        payload=request,
        interrupt_id=interrupt.id,
        status=CheckpointStatus.PENDING,
        created_at=now,
        deadline=now + timedelta(seconds=timeout_seconds),
    )
    await store.checkpoints.create(checkpoint)
    events.add(
        "checkpoint_created",
        {
            "checkpoint_id": checkpoint.checkpoint_id,
            "stage": stage.value,
            "reason": checkpoint.reason,
        },
    )
    paused = await lifecycle.pause(
        task.task_id, task.attempt, checkpoint.checkpoint_id, events.take()
    )
    if paused is None:
        return False
    CHECKPOINTS_CREATED.labels(checkpoint.kind.value, stage.value).inc()
    log.info("task_paused", checkpoint_id=checkpoint.checkpoint_id, stage=stage.value)
    return True


async def checkpoint_for_decision(store: Store, checkpoint_id: str) -> tuple[Checkpoint, Task]:
    """The pending checkpoint and its waiting task, or 404/409."""
    checkpoint = await store.checkpoints.get(checkpoint_id)
    if checkpoint is None:
        raise CheckpointNotFound(checkpoint_id)
    if checkpoint.status is not CheckpointStatus.PENDING:
        raise InvalidTransition(
            f"Checkpoint {checkpoint_id} was already {checkpoint.status.value}."
        )
    task = await store.tasks.get(checkpoint.task_id)
    if task is None:
        raise TaskNotFound(checkpoint.task_id)
    if task.status is not TaskStatus.AWAITING_APPROVAL or task.pending_checkpoint != checkpoint_id:
        raise InvalidTransition(f"Task {task.task_id} is {task.status.value}, not awaiting it.")
    return checkpoint, task


async def approve(
    store: Store,
    dispatcher: Dispatcher,
    checkpoint_id: str,
    admin: str,
    comment: str | None,
    edits: dict[str, Any] | None,
) -> Checkpoint:
    """Approve, with the reviewer's edits: the task is queued to resume where it paused."""
    checkpoint, task = await checkpoint_for_decision(store, checkpoint_id)
    edits = validate_edits(checkpoint.stage, edits)
    decided = await _decide(store, checkpoint, CheckpointStatus.APPROVED, admin, comment, edits)
    resume = {
        "approved": True,
        "edits": edits or {},
        "decided_by": admin,
        "decided_at": (decided.decided_at or utcnow()).isoformat(),
    }
    released = await TaskLifecycle.of(store).release(
        task.task_id, decided, resume, [_event(decided)]
    )
    if released is None:
        await store.tasks.append_events(task.task_id, [_event(decided)])
    else:
        await dispatcher.enqueue(task.task_id)
    return decided


async def reject(store: Store, checkpoint_id: str, admin: str, reason: str) -> Checkpoint:
    """Reject: the task fails with CHECKPOINT_REJECTED."""
    checkpoint, _ = await checkpoint_for_decision(store, checkpoint_id)
    decided = await _decide(store, checkpoint, CheckpointStatus.REJECTED, admin, reason, None)
    error = TaskErrorInfo(
        type=TaskErrorCode.CHECKPOINT_REJECTED,
        message=f"Rejected by {admin} at the {checkpoint.stage.value} stage: {reason}",
    )
    await _end_waiting(store, decided, error)
    return decided


async def cancel_pending(store: Store, task_id: str, cancelled_by: str) -> int:
    """End the checkpoints a cancelled task was waiting on: nobody can decide them any more."""
    ended = 0
    for checkpoint in await store.checkpoints.for_task(task_id):
        if checkpoint.status is not CheckpointStatus.PENDING:
            continue
        decided = await store.checkpoints.decide(
            checkpoint.checkpoint_id, CheckpointStatus.CANCELLED, cancelled_by, "task cancelled"
        )
        if decided is not None:
            _observe(decided)
            ended += 1
    return ended


async def expire_overdue(store: Store, now: datetime, limit: int = 500) -> int:
    """Expire pending checkpoints past their deadline and fail their tasks (reconciler)."""
    expired = 0
    for checkpoint in await store.checkpoints.overdue(now, limit):
        decided = await store.checkpoints.decide(
            checkpoint.checkpoint_id, CheckpointStatus.EXPIRED, "reconciler", "deadline passed"
        )
        if decided is None:
            continue
        _observe(decided)
        error = TaskErrorInfo(
            type=TaskErrorCode.CHECKPOINT_EXPIRED,
            message=f"No decision on the {checkpoint.stage.value} checkpoint before "
            f"{checkpoint.deadline.isoformat()}.",
        )
        await _end_waiting(store, decided, error)
        expired += 1
    return expired


async def _decide(
    store: Store,
    checkpoint: Checkpoint,
    status: CheckpointStatus,
    admin: str,
    comment: str | None,
    edits: dict[str, Any] | None,
) -> Checkpoint:
    decided = await store.checkpoints.decide(
        checkpoint.checkpoint_id, status, admin, comment, edits
    )
    if decided is None:
        raise InvalidTransition(f"Checkpoint {checkpoint.checkpoint_id} was already decided.")
    _observe(decided)
    log.info(
        "checkpoint_decided",
        task_id=decided.task_id,
        checkpoint_id=decided.checkpoint_id,
        decision=status.value,
        decided_by=admin,
    )
    return decided


def _observe(checkpoint: Checkpoint) -> None:
    CHECKPOINTS_DECIDED.labels(checkpoint.kind.value, checkpoint.status.value).inc()
    waited = ((checkpoint.decided_at or utcnow()) - checkpoint.created_at).total_seconds()
    CHECKPOINT_DECISION_SECONDS.labels(checkpoint.stage.value).observe(max(waited, 0))


async def _end_waiting(store: Store, decided: Checkpoint, error: TaskErrorInfo) -> None:
    """Fail the task a checkpoint held; the decision's event goes with the status change."""
    failed = await TaskLifecycle.of(store).fail_waiting(
        decided.task_id, decided, error, [_event(decided)]
    )
    if failed is None:
        await store.tasks.append_events(decided.task_id, [_event(decided)])
    else:
        await store.messages.append(Message.question(failed))


def _event(checkpoint: Checkpoint) -> dict[str, Any]:
    """The task event telling a checkpoint's decision."""
    return task_events.event(
        "checkpoint_decided",
        {
            "checkpoint_id": checkpoint.checkpoint_id,
            "stage": checkpoint.stage.value,
            "decision": checkpoint.status.value,
            "decided_by": checkpoint.decided_by,
            "comment": checkpoint.comment,
            "edits": checkpoint.edits,
        },
    )
